package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/spf13/cobra"
)

// newMigrateStoreCmd builds `hashtrail migrate-store`.
func newMigrateStoreCmd() *cobra.Command {
	var from, to string
	var resume bool
	cmd := &cobra.Command{
		Use:   "migrate-store --from SOURCE --to DESTINATION",
		Short: "Copy a whole installation into another, empty store (SQLite to PostgreSQL)",
		Long: `Copy a whole installation from one store into another, empty one: typically
an embedded SQLite data directory into PostgreSQL. Every tenant, every event
with its seq, received_at, key and personal values, every tree hash and
signed checkpoint, the installation log with its witness cosignatures, API
keys (hashes only, with their revocation, expiry and last use), tenant
configuration and installation settings (server name, log keys) are copied,
so 'hashtrail verify --store DESTINATION' passes on the result with the same
log key.

Each event is sealed again in the destination with the salts it was stored
with, and its leaf hash must come out equal to the source's: the copy stops
at the first event whose does not. A source holding erased personal values
or purged event bodies is refused (their leaves cannot be sealed again).

The source must not be served meanwhile (stop the server; SQLite sources
that another process holds open are refused). The destination must be
empty: a new PostgreSQL database or schema, or a new data directory. An
interrupted copy leaves a partial destination: --resume continues it (after
checking that what it holds is the source's), or drop it and start again.
Progress goes to stderr.

SOURCE and DESTINATION are data directories (their hashtrail.db), or store
URLs: sqlite:///path/to/file.db, postgres://user@host:5432/db.`,
		Example: `  hashtrail migrate-store --from ./hashtrail-data --to postgres://hashtrail@db.internal:5432/audit
  hashtrail verify --store postgres://hashtrail@db.internal:5432/audit --signing-key ./hashtrail-data/signing-key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return errors.New("pass both --from and --to")
			}
			src, err := storeArg(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			dst, err := storeArg(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			return readable(migrateStore(cmd.Context(), src, dst, resume, cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the store to copy: a data directory or a store URL")
	cmd.Flags().StringVar(&to, "to", "", "the empty store to copy into: a store URL or a new data directory")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue an interrupted copy into --to, which must hold a part of the source and nothing else")
	return cmd
}

// storeArg parses a store given on the command line: a store URL, or a
// data directory (its hashtrail.db), with the default PostgreSQL settings.
func storeArg(s string) (storeTarget, error) {
	cfg := defaultConfig()
	if strings.Contains(s, "://") || strings.HasPrefix(s, "sqlite:") {
		cfg.Store = s
	} else {
		cfg.Data = s
	}
	return cfg.storeTarget()
}

// sameStore reports whether two targets name the same store.
func sameStore(a, b storeTarget) bool {
	if a.pg != "" || b.pg != "" {
		return a.pg == b.pg
	}
	pa, err1 := filepath.Abs(a.path)
	pb, err2 := filepath.Abs(b.path)
	return err1 == nil && err2 == nil && pa == pb
}

// refuseInUse fails when another process (a server) has the SQLite
// database of t open.
func refuseInUse(t storeTarget, what string) error {
	if t.pg != "" {
		return nil
	}
	used, err := sqlite.InUse(t.path)
	if err != nil {
		return err
	}
	if used {
		return fmt.Errorf("%s %s is open in another process (a running hashtrail serve?); stop it first", what, t.path)
	}
	return nil
}

// migrateStore copies the installation in src into the empty store dst.
func migrateStore(ctx context.Context, src, dst storeTarget, resume bool, stderr io.Writer) error {
	if sameStore(src, dst) {
		return errors.New("--from and --to name the same store")
	}
	if err := refuseInUse(src, "the source"); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	from, err := openStore(ctx, src, log, false)
	if err != nil {
		return err
	}
	defer from.Close()
	dump, ok := from.(hashtrail.Dumper)
	if !ok {
		return fmt.Errorf("the source store %s cannot be listed whole (it does not implement hashtrail.Dumper)", src)
	}
	to, err := openStore(ctx, dst, log, true)
	if err != nil {
		return err
	}
	defer to.Close()
	m := &migration{from: from, dump: dump, to: to, out: stderr, resume: resume}
	if resume {
		if err := m.checkResumable(ctx); err != nil {
			return fmt.Errorf("cannot resume into %s: %w", dst, err)
		}
	} else if err := checkEmpty(ctx, to, dst); err != nil {
		return err
	}
	start := time.Now()
	if err := m.run(ctx); err != nil {
		return fmt.Errorf("%w\nthe destination %s now holds a partial copy: continue it with --resume, or drop it (the schema or database, or the file) and start again", err, dst)
	}
	fmt.Fprintf(stderr, "migrate-store: copied %d tenants, %d events, %d checkpoints, %d installation log entries, %d keys from %s to %s in %s\n",
		m.tenants, m.events, m.checkpoints, m.installation, m.keys, src, dst, time.Since(start).Round(time.Millisecond))
	return nil
}

// checkEmpty refuses a destination that holds anything, naming what.
func checkEmpty(ctx context.Context, st hashtrail.Store, t storeTarget) error {
	var held []string
	tenants, err := st.Tenants(ctx)
	if err != nil {
		return err
	}
	if len(tenants) > 0 {
		ids := make([]string, 0, 5)
		for _, tn := range tenants[:min(len(tenants), 5)] {
			ids = append(ids, tn.ID)
		}
		more := ""
		if len(tenants) > 5 {
			more = ", …"
		}
		held = append(held, fmt.Sprintf("%d tenants (%s%s)", len(tenants), strings.Join(ids, ", "), more))
	}
	keys, err := st.Keys(ctx, "")
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		held = append(held, fmt.Sprintf("%d API keys", len(keys)))
	}
	if n, err := st.InstallationSize(ctx); err != nil {
		return err
	} else if n > 0 {
		held = append(held, fmt.Sprintf("an installation log of %d entries", n))
	}
	if d, ok := st.(hashtrail.Dumper); ok {
		settings, err := d.Settings(ctx)
		if err != nil {
			return err
		}
		if len(settings) > 0 {
			held = append(held, "settings "+strings.Join(slices.Sorted(maps.Keys(settings)), ", "))
		}
	} else if name, err := st.Setting(ctx, "server_name"); err == nil {
		held = append(held, "the server name "+name)
	}
	if len(held) > 0 {
		return fmt.Errorf("the destination %s is not empty: it holds %s; migrate-store copies into an empty store only (a new database or schema), or continues an interrupted copy with --resume", t, strings.Join(held, ", "))
	}
	return nil
}

// migration is one run of migrate-store, with its counts.
type migration struct {
	from hashtrail.Store
	dump hashtrail.Dumper
	to   hashtrail.Store
	out  io.Writer
	// resume continues an interrupted copy: what the destination holds
	// already is checked against the source and skipped.
	resume bool

	tenants, events, checkpoints, installation, keys int64
}

// run copies everything: tenants with their logs, checkpoints and
// configuration; keys; the installation log; and last the settings, so a
// copy cut short has no server name and cannot pass for a whole
// installation.
func (m *migration) run(ctx context.Context) error {
	tenants, err := m.from.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if err := m.tenant(ctx, t); err != nil {
			return fmt.Errorf("tenant %s: %w", t.ID, err)
		}
		m.tenants++
	}
	keys, err := m.from.Keys(ctx, "")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if copied, err := m.copiedKey(ctx, k); err != nil || copied {
			if err != nil {
				return err
			}
			continue
		}
		if err := m.to.CreateKey(ctx, k); err != nil {
			return fmt.Errorf("key %s: %w", k.ID, err)
		}
		m.keys++
	}
	if err := m.installationLog(ctx); err != nil {
		return fmt.Errorf("the installation log: %w", err)
	}
	settings, err := m.dump.Settings(ctx)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if err := m.to.SetSetting(ctx, name, settings[name]); err != nil {
			return fmt.Errorf("setting %s: %w", name, err)
		}
	}
	return nil
}

// tenant copies one tenant: the tenant, its log, its checkpoints and its
// configuration documents.
func (m *migration) tenant(ctx context.Context, t *hashtrail.Tenant) error {
	from, err := m.copiedLog(ctx, t)
	if err != nil {
		return err
	}
	if from > 0 {
		fmt.Fprintf(m.out, "migrate-store: %s: resuming after %d events copied before\n", t.ID, from)
	}
	if from < 0 {
		if err := m.to.CreateTenant(ctx, &hashtrail.Tenant{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}); err != nil {
			return err
		}
		from = 0
	}
	if err := m.log(ctx, t, from); err != nil {
		return err
	}
	cps, err := m.from.Checkpoints(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, cp := range cps {
		if cp.Size > t.Size {
			return fmt.Errorf("checkpoint %d is beyond the log's %d events (was the source served meanwhile?)", cp.Size, t.Size)
		}
		if err := m.to.AddCheckpoint(ctx, cp); err != nil {
			return fmt.Errorf("checkpoint %d: %w", cp.Size, err)
		}
		m.checkpoints++
	}
	if len(cps) > 0 {
		if err := checkRoot(ctx, m.to, cps[len(cps)-1]); err != nil {
			return err
		}
	}
	cfgs, err := m.dump.TenantConfigs(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, c := range cfgs {
		from, err := m.copiedConfig(ctx, c)
		if err != nil {
			return err
		}
		if err := copyTenantConfig(ctx, m.to, c, from); err != nil {
			return fmt.Errorf("%s configuration: %w", c.Kind, err)
		}
	}
	return nil
}

// copyTenantConfig stores c in st at the same version, st holding version
// from: the versions before it are stored with the same value (the history
// is not kept anywhere).
func copyTenantConfig(ctx context.Context, st hashtrail.Store, c *hashtrail.TenantConfig, from int64) error {
	for v := from; v < c.Version; v++ {
		put := &hashtrail.TenantConfig{Tenant: c.Tenant, Kind: c.Kind, Version: v, Value: c.Value,
			UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy}
		if err := st.PutTenantConfig(ctx, put); err != nil {
			return err
		}
	}
	return nil
}

// checkRoot checks that st's tree of cp's tenant has cp's root at cp's size.
func checkRoot(ctx context.Context, st hashtrail.Store, cp *hashtrail.SignedCheckpoint) error {
	root, err := merkle.TreeHash(cp.Size, merkle.HashReaderFunc(func(idx []int64) ([]merkle.Hash, error) {
		return st.ReadHashes(ctx, cp.Tenant, idx)
	}))
	if err != nil {
		return fmt.Errorf("the copied tree at size %d: %w", cp.Size, err)
	}
	if root != cp.Root {
		return fmt.Errorf("the copied tree's root at size %d is %s, not the checkpoint's %s", cp.Size, root, cp.Root)
	}
	return nil
}

// progressEvery is how often a tenant's copy reports progress.
const progressEvery = 5 * time.Second

// migratePage is how many events one Append of the copy writes; tests
// make it smaller.
var migratePage = hashtrail.MaxLimit

// migrateAfterPage, when set (by tests), is called after each page is
// copied, with the tenant and the seq copied up to; an error stops the copy
// there, as an interruption would.
var migrateAfterPage func(tenant string, next int64) error

// log copies a tenant's events in seq order, a page at a time, each page
// in one Append, checking that each gets its seq and leaf hash back.
func (m *migration) log(ctx context.Context, t *hashtrail.Tenant, next int64) error {
	last := time.Now()
	for next < t.Size {
		after := next - 1
		page, err := m.from.Events(ctx, &hashtrail.Query{Tenant: t.ID, Order: hashtrail.OrderAsc, Limit: migratePage, AfterSeq: &after})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return fmt.Errorf("seq %d is missing from the source (a purged body?); such a log cannot be copied yet", next)
		}
		hashes, err := m.dump.ContentHashes(ctx, t.ID, next, page[len(page)-1].Seq+1)
		if err != nil {
			return err
		}
		entries := make([]*hashtrail.Entry, len(page))
		for i, e := range page {
			if e.Seq != next+int64(i) {
				return fmt.Errorf("seq %d is missing from the source (a purged body?); such a log cannot be copied yet", next+int64(i))
			}
			if entries[i], err = reseal(e, hashes[e.Seq]); err != nil {
				return err
			}
		}
		g := &hashtrail.AppendGroup{Entries: entries}
		if err := m.to.Append(ctx, []*hashtrail.AppendGroup{g}); err != nil {
			return fmt.Errorf("appending seq %d to %d: %w", next, next+int64(len(page))-1, err)
		}
		if g.Err != nil {
			return fmt.Errorf("appending seq %d to %d: %w", next, next+int64(len(page))-1, g.Err)
		}
		for i, en := range entries {
			src := page[i]
			if en.Replayed || en.Event.Seq != src.Seq || en.Event.LeafHash != src.LeafHash {
				return fmt.Errorf("event %s (seq %d): the destination stored it as seq %d with leaf hash %s, not %s; stopping",
					src.ID, src.Seq, en.Event.Seq, en.Event.LeafHash, src.LeafHash)
			}
		}
		next += int64(len(page))
		m.events += int64(len(page))
		if migrateAfterPage != nil {
			if err := migrateAfterPage(t.ID, next); err != nil {
				return err
			}
		}
		if time.Since(last) >= progressEvery {
			fmt.Fprintf(m.out, "migrate-store: %s: %d of %d events\n", t.ID, next, t.Size)
			last = time.Now()
		}
	}
	fmt.Fprintf(m.out, "migrate-store: %s: %d events\n", t.ID, t.Size)
	return nil
}

// installationLog copies the installation log's entries, its checkpoints
// and their cosignatures.
func (m *migration) installationLog(ctx context.Context) error {
	n, err := m.from.InstallationSize(ctx)
	if err != nil {
		return err
	}
	start, err := m.copiedInstallation(ctx, n)
	if err != nil {
		return err
	}
	for from := start; from < n; {
		entries, err := m.dump.InstallationEntries(ctx, from, min(n, from+1000))
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return fmt.Errorf("entry %d is missing from the source", from)
		}
		if err := m.to.AppendInstallation(ctx, from, entries); err != nil {
			return err
		}
		from += int64(len(entries))
		m.installation += int64(len(entries))
	}
	cps, err := m.dump.InstallationCheckpoints(ctx)
	if err != nil {
		return err
	}
	for _, cp := range cps {
		if err := m.to.AddInstallationCheckpoint(ctx, cp); err != nil {
			return fmt.Errorf("checkpoint %d: %w", cp.Size, err)
		}
		lines, err := m.from.Cosignatures(ctx, cp.Size)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := m.to.AddCosignature(ctx, cp.Size, l); err != nil {
				return fmt.Errorf("cosignature of checkpoint %d: %w", cp.Size, err)
			}
		}
	}
	if len(cps) > 0 {
		last := cps[len(cps)-1]
		root, err := merkle.TreeHash(last.Size, merkle.HashReaderFunc(func(idx []int64) ([]merkle.Hash, error) {
			return m.to.ReadInstallationHashes(ctx, idx)
		}))
		if err != nil {
			return err
		}
		if root != last.Root {
			return fmt.Errorf("the copied tree's root at size %d differs from the checkpoint's", last.Size)
		}
	}
	fmt.Fprintf(m.out, "migrate-store: installation log: %d entries, %d checkpoints\n", n, len(cps))
	return nil
}
