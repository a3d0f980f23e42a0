// Command go-app is a small web app that keeps its audit trail in Hashtrail
// with the Go SDK (github.com/hashtrail/hashtrail/client): the request
// context middleware, the standard catalog's constructors, Diff, the
// transactional outbox in the app's own SQLite database, and RecordSync.
// See README.md to run it against `hashtrail serve`.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("go-app", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg := config{
		DB:           env("APP_DB", "go-app.db"),
		HashtrailURL: env("HASHTRAIL_URL", "http://127.0.0.1:8080"),
		HashtrailKey: os.Getenv("HASHTRAIL_API_KEY"),
		Tenant:       env("HASHTRAIL_TENANT", "acme"),
		ViewerKey:    os.Getenv("HASHTRAIL_VIEWER_KEY"),
		Origin:       os.Getenv("APP_ORIGIN"),
		Logger:       logger,

		HashtrailPublicURL: os.Getenv("HASHTRAIL_PUBLIC_URL"),
	}
	for _, s := range strings.FieldsFunc(os.Getenv("APP_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' }) {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("APP_TRUSTED_PROXIES: %w", err)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: env("APP_ADDR", "127.0.0.1:8081"), Handler: a, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", srv.Addr, "hashtrail", cfg.HashtrailURL, "tenant", cfg.Tenant)
	select {
	case err = <-errc: // it could not listen
	case <-ctx.Done():
		err = srv.Shutdown(context.Background()) // waits for the requests in flight
	}
	// Send every event still waiting (the outbox's and the client's) before
	// exiting, for at most 10 seconds.
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, a.Close(cctx))
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
