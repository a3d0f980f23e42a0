package nats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Type is the destination's name in hashtrail.SinkConfig.Type.
const Type = "nats"

// DefaultSubject is the subject template used when Config.Subject is empty.
const DefaultSubject = "audit.{tenant}.{action}"

// Secrets lists the settings (JSON names) that hold secrets: the API shows
// them redacted.
var Secrets = []string{"password", "token"}

// Config is the sink's settings (hashtrail.SinkConfig.Settings).
type Config struct {
	// URL is the server, nats://host:4222 (tls:// for TLS from the first
	// byte); several comma-separated URLs name a cluster.
	URL string `json:"url"`
	// Stream is the JetStream stream that must capture the subjects. The
	// sink never creates it: its retention, replicas and duplicate window
	// are the operator's decisions. A missing stream pauses the sink.
	Stream string `json:"stream"`
	// Subject is the subject template (DefaultSubject when empty): literal
	// tokens and whole-token placeholders {tenant}, {action}, {category},
	// {severity}, {outcome}, {actor_type}. {action} expands to one token per
	// dotted part (user.login -> user.login), so subscribers can use
	// audit.acme.user.>. Expanded values are escaped (see Token).
	Subject string `json:"subject,omitempty"`

	// User and Password, or Token, or NKeySeedFile, or CredsFile (a
	// decentralised-auth .creds file): at most one way to authenticate.
	User         string `json:"user,omitempty"`
	Password     string `json:"password,omitempty"`
	Token        string `json:"token,omitempty"`
	NKeySeedFile string `json:"nkey_seed_file,omitempty"`
	CredsFile    string `json:"creds_file,omitempty"`

	// TLS configures TLS; nil uses it only when the URL says tls://.
	TLS *TLSConfig `json:"tls,omitempty"`

	// AckTimeout bounds the wait for each publish acknowledgement
	// (Go duration, default 10s).
	AckTimeout string `json:"ack_timeout,omitempty"`
	// MaxPending caps the publishes waiting for an acknowledgement (default
	// 4096); a larger batch waits for acknowledgements as it goes.
	MaxPending int `json:"max_pending,omitempty"`
}

// TLSConfig is the TLS part of Config.
type TLSConfig struct {
	// CAFile is a PEM bundle of the roots to trust (default: the system's).
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile are a client certificate, for mutual TLS.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
}

// ParseConfig decodes settings strictly (unknown members are refused) and
// validates them.
func ParseConfig(settings json.RawMessage) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(settings))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, invalid("settings", "must be the nats settings object: %v", err)
	}
	return c, c.Validate()
}

// Validate checks c, naming the wrong field (settings.<name>).
func (c *Config) Validate() error {
	if strings.TrimSpace(c.URL) == "" {
		return invalid("settings.url", "is required (nats://host:4222)")
	}
	for _, u := range strings.Split(c.URL, ",") {
		u = strings.TrimSpace(u)
		if !strings.Contains(u, "://") || !(strings.HasPrefix(u, "nats://") || strings.HasPrefix(u, "tls://")) {
			return invalid("settings.url", "must be nats://host:port or tls://host:port (comma-separated for a cluster)")
		}
	}
	if c.Stream == "" {
		return invalid("settings.stream", "is required: the JetStream stream that captures the subjects")
	}
	if strings.ContainsAny(c.Stream, " \t\r\n.*>/\\") {
		return invalid("settings.stream", "is not a valid stream name")
	}
	if _, err := parseSubject(c.subject()); err != nil {
		return invalid("settings.subject", "%v", err)
	}
	ways := 0
	for _, set := range []bool{c.User != "" || c.Password != "", c.Token != "", c.NKeySeedFile != "", c.CredsFile != ""} {
		if set {
			ways++
		}
	}
	if ways > 1 {
		return invalid("settings", "use one of user/password, token, nkey_seed_file or creds_file")
	}
	if c.Password != "" && c.User == "" {
		return invalid("settings.user", "is required with a password")
	}
	if c.TLS != nil && (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return invalid("settings.tls.cert_file", "and key_file go together")
	}
	if c.AckTimeout != "" {
		d, err := time.ParseDuration(c.AckTimeout)
		if err != nil || d <= 0 {
			return invalid("settings.ack_timeout", "must be a positive Go duration such as 10s")
		}
	}
	if c.MaxPending < 0 {
		return invalid("settings.max_pending", "must not be negative")
	}
	return nil
}

func (c *Config) subject() string {
	if c.Subject == "" {
		return DefaultSubject
	}
	return c.Subject
}

func (c *Config) ackTimeout() time.Duration {
	if d, err := time.ParseDuration(c.AckTimeout); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

func (c *Config) maxPending() int {
	if c.MaxPending > 0 {
		return c.MaxPending
	}
	return 4096
}

func invalid(field, format string, args ...any) error {
	return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}})
}
