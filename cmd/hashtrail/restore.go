package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
)

// restoreOptions are the flags of `hashtrail restore`.
type restoreOptions struct {
	from          string
	published     []string
	apiKey        string
	forceRollback bool
	check         bool
}

// newRestoreCmd builds `hashtrail restore`.
func newRestoreCmd() *cobra.Command {
	var o restoreOptions
	cmd := &cobra.Command{
		Use:   "restore --from FILE [--data D | --store URL] [--published URL-OR-FILE]...",
		Short: "Restore a backup, refusing one that would roll a published log back",
		Long: `Restore a backup made by 'hashtrail backup' into the store.

Before replacing anything, restore compares the backup with every checkpoint
already published: the latest checkpoint of each tenant's log and of the
installation log kept by the current store (if there is one), and those
--published names. Every such checkpoint must be in the backup: its log at
least as long, with the same root at that size. Otherwise restoring would
roll a log back behind a checkpoint that clients, verifiers, receipts or
witnesses may hold, and restore refuses, naming the checkpoint.
--force-rollback restores all the same (see docs/deploy.md for what that
breaks).

  SQLite      the server must be stopped (a database another process holds
              open is refused). The current database is kept beside the new
              one as hashtrail.db.replaced-<time>.
  PostgreSQL  pg_restore (on PATH) into the store's schema, which must be
              empty or missing: keep the current schema under another name
              (ALTER SCHEMA hashtrail RENAME TO hashtrail_old) and pass it
              with --published so its checkpoints count. A restore refused
              after pg_restore drops what it restored.

--check restores nothing: it compares the store as it is with --published,
after a PostgreSQL point-in-time recovery or a restored base backup, before
any server starts on it.

--published (repeatable) names where else checkpoints were published:
  http(s)://node    a running node: its installation checkpoint, and every
                    tenant's latest with --api-key (an admin key)
  a store URL or data directory   the latest checkpoints that store keeps
  a file            a verifier's state (hashtrail verify --state) or signed
                    checkpoints one after another, as /log/checkpoint serves
                    them; each must verify with the installation's log keys`,
		Example: `  hashtrail restore --data /var/lib/hashtrail --from /backup/hashtrail-2026-11-22.db
  hashtrail restore --check --store "$HASHTRAIL_STORE" --published https://audit.example.com --api-key "$ADMIN_KEY"
  hashtrail restore --store postgres://hashtrail@db.internal/audit --from /backup/audit.pgdump \
      --published 'postgres://hashtrail@db.internal/audit?schema=hashtrail_old' --published ~/.config/hashtrail/verify-state.json`,
		Args: cobra.NoArgs,
	}
	cf := bindConfig(cmd.Flags(), "data", "store")
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "the backup file to restore")
	f.StringArrayVar(&o.published, "published", nil, "a node URL, store, verifier state file or checkpoint file whose checkpoints the backup must hold (repeatable)")
	f.StringVar(&o.apiKey, "api-key", "", "admin API key for --published node URLs, to compare every tenant's checkpoint (env "+envAPIKey+")")
	f.BoolVar(&o.forceRollback, "force-rollback", false, "restore even if the backup is behind published checkpoints")
	f.BoolVar(&o.check, "check", false, "restore nothing: check the store itself against --published (after a point-in-time recovery or a restored base backup, before starting servers)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		switch {
		case o.check && o.from != "":
			return errors.New("pass either --from (restore a backup) or --check (check the store as it is)")
		case o.check && len(o.published) == 0:
			return errors.New("--check compares the store with --published checkpoints: name at least one")
		case !o.check && o.from == "":
			return errors.New("pass --from with the backup file to restore")
		case !o.check:
			if _, err := os.Stat(o.from); err != nil {
				return err
			}
		}
		if !cmd.Flags().Changed("api-key") {
			o.apiKey = os.Getenv(envAPIKey)
		}
		cfg, err := cf.load(os.Getenv)
		if err != nil {
			return err
		}
		t, err := cfg.storeTarget()
		if err != nil {
			return err
		}
		r := &restorer{o: o, t: t, stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr()}
		if o.check {
			return readable(r.checkOnly(cmd.Context()))
		}
		if t.pg != "" {
			return readable(r.postgres(cmd.Context()))
		}
		return readable(r.sqlite(cmd.Context()))
	}
	return cmd
}

