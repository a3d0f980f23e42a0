package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Config is every setting of `hashtrail serve`, in one place. Each field is
// set, in order of precedence, by a command-line flag, a HASHTRAIL_*
// environment variable, a key of the optional YAML file (--config or
// HASHTRAIL_CONFIG), or its default (defaultConfig). The flag name and the
// YAML key are the same; the variable is HASHTRAIL_ and the name in upper
// case with "_" for "-". docs/configuration.md documents every setting.
type Config struct {
	Addr            string        `yaml:"addr"`
	Data            string        `yaml:"data"`
	Store           string        `yaml:"store"`
	NoAutoTenants   bool          `yaml:"no-auto-tenants"`
	TLSCert         string        `yaml:"tls-cert"`
	TLSKey          string        `yaml:"tls-key"`
	LogLevel        string        `yaml:"log-level"`
	LogFormat       string        `yaml:"log-format"`
	TrustedProxies  []string      `yaml:"trusted-proxies"`
	MaxQueuedEvents int           `yaml:"max-queued-events"`
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`
	Demo            bool          `yaml:"demo"`
	SigningKey      string        `yaml:"signing-key"`
	ServerName      string        `yaml:"server-name"`
	RotateFrom      string        `yaml:"rotate-from"`
	Witnesses       []string      `yaml:"witness"`

	PurgeInterval time.Duration `yaml:"purge-interval"`
	RateLimits    string        `yaml:"rate-limits"`
	ViewerMaxTTL  time.Duration `yaml:"viewer-token-max-ttl"`

	PGMaxConns         int           `yaml:"pg-max-conns"`
	PGStatementTimeout time.Duration `yaml:"pg-statement-timeout"`

	SinksFileRoot     string `yaml:"sinks-file-root"`
	SinksAllowPrivate bool   `yaml:"sinks-allow-private"`
	// Alert notifications and digests (docs/alerts.md).
	SMTPURL   string `yaml:"smtp-url"`
	SMTPFrom  string `yaml:"smtp-from"`
	PublicURL string `yaml:"public-url"`

	// Sinks are declared in the YAML file only (no flag or variable); see
	// sinkDecl.
	Sinks []sinkDecl `yaml:"sinks"`
	// Alerts are alert rules declared in the YAML file only; see alertDecl.
	Alerts []alertDecl `yaml:"alerts"`
}

// defaultConfig returns the settings in force when nothing sets them.
func defaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		Data:            defaultDataDir,
		LogLevel:        "info",
		LogFormat:       "text",
		MaxQueuedEvents: 200000,
		ShutdownTimeout: 30 * time.Second,
		PurgeInterval:   time.Hour,

		PGMaxConns:         16,
		PGStatementTimeout: 30 * time.Second,
	}
}

// setting describes one Config field: its name (flag and YAML key), its help
// text, and where it lives in a Config.
type setting struct {
	name  string
	help  string
	field func(*Config) any // a pointer to the field
}

// settings lists every setting, in the order of the docs and --help.
var settings = []setting{
	{"addr", "address to listen on (host:port; port 0 picks a free one)", func(c *Config) any { return &c.Addr }},
	{"data", "data directory, created with mode 0700 if missing", func(c *Config) any { return &c.Data }},
	{"store", "store URL: empty for the SQLite file <data>/hashtrail.db, sqlite:///path/to/file.db, or postgres://user@host:5432/db (PostgreSQL 14 or newer; several servers may share one database)", func(c *Config) any { return &c.Store }},
	{"no-auto-tenants", "do not create a tenant when an installation-wide key first writes to it", func(c *Config) any { return &c.NoAutoTenants }},
	{"tls-cert", "PEM certificate (chain) file: serve HTTPS; reloaded on SIGHUP", func(c *Config) any { return &c.TLSCert }},
	{"tls-key", "PEM private key file for --tls-cert", func(c *Config) any { return &c.TLSKey }},
	{"log-level", "log level: debug, info, warn or error", func(c *Config) any { return &c.LogLevel }},
	{"log-format", "log format: text or json", func(c *Config) any { return &c.LogFormat }},
	{"trusted-proxies", "CIDR prefixes of reverse proxies whose X-Forwarded-For is believed (comma-separated)", func(c *Config) any { return &c.TrustedProxies }},
	{"max-queued-events", "events waiting for a commit before ingest answers 503 (back-pressure)", func(c *Config) any { return &c.MaxQueuedEvents }},
	{"shutdown-timeout", "how long a graceful shutdown waits for in-flight requests", func(c *Config) any { return &c.ShutdownTimeout }},
	{"demo", "load sample events into the tenants acme, globex and initech on start (once)", func(c *Config) any { return &c.Demo }},
	{"signing-key", "checkpoint signing key file (PEM PKCS #8 Ed25519), created with mode 0600 if missing; default <data>/signing-key.pem; $" + checkpoint.KeyEnv + " may hold the key itself instead", func(c *Config) any { return &c.SigningKey }},
	{"server-name", "the installation's name in checkpoint origins (<server-name>/<tenant>), fixed on the first start; default hashtrail-<random>.local", func(c *Config) any { return &c.ServerName }},
	{"rotate-from", "previous signing key file while rotating to a new signing-key (or \"lost\" to accept a new key without it)", func(c *Config) any { return &c.RotateFrom }},
	{"purge-interval", "how often each tenant's retention purge runs (docs/retention.md)", func(c *Config) any { return &c.PurgeInterval }},
	{"viewer-token-max-ttl", "the longest lifetime an admin may give a viewer token (default 24h)", func(c *Config) any { return &c.ViewerMaxTTL }},
	{"rate-limits", "requests a second per key, by kind: ingest=N,read=N,admin=N,viewer=N (burst twice the rate, or N:BURST; 0 no limit; per server: see docs/security.md); default viewer=20", func(c *Config) any { return &c.RateLimits }},
	{"pg-max-conns", "PostgreSQL store: most connections each server opens", func(c *Config) any { return &c.PGMaxConns }},
	{"pg-statement-timeout", "PostgreSQL store: longest a statement may run before the database cancels it", func(c *Config) any { return &c.PGStatementTimeout }},
	{"sinks-file-root", "directory under which file sinks write (each sink names a directory inside it); default <data>/sinks", func(c *Config) any { return &c.SinksFileRoot }},
	{"sinks-allow-private", "let sinks reach loopback, private and unique-local addresses (link-local and cloud metadata addresses stay refused)", func(c *Config) any { return &c.SinksAllowPrivate }},
	{"smtp-url", "SMTP server for alert and digest email: smtp://[user:password@]host[:port][?starttls=required|opportunistic|off] or smtps://... (implicit TLS); none sends no email", func(c *Config) any { return &c.SMTPURL }},
	{"smtp-from", "sender address of alert and digest email (required with smtp-url)", func(c *Config) any { return &c.SMTPFrom }},
	{"public-url", "the server's address as users reach it, for links to events in alerts and digests (https://audit.example.com)", func(c *Config) any { return &c.PublicURL }},
	{"witness", "a witness that cosigns the installation log, URL=VERIFIERKEY: its C2SP tlog-witness submission URL and its cosignature/v1 verifier key (repeatable; comma-separated in the variable)", func(c *Config) any { return &c.Witnesses }},
}

// envOverrides names the variables of settings whose variable is not the
// rule's: HASHTRAIL_SIGNING_KEY holds the key itself (checkpoint.KeyEnv), so
// the key file's variable is HASHTRAIL_SIGNING_KEY_FILE.
var envOverrides = map[string]string{"signing-key": "HASHTRAIL_SIGNING_KEY_FILE", "witness": "HASHTRAIL_WITNESSES"}

// rotateLost is the rotate-from value that accepts a new signing key whose
// predecessor is lost.
const rotateLost = "lost"

// envName returns the environment variable of the setting called name.
func envName(name string) string {
	if v, ok := envOverrides[name]; ok {
		return v
	}
	return "HASHTRAIL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// configEnv names the environment variable that points to the YAML file.
const configEnv = "HASHTRAIL_CONFIG"

// configFlags binds settings to a command's flags and loads a Config from
// them, the environment and the YAML file.
type configFlags struct {
	fs    *pflag.FlagSet
	flags Config // the values the flags parsed into
	path  string // --config
	bound []setting
}

// bindConfig registers --config and the flags of the named settings (every
// setting when none are named) on fs. Commands other than serve can bind only
// those they need (say "data" and "store") and still share the loading rules.
func bindConfig(fs *pflag.FlagSet, names ...string) *configFlags {
	b := &configFlags{fs: fs, flags: defaultConfig()}
	fs.StringVar(&b.path, "config", "", "YAML configuration file (env "+configEnv+")")
	for _, s := range settings {
		if len(names) > 0 && !slices.Contains(names, s.name) {
			continue
		}
		b.bound = append(b.bound, s)
		help := s.help + " (env " + envName(s.name) + ")"
		switch p := s.field(&b.flags).(type) {
		case *string:
			fs.StringVar(p, s.name, *p, help)
		case *bool:
			fs.BoolVar(p, s.name, *p, help)
		case *int:
			fs.IntVar(p, s.name, *p, help)
		case *[]string:
			fs.StringSliceVar(p, s.name, *p, help)
		case *time.Duration:
			fs.DurationVar(p, s.name, *p, help)
		default:
			panic(fmt.Sprintf("setting %s: unsupported type %T", s.name, p))
		}
	}
	return b
}

// load builds the Config: defaults, then the YAML file, then the
// environment (read through getenv; empty values count as unset), then the
// flags given on the command line; and validates it.
func (b *configFlags) load(getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	path := b.path
	if !b.fs.Changed("config") {
		path = getenv(configEnv)
	}
	if path != "" {
		if err := readConfigFile(path, &cfg); err != nil {
			return nil, err
		}
	}
	for _, s := range settings {
		v := getenv(envName(s.name))
		if v == "" {
			continue
		}
		if err := setFromString(s.field(&cfg), v); err != nil {
			return nil, fmt.Errorf("environment variable %s=%q: %w", envName(s.name), v, err)
		}
	}
	for _, s := range b.bound {
		if b.fs.Changed(s.name) {
			reflect.ValueOf(s.field(&cfg)).Elem().Set(reflect.ValueOf(s.field(&b.flags)).Elem())
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// setFromString parses an environment variable's value into the field p.
// Lists are comma-separated.
func setFromString(p any, v string) error {
	switch p := p.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("must be a whole number")
		}
		*p = n
	case *[]string:
		*p = nil
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				*p = append(*p, e)
			}
		}
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("must be a duration such as 30s")
		}
		*p = d
	default:
		return fmt.Errorf("unsupported type %T", p)
	}
	return nil
}

// readConfigFile reads a YAML file into cfg, over what cfg holds. A key that
// is not a setting is an error naming it, so a typo never goes unnoticed.
func readConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("config file %s: must be a YAML mapping of settings: %w", path, err)
	}
	var unknown []string
	for k := range top {
		if k != sinksKey && k != alertsKey && !slices.ContainsFunc(settings, func(s setting) bool { return s.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		known := make([]string, len(settings))
		for i, s := range settings {
			known[i] = s.name
		}
		return fmt.Errorf("config file %s: unknown setting(s) %s; the settings are %s",
			path, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// validate checks every setting and reports every problem at once.
func (c *Config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil || strings.ContainsAny(host, " /") {
		bad("addr", "%q must be host:port, such as 127.0.0.1:8080 or :8080", c.Addr)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		bad("addr", "%q must end in a port number from 0 to 65535", c.Addr)
	}
	if c.Data == "" {
		bad("data", "must name a directory")
	}
	if c.PurgeInterval < time.Second {
		bad("purge-interval", "must be at least 1s, such as 1h")
	}
	if c.ViewerMaxTTL < 0 {
		bad("viewer-token-max-ttl", "must not be negative")
	}
	if _, err := ledger.ParseRateLimits(c.RateLimits); err != nil {
		bad("rate-limits", "%v", err)
	}
	if c.PGMaxConns < 1 {
		bad("pg-max-conns", "must be at least 1")
	}
	if c.PGStatementTimeout <= 0 {
		bad("pg-statement-timeout", "must be positive, such as 30s")
	}
	if _, err := c.storeTarget(); err != nil {
		bad("store", "%v", err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "tls-cert and tls-key must be given together")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log-level", "%q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q must be text or json", c.LogFormat)
	}
	if _, err := c.trustedPrefixes(); err != nil {
		bad("trusted-proxies", "%v", err)
	}
	if c.MaxQueuedEvents < 1 {
		bad("max-queued-events", "must be at least 1")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be a positive duration such as 30s")
	}
	if c.ServerName != "" && !ledger.ValidServerName(c.ServerName) {
		bad("server-name", "%q must be a host name such as audit.example.com, optionally with path segments (audit.example.com/logs)", c.ServerName)
	}
	if c.RotateFrom != "" && c.RotateFrom != rotateLost && filepath.Clean(c.RotateFrom) == filepath.Clean(c.signingKeyPath()) {
		bad("rotate-from", "names the signing key itself; point signing-key at the new key and rotate-from at the previous one")
	}
	if _, err := c.witnesses(); err != nil {
		bad("witness", "%v", err)
	}
	for _, e := range c.checkSinks() {
		bad(sinksKey, "%v", e)
	}
	for _, e := range c.checkAlerts() {
		bad(alertsKey, "%v", e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return nil
}

// joinLines joins errors one per indented line.
func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

// signingKeyPath returns the signing key file: signing-key, or
// <data>/signing-key.pem.
func (c *Config) signingKeyPath() string {
	if c.SigningKey != "" {
		return c.SigningKey
	}
	return filepath.Join(c.Data, signingKeyFile)
}

// signingKeyFile is the default signing key file in the data directory.
const signingKeyFile = "signing-key.pem"

// trustedPrefixes parses the trusted-proxies setting; a bare address is a
// single-host prefix.
func (c *Config) trustedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			return nil, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8", s)
		}
	}
	return out, nil
}

// newLogger returns the logger the settings ask for, writing to w.
func newLogger(w io.Writer, c *Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// witnessSpec is one configured witness.
type witnessSpec struct {
	URL string
	Key *checkpoint.CosignatureVerifier
}

// witnesses parses the witness settings, URL=VERIFIERKEY each.
func (c *Config) witnesses() ([]witnessSpec, error) {
	var out []witnessSpec
	for _, w := range c.Witnesses {
		raw, vkey, ok := strings.Cut(strings.TrimSpace(w), "=")
		if !ok {
			return nil, fmt.Errorf("%q must be URL=VERIFIERKEY", w)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q: the URL must be http:// or https://", raw)
		}
		v, err := checkpoint.NewCosignatureVerifier(vkey)
		if err != nil {
			return nil, err
		}
		out = append(out, witnessSpec{URL: raw, Key: v})
	}
	return out, nil
}
