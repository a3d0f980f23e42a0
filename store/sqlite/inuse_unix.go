//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"fmt"
	"os"
	"syscall"
)

// shmDMS is the byte of the shared-memory file on which every connection of
// SQLite's unix VFS holds a read lock while it has the database open in WAL
// mode (UNIX_SHM_DMS in os_unix.c: 120 + SQLITE_SHM_NLOCK), the "dead man
// switch" SQLite itself uses to tell whether it is the last connection.
const shmDMS = 128

// shmLocked reports whether another process holds a lock on the shared
// memory file's DMS byte.
func shmLocked(f *os.File) (bool, error) {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: shmDMS, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, fmt.Errorf("sqlite: testing the lock of %s: %w", f.Name(), err)
	}
	return lk.Type != syscall.F_UNLCK, nil
}
