package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Backup writes a consistent snapshot of the database to a new file at
// path, while the store goes on serving: VACUUM INTO reads the database in
// one read transaction, which WAL lets run beside the writer (appends are
// not blocked; the snapshot holds what was committed when it started), and
// writes a compacted copy. The copy is written to a temporary file next to
// path, fsynced, and renamed into place, so path holds either nothing or a
// whole backup. Backup refuses a path that exists. Another process takes
// a backup of a database a server is using with BackupFile.
//
// The copy is an ordinary SQLite database; Open it (or restore it as a
// data directory's hashtrail.db) to use it.
func (s *Store) Backup(ctx context.Context, path string) error {
	// The checkpointer's connection reads without query_only (which would
	// forbid VACUUM INTO) and never writes the database; the backup holds
	// it, so WAL checkpoints wait until the snapshot is taken.
	return vacuumInto(ctx, s.ck, path)
}

// BackupFile is Backup for a database file that this process has not
// opened, such as one a running server serves: it opens one connection,
// without applying migrations (a newer binary must not upgrade a database
// an older server is using), and refuses a file that is missing or not a
// Hashtrail database.
func BackupFile(ctx context.Context, db, path string) error {
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	conn, err := openDB(db, checkpointer, 1)
	if err != nil {
		return err
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("sqlite: backup: %s is not a Hashtrail database (%v)", db, err)
	}
	return vacuumInto(ctx, conn, path)
}

// vacuumInto writes the snapshot through a temporary file next to path,
// fsynced and renamed into place.
func vacuumInto(ctx context.Context, db *sql.DB, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists; choose a new file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close() // VACUUM INTO wants a file that does not exist or is empty
	done := false
	defer func() {
		if !done {
			os.Remove(tmpPath)
		}
	}()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := syncFile(tmpPath); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	done = true
	return syncDir(dir)
}

// syncFile fsyncs a file's contents.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", path, err)
	}
	return nil
}

// InUse reports whether a process other than this one has the database at
// path open, such as a running `hashtrail serve`: it tests the lock that
// every SQLite connection in WAL mode holds on its shared-memory file
// (path-shm) while open. A database that is not there, or has no
// shared-memory file, is not in use. Connections of this process do not
// count (POSIX locks do not conflict within a process). On systems where
// the lock cannot be tested it reports false.
func InUse(path string) (bool, error) {
	f, err := os.Open(path + "-shm")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	return shmLocked(f)
}
