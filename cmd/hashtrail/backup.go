package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/spf13/cobra"
)

// newBackupCmd builds `hashtrail backup`.
func newBackupCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE [--data D | --store URL]",
		Short: "Write a consistent backup of the store while it serves",
		Long: `Write a consistent snapshot of the store to a new file, while servers go on
serving: nothing has to stop.

  SQLite      the database is copied with VACUUM INTO in one read
              transaction: the backup holds exactly what was committed when
              it started (every event acknowledged before then), compacted.
              The file is an ordinary SQLite database.
  PostgreSQL  pg_dump --format=custom of the store's schema, in one
              repeatable-read snapshot; pg_dump (as new as the server) must
              be on PATH.

The backup holds no signing key (the key is never in the database): back the
key up separately, once. Restore with 'hashtrail restore', which refuses a
backup that would roll a log back behind a checkpoint already published.
See docs/deploy.md for PostgreSQL's own base backups and point-in-time
recovery.`,
		Example: `  hashtrail backup --data /var/lib/hashtrail --to /backup/hashtrail-$(date +%F).db
  hashtrail backup --store postgres://hashtrail@db.internal/audit --to /backup/hashtrail-$(date +%F).pgdump`,
		Args: cobra.NoArgs,
	}
	cf := bindConfig(cmd.Flags(), "data", "store")
	cmd.Flags().StringVar(&to, "to", "", "the backup file to write (must not exist)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if to == "" {
			return errors.New("pass --to with the backup file to write")
		}
		cfg, err := cf.load(os.Getenv)
		if err != nil {
			return err
		}
		t, err := cfg.storeTarget()
		if err != nil {
			return err
		}
		return readable(runBackup(cmd.Context(), t, to, cmd.OutOrStdout(), cmd.ErrOrStderr()))
	}
	return cmd
}

// runBackup writes a backup of the store t names to path.
func runBackup(ctx context.Context, t storeTarget, path string, stdout, stderr io.Writer) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s exists; a backup never overwrites a file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	start := time.Now()
	if t.pg != "" {
		if err := pgDump(ctx, t, path, stderr); err != nil {
			return err
		}
	} else {
		if _, err := os.Stat(t.path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no Hashtrail database at %s to back up (pass --data or --store)", t.path)
		}
		if err := sqlite.BackupFile(ctx, t.path, path); err != nil {
			return err
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup: wrote %s (%d bytes) from %s in %s\n", path, fi.Size(), t.describe(), time.Since(start).Round(time.Millisecond))
	return nil
}

// describeStore prints each tenant's log size and latest checkpoint and the
// installation log's, as a record of what a backup holds (at least).
func describeStore(ctx context.Context, w io.Writer, what string, st hashtrail.Store) error {
	ts, err := st.Tenants(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d tenants\n", what, len(ts))
	for _, tn := range ts {
		line := fmt.Sprintf("  %-20s %8d events", tn.ID, tn.Size)
		if cp, err := st.LatestCheckpoint(ctx, tn.ID); err == nil {
			line += fmt.Sprintf(", checkpoint %d (root %s)", cp.Size, shortRoot(cp.Root[:]))
		}
		fmt.Fprintln(w, line)
	}
	if cp, err := st.LatestInstallationCheckpoint(ctx, false); err == nil {
		fmt.Fprintf(w, "  installation log: checkpoint %d (root %s)\n", cp.Size, shortRoot(cp.Root[:]))
	}
	return nil
}

// describe names the store for messages, with its schema on PostgreSQL.
func (t storeTarget) describe() string {
	if t.pg == "" {
		return t.path
	}
	return t.String() + ", schema " + t.schema()
}

// pgTool returns the path of a PostgreSQL client program, or a clear error.
func pgTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not on PATH: install the PostgreSQL client programs (as new as the server), e.g. apt-get install postgresql-client", name)
	}
	return p, nil
}

// schema returns the PostgreSQL schema of the store t names.
func (t storeTarget) schema() string {
	if t.pgSchema != "" {
		return t.pgSchema
	}
	return postgres.DefaultSchema
}

// pgCommand returns a command running a PostgreSQL client program against
// t's database: the URL without its password, which goes in PGPASSWORD, so
// it never shows in the process list.
func pgCommand(ctx context.Context, t storeTarget, name string, args ...string) (*exec.Cmd, error) {
	bin, err := pgTool(name)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(t.pg)
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--dbname", u.String())...)
	cmd.Env = env
	return cmd, nil
}

// runPG runs a PostgreSQL client program, returning its stdout, and its
// stderr in the error when it fails.
func runPG(cmd *exec.Cmd) ([]byte, error) {
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", filepath.Base(cmd.Path), err, bytes.TrimSpace(errOut.Bytes()))
	}
	return out.Bytes(), nil
}

// pgDump writes the store's schema with pg_dump --format=custom to path,
// through a temporary file renamed into place once complete.
func pgDump(ctx context.Context, t storeTarget, path string, stderr io.Writer) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	// Created first, private: pg_dump keeps the mode of the file it
	// overwrites, and a backup holds personal data.
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	cmd, err := pgCommand(ctx, t, "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
		"--schema", t.schema(), "--file", tmp)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backup: pg_dump of %s\n", t.describe())
	if _, err := runPG(cmd); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncPath(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncPath(filepath.Dir(path))
}

// syncPath fsyncs a file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// shortRoot is the start of a root hash in hex, for messages.
func shortRoot(root []byte) string {
	return fmt.Sprintf("%x…", root[:min(len(root), 6)])
}