// restorer is one run of restore.
type restorer struct {
	o              restoreOptions
	t              storeTarget
	stdout, stderr io.Writer
	// currentName is the server name of the store being replaced, if any.
	currentName string
}

// check compares the backup, open as st, with the published checkpoints,
// those of current included, and fails naming every one it does not hold,
// unless forced.
func (r *restorer) check(ctx context.Context, st hashtrail.Store, current []published) error {
	serverName, err := st.Setting(ctx, ledger.SettingServerName)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return errors.New("it is not a Hashtrail installation that was ever served (it has no server name)")
	} else if err != nil {
		return err
	}
	if r.currentName != "" && r.currentName != serverName {
		return fmt.Errorf("the backup is of the installation %s, and the store %s is %s: a backup restores the installation it was taken of", serverName, r.t.describe(), r.currentName)
	}
	var keys []ed25519.PublicKey
	if list, err := ledger.LogKeyList(ctx, st); err == nil && len(list) > 0 {
		if _, keys, err = client.ParseLogKeys(list); err != nil {
			return fmt.Errorf("the backup's log keys: %w", err)
		}
	}
	pubs := current
	for _, p := range r.o.published {
		ps, err := publishedFrom(ctx, p, r.o.apiKey, serverName, keys, r.stderr)
		if err != nil {
			return fmt.Errorf("--published %s: %w", p, err)
		}
		pubs = append(pubs, ps...)
	}
	what, doing := "the backup", "restoring it"
	if r.o.check {
		what, doing = "the store", "serving it"
	}
	problems, err := rollbacks(ctx, st, pubs, what, doing)
	if err != nil {
		return err
	}
	switch {
	case len(pubs) == 0:
		fmt.Fprintf(r.stderr, "restore: WARNING: no published checkpoint to compare %s with (no current store, no --published): if checkpoints of this installation were ever served, name where they are with --published\n", what)
		return nil
	case len(problems) == 0:
		fmt.Fprintf(r.stderr, "restore: %s holds all %d published checkpoints it was compared with\n", what, len(pubs))
		return nil
	}
	if r.o.forceRollback {
		for _, p := range problems {
			fmt.Fprintf(r.stderr, "restore: WARNING (--force-rollback): %s\n", p)
		}
		return nil
	}
	if r.o.check {
		return fmt.Errorf("the store %s is behind published checkpoints:\n  %s\ndo not serve it: recover to a later point, or restore a newer backup",
			r.t.describe(), strings.Join(problems, "\n  "))
	}
	return fmt.Errorf("refusing to restore %s:\n  %s\nrestore a newer backup; --force-rollback restores this one all the same, breaking every verifier, receipt and witness that saw those checkpoints",
		r.o.from, strings.Join(problems, "\n  "))
}

// checkOnly compares the store as it is with the published checkpoints.
func (r *restorer) checkOnly(ctx context.Context) error {
	st, err := openStoreOffline(ctx, r.t, r.stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := r.check(ctx, st, nil); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "restore --check: %s holds every published checkpoint it was compared with\n", r.t.describe())
	return nil
}

