package faultfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func TestFileDataModel(t *testing.T) {
	d := &fileData{owned: map[int]bool{}}
	read := func() []byte {
		p := make([]byte, d.curSize+10)
		return p[:d.read(p, 0)]
	}
	d.write([]byte("hello"), 0)
	d.write([]byte("world"), blockSize*2+4000) // spans blocks 2 and 3, hole at 1
	want := make([]byte, blockSize*2+4005)
	copy(want, "hello")
	copy(want[blockSize*2+4000:], "world")
	if !bytes.Equal(read(), want) {
		t.Fatal("read back differs from what was written")
	}
	d.sync()
	d.write([]byte("HELLO"), 0)
	d.truncate(3)
	if got := read(); string(got) != "HEL" {
		t.Fatalf("after truncate: %q", got)
	}
	d.truncate(blockSize + 1) // grows with zeros, not with the old bytes
	if got := read(); len(got) != blockSize+1 || string(got[:4]) != "HEL\x00" {
		t.Fatalf("after growing: %d bytes, %q", len(got), got[:4])
	}
	d.revert()
	if !bytes.Equal(read(), want) {
		t.Fatal("revert did not restore the synced contents")
	}
	// A write after sync must not reach the synced copy.
	d.write([]byte("x"), 1)
	d.revert()
	if got := read(); string(got[:5]) != "hello" {
		t.Fatalf("write after sync leaked into the durable copy: %q", got[:5])
	}
}

// mount mounts f on a fresh directory and unmounts it when the test ends.
func mount(t *testing.T, f *FS) *Mount {
	t.Helper()
	if os.Getenv("HASHTRAIL_TEST_FUSE") != "1" {
		t.Skip("set HASHTRAIL_TEST_FUSE=1 to run FUSE tests (needs /dev/fuse and root)")
	}
	m, err := f.Mount(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// cut cuts the power of m, unmounts it and mounts what survived.
func cut(t *testing.T, f *FS, m *Mount) *Mount {
	t.Helper()
	f.PowerCut()
	if _, err := os.ReadDir(m.Dir); !errors.Is(err, syscall.EIO) {
		t.Errorf("after the power cut the old mount answered %v, not EIO", err)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	return mount(t, f)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

func TestPowerCut(t *testing.T) {
	f := New()
	m := mount(t, f)
	dir := m.Dir
	writeFile(t, filepath.Join(dir, "synced"), "synced", true)
	writeFile(t, filepath.Join(dir, "unsynced"), "unsynced", false)
	syncDir(t, dir)
	writeFile(t, filepath.Join(dir, "unnamed"), "synced, name not", true) // created after the dir sync

	// Changes after the syncs: appends, a truncation, a rename, an unlink.
	a, err := os.OpenFile(filepath.Join(dir, "synced"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteString(" and more")
	a.Close()
	if err := os.Truncate(filepath.Join(dir, "unsynced"), 2); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "synced"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "moved")); got != "synced and more" {
		t.Fatalf("before the cut: %q", got)
	}

	m = cut(t, f, m)
	dir = m.Dir
	for name, want := range map[string]string{
		"synced":   "synced",
		"unsynced": "", // its name was synced, its contents never were
	} {
		if got := readFile(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s after the cut: %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"moved", "unnamed"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the cut (%v)", name, err)
		}
	}

	// A rename made durable by a dir sync stays; the synced file keeps its
	// contents under its new name.
	if err := os.Rename(filepath.Join(dir, "synced"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "unsynced")); err != nil {
		t.Fatal(err)
	}
	syncDir(t, dir)
	m = cut(t, f, m)
	if got := f.Names(); len(got) != 1 || got[0] != "moved" {
		t.Errorf("after a synced rename and unlink: %v", got)
	}
	if got := readFile(t, filepath.Join(m.Dir, "moved")); got != "synced" {
		t.Errorf("renamed file: %q", got)
	}
}

func TestSyncLost(t *testing.T) {
	f := New()
	m := mount(t, f)
	writeFile(t, filepath.Join(m.Dir, "a"), "a", true)
	syncDir(t, m.Dir)
	f.SetSyncLost(true)
	writeFile(t, filepath.Join(m.Dir, "a"), "changed", true)
	writeFile(t, filepath.Join(m.Dir, "b"), "b", true)
	syncDir(t, m.Dir)
	m = cut(t, f, m)
	if got := readFile(t, filepath.Join(m.Dir, "a")); got != "a" {
		t.Errorf("a: %q", got)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "b")); err == nil {
		t.Error("b survived though every sync after its creation was lost")
	}
	if s := f.Stats(); s.LostSyncs != 3 || s.FileSyncs != 1 || s.DirSyncs != 1 {
		t.Errorf("stats: %+v", s)
	}
}

// TestExclusiveLinkAndMmap covers what SQLite and the signing key need
// beyond plain reads and writes: O_EXCL, hard links, shared writable mmap.
func TestExclusiveLinkAndMmap(t *testing.T) {
	f := New()
	m := mount(t, f)
	p := filepath.Join(m.Dir, "x")
	writeFile(t, p, "x", true)
	if _, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); !errors.Is(err, os.ErrExist) {
		t.Errorf("O_EXCL on an existing file: %v", err)
	}
	if err := os.Link(p, filepath.Join(m.Dir, "y")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(m.Dir, "y")); got != "x" {
		t.Errorf("link: %q", got)
	}

	// Faulting in a page of a mapping of one's own FUSE mount can deadlock
	// the Go runtime (the faulting thread cannot be stopped for GC while the
	// goroutine that would serve the fault waits for GC), so a child
	// process does the mapping, as the server does in the power-loss test.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mmapChildEnv+"="+filepath.Join(m.Dir, "shm"))
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "ok\n" {
		t.Errorf("shared writable mmap in a child: %v: %s", err, out)
	}
}

const mmapChildEnv = "FAULTFS_MMAP_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(mmapChildEnv); path != "" {
		if err := mmapChild(path); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("ok")
		return
	}
	os.Exit(m.Run())
}

// mmapChild maps path twice, shared and writable, the way SQLite maps its
// WAL index, and checks that a write through one mapping shows in the other.
func mmapChild(path string) error {
	shm, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer shm.Close()
	if err := shm.Truncate(32768); err != nil {
		return err
	}
	mem, err := syscall.Mmap(int(shm.Fd()), 0, 32768, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	defer syscall.Munmap(mem)
	copy(mem[100:], "mapped")
	mem2, err := syscall.Mmap(int(shm.Fd()), 0, 32768, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	defer syscall.Munmap(mem2)
	if got := string(mem2[100:106]); got != "mapped" {
		return fmt.Errorf("second mapping sees %q", got)
	}
	return nil
}
