package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync/atomic"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/sink"
)

// sinksKey is the YAML key of the sinks declared in the config file.
const sinksKey = "sinks"

// sinkDecl is one sink declared in the config file. serve creates it on
// start, or updates the sink of the same name and scope to match; it never
// deletes sinks. Settings are the destination's own (docs/streaming.md).
//
//	sinks:
//	  - name: siem-archive
//	    tenant: acme            # or "*" (the default): every tenant
//	    type: file
//	    filter: "category:authentication"
//	    settings: {dir: siem}
//	    batch-size: 500
//	    max-failures: 10
type sinkDecl struct {
	Name        string         `yaml:"name"`
	Tenant      string         `yaml:"tenant"`
	Type        string         `yaml:"type"`
	Filter      string         `yaml:"filter"`
	Settings    map[string]any `yaml:"settings"`
	BatchSize   int            `yaml:"batch-size"`
	MaxFailures int            `yaml:"max-failures"`
}

func (d *sinkDecl) scope() string {
	if d.Tenant == "" {
		return hashtrail.AllTenants
	}
	return d.Tenant
}

// checkSinks checks the declared sinks' own fields (the destination checks
// their settings when serve applies them).
func (c *Config) checkSinks() []error {
	var errs []error
	seen := map[string]bool{}
	for i, d := range c.Sinks {
		at := fmt.Sprintf("[%d]", i)
		switch {
		case d.Name == "":
			errs = append(errs, fmt.Errorf("%s: a declared sink needs a name (serve finds it again by name)", at))
		case seen[d.scope()+"/"+d.Name]:
			errs = append(errs, fmt.Errorf("%s: a second sink named %q for the same tenant", at, d.Name))
		}
		seen[d.scope()+"/"+d.Name] = true
		if d.Type == "" {
			errs = append(errs, fmt.Errorf("%s: type is required", at))
		}
		if d.Tenant != "" && d.Tenant != hashtrail.AllTenants && !hashtrail.ValidTenantID(d.Tenant) {
			errs = append(errs, fmt.Errorf("%s: tenant %q is not a tenant id", at, d.Tenant))
		}
		if _, err := json.Marshal(d.Settings); err != nil {
			errs = append(errs, fmt.Errorf("%s: settings: %v", at, err))
		}
	}
	return errs
}

// sinkEnv is what the installation gives sink destinations.
func (c *Config) sinkEnv(log *slog.Logger) sink.Env {
	root := c.SinksFileRoot
	if root == "" {
		root = filepath.Join(c.Data, "sinks")
	}
	return sink.Env{Logger: log, Guard: &sink.Guard{AllowPrivate: c.SinksAllowPrivate}, FileRoot: root}
}

// offlineSinkTypes checks sinks made offline (hashtrail sinks add on the
// data directory): by the local operator, who is trusted, so private
// addresses pass; the server's guard still checks every connection.
func offlineSinkTypes() hashtrail.SinkTypes {
	return sinkRegistry(nil).Checker(sink.Env{Guard: &sink.Guard{AllowPrivate: true}, FileRoot: "(the server's sinks-file-root)"})
}

// sinkHooks lets the ledger, made before the dispatcher, wake it.
type sinkHooks struct {
	d atomic.Pointer[sink.Dispatcher]
}

func (h *sinkHooks) committed(tenants ...string) {
	if d := h.d.Load(); d != nil {
		d.Notify(tenants...)
	}
}

func (h *sinkHooks) changed() {
	if d := h.d.Load(); d != nil {
		d.Changed()
	}
}

// startDispatcher starts delivering to sinks; a pause the dispatcher
// makes itself is recorded in the tenant's log by led.
func startDispatcher(cfg *Config, st hashtrail.Store, log *slog.Logger, hooks *sinkHooks, led *ledger.Ledger) *sink.Dispatcher {
	d := sink.New(sink.Config{Store: st, Registry: sinkRegistry(st), Env: cfg.sinkEnv(log), Logger: log, Paused: led.RecordSinkPaused})
	hooks.d.Store(d)
	return d
}

// applyDeclaredSinks creates or updates the sinks of the config file, as
// the local operator, creating a declared sink's tenant if missing.
func applyDeclaredSinks(ctx context.Context, cfg *Config, svc hashtrail.LogService, log *slog.Logger) error {
	for _, d := range cfg.Sinks {
		settings, _ := json.Marshal(d.Settings)
		if d.Settings == nil {
			settings = []byte(`{}`)
		}
		want := &hashtrail.SinkConfig{Tenant: d.scope(), Name: d.Name, Type: d.Type, Filter: d.Filter,
			Settings: settings, BatchSize: d.BatchSize, MaxFailures: d.MaxFailures, State: hashtrail.SinkActive}
		if want.Tenant != hashtrail.AllTenants {
			if _, err := svc.Tenant(ctx, want.Tenant); hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
				if _, err := svc.CreateTenant(ctx, &hashtrail.Tenant{ID: want.Tenant}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
					return fmt.Errorf("sink %q: creating its tenant: %w", d.Name, err)
				}
			}
		}
		list, err := svc.Sinks(ctx, want.Tenant)
		if err != nil {
			return fmt.Errorf("sink %q: %w", d.Name, err)
		}
		var have *hashtrail.SinkInfo
		for _, s := range list {
			if s.Name == d.Name {
				have = s
			}
		}
		if have == nil {
			info, err := svc.CreateSink(ctx, want)
			if err != nil {
				return fmt.Errorf("config file sink %q: %w", d.Name, readable(err))
			}
			log.Info("created a sink declared in the config file", "sink", info.ID, "name", d.Name, "tenant", want.Tenant, "type", d.Type)
			continue
		}
		if have.Type != d.Type {
			return fmt.Errorf("config file sink %q: sink %s of that name has type %s, not %s; delete it or rename the declared one", d.Name, have.ID, have.Type, d.Type)
		}
		if have.Filter == want.Filter && have.BatchSize == want.BatchSize && have.MaxFailures == want.MaxFailures && sameJSON(have.Settings, settings) {
			continue
		}
		raw := json.RawMessage(settings)
		p := &hashtrail.SinkPatch{Filter: &want.Filter, Settings: &raw, BatchSize: &want.BatchSize, MaxFailures: &want.MaxFailures}
		if _, err := svc.UpdateSink(ctx, want.Tenant, have.ID, p); err != nil {
			return fmt.Errorf("config file sink %q: %w", d.Name, readable(err))
		}
		log.Info("updated a sink declared in the config file", "sink", have.ID, "name", d.Name, "tenant", want.Tenant)
	}
	return nil
}

// sameJSON reports whether a and b are the same JSON value. Secret
// settings read back redacted never compare equal, so a declared sink with
// secrets is updated on each start (keeping it in line with the file).
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