// sqlite restores into the SQLite database of r.t: the backup is copied
// next to it, opened (which upgrades its schema if needed) and checked,
// and only then renamed into place, the current database kept beside it.
func (r *restorer) sqlite(ctx context.Context) error {
	path := r.t.path
	if err := refuseInUse(r.t, "the database"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".restoring"
	removeDB(tmp)
	if err := copyDB(r.o.from, tmp); err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			removeDB(tmp)
		}
	}()
	var current []published
	_, err := os.Stat(path)
	exists := err == nil
	if exists {
		cur, err := openStoreOffline(ctx, r.t, r.stderr)
		if err != nil {
			return fmt.Errorf("the current database (to compare the backup with its checkpoints): %w", err)
		}
		current, err = latestPublished(ctx, cur, "in the current store")
		if err == nil {
			r.currentName, err = cur.Setting(ctx, ledger.SettingServerName)
			if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
				err = nil
			}
		}
		cur.Close()
		if err != nil {
			return err
		}
	}
	st, err := sqlite.Open(ctx, tmp, sqlite.Config{Logger: quietLogger(r.stderr)})
	if err != nil {
		return fmt.Errorf("the backup %s: %w", r.o.from, err)
	}
	err = r.check(ctx, st, current)
	if err == nil {
		err = describeStore(ctx, r.stdout, "restored", st)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := refuseInUse(r.t, "the database"); err != nil {
		return err
	}
	if exists {
		old := path + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, old+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		fmt.Fprintf(r.stdout, "restore: the replaced database is kept as %s\n", old)
	}
	for _, suffix := range []string{"-wal", ""} { // the WAL first: never a database beside a stale one
		if err := os.Rename(tmp+suffix, path+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	os.Remove(tmp + "-shm")
	done = true
	if err := syncPath(filepath.Dir(path)); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "restore: restored %s into %s\n", r.o.from, path)
	return nil
}

// copyDB copies a backup file to a new file and fsyncs it.
func copyDB(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeDB removes a SQLite database and its WAL files.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}

// schemaRE finds the schema in pg_restore --list output.
var schemaRE = regexp.MustCompile(`(?m)^\d+; \d+ \d+ SCHEMA - (\S+) `)

// postgres restores a pg_dump backup into the store's schema, which must be
// empty or missing, then opens and checks it, and drops it again if the
// check refuses the backup.
func (r *restorer) postgres(ctx context.Context) error {
	schema := r.t.schema()
	list, err := pgCommand(ctx, r.t, "pg_restore", "--list", r.o.from)
	if err != nil {
		return err
	}
	// --list reads only the file; --dbname is ignored.
	out, err := runPG(list)
	if err != nil {
		return fmt.Errorf("%s is not a pg_dump archive: %w", r.o.from, err)
	}
	m := schemaRE.FindAllSubmatch(out, -1)
	if len(m) != 1 {
		return fmt.Errorf("%s holds %d schemas; a hashtrail backup holds one", r.o.from, len(m))
	}
	if got := string(m[0][1]); got != schema {
		return fmt.Errorf("the backup holds the schema %s, and the store is in %s; restore into a store URL with ?schema=%s", got, schema, got)
	}
	conn, err := pgx.Connect(ctx, r.t.pg)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", r.t, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	var objects int
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1)`,
		schema).Scan(&exists, &objects); err != nil {
		return err
	}
	if objects > 0 {
		return fmt.Errorf("the schema %s of %s is not empty (%d relations): restore into an empty schema; keep the current one under another name (ALTER SCHEMA %s RENAME TO %s_old) and pass --published with its URL (?schema=%s_old) so its checkpoints count",
			schema, r.t, objects, schema, schema, schema)
	}
	ident := pgx.Identifier{schema}.Sanitize()
	if exists {
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+ident); err != nil { // empty: pg_restore creates it
			return err
		}
	}
	restore, err := pgCommand(ctx, r.t, "pg_restore", "--single-transaction", "--no-owner", "--no-privileges", r.o.from)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stderr, "restore: pg_restore of %s into schema %s of %s\n", r.o.from, schema, r.t)
	if _, err := runPG(restore); err != nil {
		return err
	}
	undo := func() {
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA `+ident+` CASCADE`); err != nil {
			fmt.Fprintf(r.stderr, "restore: dropping the refused restore: %v\n", err)
		}
	}
	st, err := openStoreOffline(ctx, r.t, r.stderr)
	if err != nil {
		undo()
		return fmt.Errorf("the restored store: %w", err)
	}
	err = r.check(ctx, st, nil)
	if err == nil {
		err = describeStore(ctx, r.stdout, "restored", st)
	}
	st.Close()
	if err != nil {
		undo()
		return err
	}
	fmt.Fprintf(r.stdout, "restore: restored %s into schema %s of %s\n", r.o.from, schema, r.t)
	return nil
}
