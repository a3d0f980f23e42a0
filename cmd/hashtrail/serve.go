package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/tlogwitness"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

// bootstrapEnv names the variable whose value becomes the admin key on the
// first start.
const bootstrapEnv = "HASHTRAIL_BOOTSTRAP_KEY"

// newServeCmd returns `hashtrail serve`.
func newServeCmd() *cobra.Command {
	var cf *configFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the Hashtrail server",
		Long: `serve runs the Hashtrail HTTP API on the embedded SQLite store.

On the first start on an empty data directory it creates an installation-wide
admin API key and prints it once, with curl examples; set ` + bootstrapEnv + `
(32 or more characters) on that first start to choose the key instead.

Settings come from flags, then HASHTRAIL_* environment variables, then the
YAML file named by --config or HASHTRAIL_CONFIG, then defaults; see
docs/configuration.md. SIGINT or SIGTERM shuts down gracefully (no
acknowledged event is ever lost); SIGHUP reloads the TLS certificate.`,
		Example: `  hashtrail serve
  hashtrail serve --demo
  hashtrail serve --addr 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(os.Getenv)
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), cfg, cmd.ErrOrStderr(), os.Getenv(bootstrapEnv))
		},
	}
	cf = bindConfig(c.Flags())
	return c
}

// runServe runs the server until ctx is cancelled, then shuts it down
// gracefully: stop accepting, let in-flight requests finish (up to
// cfg.ShutdownTimeout), commit everything queued, close the store. Logs and
// the one-time bootstrap banner go to stderr; bootstrapSecret, if not empty,
// becomes the admin key of a new installation.
func runServe(ctx context.Context, cfg *Config, stderr io.Writer, bootstrapSecret string) (err error) {
	log := newLogger(stderr, cfg)
	hooks := &sinkHooks{}
	st, led, err := openEngine(ctx, cfg, log, hooks)
	if err != nil {
		return err
	}
	disp := startDispatcher(cfg, st, log, hooks, led)
	defer func() { err = errors.Join(err, closeEngine(cfg, log, st, led, disp)) }()

	var certs *certReloader
	if cfg.TLSCert != "" {
		if certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			return err
		}
	}
	reg, err := newRegistry(log, st, led)
	if err != nil {
		return err
	}
	trusted, _ := cfg.trustedPrefixes() // validated with the config
	web, err := newUI(ctx, st, led, log)
	if err != nil {
		return err
	}
	api := httpapi.New(led, httpapi.Config{
		UI:             web,
		Logger:         log,
		TrustedProxies: trusted,
		Metrics:        promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}),
	})
	if err := registerAll(reg, api.Collectors()...); err != nil {
		return err
	}
	if disp != nil {
		if err := registerAll(reg, disp.Collectors()...); err != nil {
			return err
		}
	}

	// Listen before bootstrapping: a key printed for a server that then
	// cannot start would be a key shown once for nothing.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	key, err := led.Bootstrap(ctx, bootstrapSecret)
	if err != nil {
		if bootstrapSecret != "" {
			return fmt.Errorf("bootstrapping with %s: %w", bootstrapEnv, err)
		}
		return fmt.Errorf("bootstrapping: %w", err)
	}
	base := baseURL(ln.Addr(), certs)
	if key != nil {
		printBootstrap(stderr, key, bootstrapSecret != "", base, !cfg.NoAutoTenants)
	}
	if err := applyDeclaredSinks(ctx, cfg, led, log); err != nil {
		return err
	}
	if err := applyDeclaredAlerts(ctx, cfg, led, log); err != nil {
		return err
	}
	if cfg.Demo {
		if _, err := loadDemo(ctx, led, time.Now(), log); err != nil {
			if ctx.Err() != nil {
				return nil // interrupted while loading: stop quietly
			}
			return err
		}
		printDemoUI(stderr, base, key != nil, bootstrapSecret != "")
	}

	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a whole request, an 8 MiB batch included
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	if certs != nil {
		stop := certs.reloadOnSIGHUP()
		defer stop()
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.getCertificate}
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", base, "tls", certs != nil,
		"data", cfg.Data, "auto_tenants", !cfg.NoAutoTenants)

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish in time; closing their connections", "err", err)
		srv.Close()
	}
	<-served
	return nil
}

// openEngine creates the data directory and opens the store and the ledger.
func openEngine(ctx context.Context, cfg *Config, log *slog.Logger, hooks *sinkHooks) (hashtrail.Store, *ledger.Ledger, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating the data directory: %w", err)
	}
	if fi, err := os.Stat(cfg.Data); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the data directory is accessible to other users; chmod 700 it", "data", cfg.Data, "mode", fi.Mode().Perm().String())
	}
	target, err := cfg.storeTarget()
	if err != nil {
		return nil, nil, err
	}
	key, old, err := loadSigningKeys(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, target, log, true)
	if err != nil {
		return nil, nil, err
	}
	id, err := ledger.SetupLog(ctx, st, ledger.LogSetup{
		ServerName: cfg.ServerName, Signer: key, RotateFrom: old, AcceptNewKey: cfg.RotateFrom == rotateLost,
	})
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("the checkpoint signing key or server name: %w", err)
	}
	if id.Added && len(id.Keys) > 1 {
		log.Warn("a new checkpoint signing key is in use; every key ever used stays listed at /v1/log/keys", "key", id.Current, "keys", len(id.Keys), "rotated_from_a_known_key", old != nil)
	}
	log.Info("checkpoints", "server_name", id.ServerName, "verifier_key", id.Current)
	specs, err := cfg.witnesses()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	var witnesses []ledger.WitnessConfig
	for _, w := range specs {
		vkey := w.Key.String()
		witnesses = append(witnesses, ledger.WitnessConfig{
			Client: &tlogwitness.Client{URL: w.URL, KeyName: w.Key.Name(), HTTP: &http.Client{Timeout: 30 * time.Second}},
			Key:    vkey,
		})
		log.Info("witness", "url", w.URL, "key", vkey)
	}
	limits, err := ledger.ParseRateLimits(cfg.RateLimits)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	notifier, err := cfg.notifier(log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	led := ledger.New(st, ledger.Config{
		Notifier:          notifier,
		PublicURL:         cfg.PublicURL,
		RateLimits:        limits,
		ViewerMaxTTL:      cfg.ViewerMaxTTL,
		Witnesses:         witnesses,
		Logger:            log,
		AutoCreateTenants: !cfg.NoAutoTenants,
		MaxQueuedEvents:   cfg.MaxQueuedEvents,
		PurgeInterval:     cfg.PurgeInterval,
		Signer:            key,
		RotateFrom:        old,
		ServerName:        id.ServerName,
		Cluster:           target.shared(),
		Sinks:             sinkRegistry(nil).Checker(cfg.sinkEnv(log)),
		Committed:         hooks.committed,
		SinksChanged:      hooks.changed,
	})
	return st, led, nil
}

// loadSigningKeys loads the checkpoint signing key: from $HASHTRAIL_SIGNING_KEY
// if set, else from the signing-key file, which is created (mode 0600) on
// the first start. During a rotation it also loads the previous key from the
// rotate-from file. The keys never go into the database.
func loadSigningKeys(cfg *Config, log *slog.Logger) (key, old crypto.Signer, err error) {
	path := cfg.signingKeyPath()
	k, created, err := checkpoint.LoadOrCreateKey(os.Getenv, path, rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("the checkpoint signing key: %w", err)
	}
	switch {
	case created:
		log.Info("created a checkpoint signing key; back it up: checkpoints signed with it verify only with its public key", "path", path)
	case os.Getenv(checkpoint.KeyEnv) == "":
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the signing key file is accessible to other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
		}
	}
	if cfg.RotateFrom != "" && cfg.RotateFrom != rotateLost {
		o, err := checkpoint.ReadKeyFile(cfg.RotateFrom)
		if err != nil {
			return nil, nil, fmt.Errorf("the previous signing key (rotate-from): %w", err)
		}
		old = o
	}
	return k, old, nil
}

// closeEngine closes the ledger, which commits everything already queued
// (so requests still waiting get their answer), then the sink dispatcher
// (if any; it saves its cursors), and then the store. The commits get at
// least a minute, whatever the shutdown timeout.
func closeEngine(cfg *Config, log *slog.Logger, st hashtrail.Store, led *ledger.Ledger, disp *sink.Dispatcher) error {
	ctx, cancel := context.WithTimeout(context.Background(), max(cfg.ShutdownTimeout, time.Minute))
	defer cancel()
	var errs []error
	if err := led.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("closing the ledger: %w", err))
	}
	if disp != nil {
		if err := disp.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the sinks: %w", err))
		}
	}
	if err := st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the store: %w", err))
	}
	if len(errs) == 0 {
		log.Info("stopped")
	}
	return errors.Join(errs...)
}

// The sample data of `serve --demo`.
var demoTenants = []hashtrail.Tenant{
	{ID: "acme", Name: "Acme Corp"},
	{ID: "globex", Name: "Globex Corporation"},
	{ID: "initech", Name: "Initech"},
}

const (
	demoSeed  = 2026 // the same sample data on every machine
	demoCount = 1800 // events over all demo tenants
)

// loadDemo fills every demo tenant whose log is empty with sample events,
// through svc as the local operator (a context without a principal), so a
// restart never duplicates them. It creates missing demo tenants and returns
// how many events it wrote.
func loadDemo(ctx context.Context, svc hashtrail.LogService, now time.Time, log *slog.Logger) (int, error) {
	ids := make([]string, len(demoTenants))
	for i, t := range demoTenants {
		ids[i] = t.ID
	}
	events := demoEvents(demoSeed, demoCount, ids, now)
	loaded := 0
	for _, dt := range demoTenants {
		t, err := svc.Tenant(ctx, dt.ID)
		switch {
		case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
			if _, err := svc.CreateTenant(ctx, &hashtrail.Tenant{ID: dt.ID, Name: dt.Name}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
				return loaded, fmt.Errorf("demo: creating tenant %s: %w", dt.ID, err)
			}
		case err != nil:
			return loaded, fmt.Errorf("demo: %w", err)
		case t.Size > 0:
			log.Info("demo tenant already has events; not loading samples", "tenant", dt.ID, "events", t.Size)
			continue
		}
		var subs []*hashtrail.Submission
		for _, ev := range events {
			if ev.Tenant != dt.ID {
				continue
			}
			raw, err := eventJSON(ev)
			if err != nil {
				return loaded, err
			}
			sub, ferrs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: dt.ID}, hashtrail.NewTime(now))
			if len(ferrs) > 0 {
				return loaded, fmt.Errorf("demo: a sample event is invalid: %s: %s", ferrs[0].Field, ferrs[0].Message)
			}
			sub.Index = len(subs)
			subs = append(subs, sub)
		}
		for chunk := range slices.Chunk(subs, 500) {
			if _, err := svc.Ingest(ctx, &hashtrail.IngestRequest{Tenant: dt.ID, Submissions: chunk}); err != nil {
				return loaded, fmt.Errorf("demo: loading tenant %s: %w", dt.ID, err)
			}
		}
		loaded += len(subs)
		log.Info("loaded demo events", "tenant", dt.ID, "events", len(subs))
	}
	return loaded, nil
}

// newRegistry returns a Prometheus registry with the Go and process
// collectors, the ledger's and the store's metrics, and the store's size.
func newRegistry(log *slog.Logger, st hashtrail.Store, led *ledger.Ledger) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hashtrail_store_size_bytes",
		Help: "Size of the store on disk, in bytes.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := st.Size(ctx)
		if err != nil {
			log.Warn("measuring the store's size", "err", err)
			return math.NaN()
		}
		return float64(n)
	})
	cs := []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), size}
	cs = append(cs, led.Collectors()...)
	cs = append(cs, storeCollectors(st)...)
	return reg, registerAll(reg, cs...)
}

// registerAll registers collectors, failing on the first conflict.
func registerAll(reg *prometheus.Registry, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// baseURL returns the URL clients on this machine use to reach the
// listener: an unspecified address becomes loopback, and with TLS the host
// is the certificate's first DNS name, if any, so that it verifies.
func baseURL(addr net.Addr, certs *certReloader) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if certs != nil {
		scheme = "https"
		if c := certs.cert.Load(); c != nil && c.Leaf != nil && len(c.Leaf.DNSNames) > 0 && !strings.HasPrefix(c.Leaf.DNSNames[0], "*") {
			host = c.Leaf.DNSNames[0]
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// printBootstrap tells the operator about the installation's first admin
// key, once: the secret itself unless the operator chose it, and curl
// commands to try it. It writes to the terminal, never to the log.
func printBootstrap(w io.Writer, key *hashtrail.NewKey, chosen bool, base string, autoTenants bool) {
	secret := key.Secret
	var b strings.Builder
	line := strings.Repeat("=", 78)
	fmt.Fprintf(&b, "\n%s\n", line)
	if chosen {
		fmt.Fprintf(&b, "Hashtrail created an installation-wide admin API key (id %s) whose secret is\n", key.ID)
		fmt.Fprintf(&b, "the value of %s. It is not printed.\n\n", bootstrapEnv)
		secret = "$" + bootstrapEnv
	} else {
		fmt.Fprintf(&b, "Hashtrail created an installation-wide admin API key (id %s):\n\n", key.ID)
		fmt.Fprintf(&b, "    %s\n\n", secret)
		fmt.Fprintf(&b, "Store it now: it will NOT be shown again and cannot be recovered (only its\n")
		fmt.Fprintf(&b, "hash is kept). Make narrower keys with `hashtrail keys create`.\n\n")
	}
	fmt.Fprintf(&b, "Try it:\n\n")
	fmt.Fprintf(&b, "  export HASHTRAIL_URL=%s HASHTRAIL_API_KEY=%s\n", base, secret)
	if !autoTenants {
		fmt.Fprintf(&b, "  curl -sS \"$HASHTRAIL_URL/v1/tenants\" -H \"Authorization: Bearer $HASHTRAIL_API_KEY\" \\\n")
		fmt.Fprintf(&b, "    -H 'Content-Type: application/json' -d '{\"id\":\"acme\",\"name\":\"Acme Corp\"}'\n")
	}
	fmt.Fprintf(&b, "  # send an event\n")
	fmt.Fprintf(&b, "  curl -sS \"$HASHTRAIL_URL/v1/tenants/acme/events\" -H \"Authorization: Bearer $HASHTRAIL_API_KEY\" \\\n")
	fmt.Fprintf(&b, "    -H 'Content-Type: application/json' \\\n")
	fmt.Fprintf(&b, "    -d '{\"action\":\"user.login\",\"actor\":{\"type\":\"user\",\"id\":\"42\",\"email\":\"alice@example.com\"},\"context\":{\"ip\":\"203.0.113.7\"}}'\n")
	fmt.Fprintf(&b, "  # list events, newest first\n")
	fmt.Fprintf(&b, "  curl -sS \"$HASHTRAIL_URL/v1/tenants/acme/events\" -H \"Authorization: Bearer $HASHTRAIL_API_KEY\"\n")
	fmt.Fprintf(&b, "\nOr open the web UI and sign in with the key: %s/ui/\n", base)
	fmt.Fprintf(&b, "%s\n\n", line)
	io.WriteString(w, b.String())
}

// certReloader holds the TLS certificate the listener presents and replaces
// it atomically on reload, so handshakes never see a half-loaded pair.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
}

// newCertReloader loads the pair once; an error here stops the server.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	return r, r.reload()
}

// reload reads the pair again. On failure the previous certificate stays.
func (r *certReloader) reload() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("loading the TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&c)
	if c.Leaf != nil {
		r.log.Info("TLS certificate loaded", "cert", r.certFile, "not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// getCertificate is tls.Config.GetCertificate: the current certificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// reloadOnSIGHUP reloads the pair whenever the process gets SIGHUP, until
// the returned function is called.
func (r *certReloader) reloadOnSIGHUP() (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-hup:
				if err := r.reload(); err != nil {
					r.log.Error("TLS certificate reload failed; keeping the previous one", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-exited
	}
}
