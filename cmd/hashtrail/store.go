package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// storeTarget is the store a configuration names: an embedded SQLite file
// or a PostgreSQL database.
type storeTarget struct {
	path     string // the SQLite database file, or ""
	pg       string // the PostgreSQL connection URL, or ""
	pgSchema string // the PostgreSQL schema (the URL's schema parameter), or "" for the default

	pgMaxConns         int
	pgStatementTimeout time.Duration
}

// String names the store for messages, without a password.
func (t storeTarget) String() string {
	if t.pg == "" {
		return t.path
	}
	u, err := url.Parse(t.pg)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// shared reports whether several nodes may use the store at once.
func (t storeTarget) shared() bool { return t.pg != "" }

// storeTarget parses the store setting.
func (c *Config) storeTarget() (storeTarget, error) {
	t := storeTarget{pgMaxConns: c.PGMaxConns, pgStatementTimeout: c.PGStatementTimeout}
	s := c.Store
	switch {
	case s == "":
		t.path = filepath.Join(c.Data, dbFile)
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return storeTarget{}, fmt.Errorf("the PostgreSQL URL does not parse: %v", errors.Unwrap(err))
		}
		// schema is Hashtrail's own parameter; PostgreSQL must not see it.
		q := u.Query()
		t.pgSchema = q.Get("schema")
		q.Del("schema")
		u.RawQuery = q.Encode()
		t.pg = u.String()
	case strings.HasPrefix(s, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		if p == "" || strings.ContainsAny(p, "?#") {
			return storeTarget{}, fmt.Errorf("%q must be sqlite:///absolute/path.db or sqlite://relative/path.db, without parameters", s)
		}
		t.path = filepath.Clean(p)
	default:
		return storeTarget{}, fmt.Errorf("%q is not a store URL this build knows; use postgres://user@host/db, sqlite:///path/to/file.db, or leave it empty", s)
	}
	return t, nil
}

// storePath returns the SQLite database file the store setting names, or
// "" for PostgreSQL.
func (c *Config) storePath() (string, error) {
	t, err := c.storeTarget()
	return t.path, err
}

// openStore opens the store t names, applying pending migrations. A
// missing SQLite database is created only with create (serve); tools that
// work offline refuse it rather than start a new installation by accident.
func openStore(ctx context.Context, t storeTarget, log *slog.Logger, create bool) (hashtrail.Store, error) {
	if t.pg != "" {
		st, err := postgres.Open(ctx, t.pg, pgConfig(t, log, false))
		if err != nil {
			return nil, fmt.Errorf("opening the store %s: %w", t, err)
		}
		return st, nil
	}
	if !create {
		if _, err := os.Stat(t.path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("no Hashtrail database at %s (`hashtrail serve` with the same --data or --store creates it; or pass --url to reach a server)", t.path)
			}
			return nil, err
		}
	} else if err := os.MkdirAll(filepath.Dir(t.path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the store's directory: %w", err)
	}
	st, err := sqlite.Open(ctx, t.path, sqlite.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", t.path, err)
	}
	return st, nil
}

// openStoreOffline opens the store for a tool that works without a server,
// logging only warnings to stderr.
func openStoreOffline(ctx context.Context, t storeTarget, stderr io.Writer) (hashtrail.Store, error) {
	return openStore(ctx, t, quietLogger(stderr), false)
}

// storeCollectors returns the store's own Prometheus metrics, if it has any.
func storeCollectors(st hashtrail.Store) []prometheus.Collector {
	if c, ok := st.(interface{ Collectors() []prometheus.Collector }); ok {
		return c.Collectors()
	}
	return nil
}

// pgConfig is the PostgreSQL store's configuration for t; skipMigrate for
// the migrate commands, which apply migrations themselves.
func pgConfig(t storeTarget, log *slog.Logger, skipMigrate bool) postgres.Config {
	return postgres.Config{
		Logger: log, Schema: t.pgSchema, MaxConns: int32(t.pgMaxConns), StatementTimeout: t.pgStatementTimeout,
		SkipMigrate: skipMigrate,
	}
}
