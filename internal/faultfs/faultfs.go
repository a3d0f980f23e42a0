// Package faultfs is a FUSE file system for power-loss tests: it keeps, in
// memory, what a disk has made durable and what is still only in the page
// cache, and PowerCut throws the latter away.
//
// The model is the strict one POSIX promises and no more:
//
//   - a file's contents and size become durable only when the file is
//     fsynced (fsync and fdatasync alike, on any descriptor of the file);
//   - a name (a creation, link, unlink or rename) becomes durable only when
//     the directory is fsynced.
//
// After PowerCut the live mount fails every operation with EIO (the machine
// is off); unmount it, and Mount again to see what survived. SetSyncLost
// turns every later fsync into a no-op that still reports success, which is
// what a program that forgot to fsync looks like to the disk: tests use it
// to show that they can tell the difference.
//
// There is one flat directory (the mount's root) of regular files, which is
// what an SQLite database and the files beside it need. File locks are left
// to the kernel (POSIX locks stay local to the one mount), and mmap works
// because the kernel's page cache sits in front of the file system, so
// SQLite's WAL index (-shm) needs nothing special. The process that serves a
// mount must not mmap its files (a page fault waiting on its own goroutines
// can stall the Go runtime) nor hold them open when it exits: run what uses
// the mount in another process, as the tests do.
package faultfs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

const blockSize = 4096

type block = [blockSize]byte

// fileData is one file (an inode): its current contents, as the page cache
// would hold them, and its durable contents. Blocks are shared between the
// two until written (copy on write), so a sync costs one slice copy.
type fileData struct {
	ino      uint64
	mode     uint32
	mtime    time.Time
	cur, dur []*block // nil: a block of zeros
	curSize  int64
	durSize  int64
	owned    map[int]bool // blocks of cur that dur does not share
}

func (d *fileData) writable(i int) *block {
	if !d.owned[i] {
		b := new(block)
		if d.cur[i] != nil {
			*b = *d.cur[i]
		}
		d.cur[i] = b
		d.owned[i] = true
	}
	return d.cur[i]
}

func (d *fileData) write(p []byte, off int64) {
	end := off + int64(len(p))
	for n := int((end + blockSize - 1) / blockSize); len(d.cur) < n; {
		d.cur = append(d.cur, nil)
	}
	for len(p) > 0 {
		i, o := int(off/blockSize), int(off%blockSize)
		n := copy(d.writable(i)[o:], p)
		p, off = p[n:], off+int64(n)
	}
	d.curSize = max(d.curSize, end)
	d.mtime = time.Now()
}

func (d *fileData) read(p []byte, off int64) int {
	if off >= d.curSize {
		return 0
	}
	p = p[:min(int64(len(p)), d.curSize-off)]
	n := len(p)
	for len(p) > 0 {
		i, o := int(off/blockSize), int(off%blockSize)
		var c int
		if b := d.cur[i]; b != nil {
			c = copy(p, b[o:])
		} else {
			c = copy(p, make([]byte, min(len(p), blockSize-o)))
		}
		p, off = p[c:], off+int64(c)
	}
	return n
}

func (d *fileData) truncate(size int64) {
	n := int((size + blockSize - 1) / blockSize)
	for i := n; i < len(d.cur); i++ {
		delete(d.owned, i)
	}
	if n < len(d.cur) {
		d.cur = slices.Clip(d.cur[:n])
	}
	for len(d.cur) < n {
		d.cur = append(d.cur, nil)
	}
	if o := int(size % blockSize); o != 0 && size < d.curSize && d.cur[n-1] != nil {
		clear(d.writable(n - 1)[o:])
	}
	d.curSize = size
	d.mtime = time.Now()
}

func (d *fileData) sync() {
	d.dur = slices.Clone(d.cur)
	d.durSize = d.curSize
	clear(d.owned)
}

func (d *fileData) revert() {
	d.cur = slices.Clone(d.dur)
	d.curSize = d.durSize
	clear(d.owned)
}

// FS is the state of the simulated disk. Its zero value is not usable; call
// New.
type FS struct {
	mu       sync.Mutex
	gen      uint64               // bumped by PowerCut; older nodes fail with EIO
	names    map[string]*fileData // the directory as the page cache sees it
	durable  map[string]*fileData // the directory as last synced
	all      map[uint64]*fileData // every file alive or durable
	nextIno  uint64
	syncLost bool
	stats    Stats
}

// Stats counts what the file system was asked to do.
type Stats struct {
	FileSyncs, DirSyncs int // fsync calls honoured
	LostSyncs           int // fsync calls acknowledged but dropped (SetSyncLost)
	PowerCuts           int
}

// New returns an empty file system.
func New() *FS {
	return &FS{names: map[string]*fileData{}, durable: map[string]*fileData{},
		all: map[uint64]*fileData{}, nextIno: 2}
}

// SetSyncLost makes every later fsync (of files and of the directory) report
// success without making anything durable, or, with false, honour them again.
func (f *FS) SetSyncLost(lost bool) {
	f.mu.Lock()
	f.syncLost = lost
	f.mu.Unlock()
}

// Stats returns the counts so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// PowerCut simulates a power loss: everything not yet synced is gone, and
// the live mount, if any, fails every later operation with EIO.
func (f *FS) PowerCut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	f.stats.PowerCuts++
	f.names = maps.Clone(f.durable)
	live := map[uint64]*fileData{}
	for _, d := range f.durable {
		d.revert()
		live[d.ino] = d
	}
	f.all = live
}

// Names returns the names in the directory, as a process would see them.
func (f *FS) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.names))
}

// Mount is a mounted FS.
type Mount struct {
	Dir string
	srv *fuse.Server
}

// Mount mounts the file system on dir (which must exist), in the state it
// is in now. It needs root (it calls mount(2) itself, no fusermount).
func (f *FS) Mount(dir string) (*Mount, error) {
	f.mu.Lock()
	root := &dirNode{f: f, gen: f.gen}
	f.mu.Unlock()
	sec := time.Second
	srv, err := fs.Mount(dir, root, &fs.Options{
		EntryTimeout: &sec,
		AttrTimeout:  &sec,
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			FsName:            "faultfs",
			Name:              "faultfs",
			MaxWrite:          1 << 20,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("faultfs: mount %s: %w", dir, err)
	}
	return &Mount{Dir: dir, srv: srv}, nil
}

// Unmount unmounts; should the mount be busy it falls back to a lazy
// unmount (MNT_DETACH), which always succeeds on a mount point.
func (m *Mount) Unmount() error {
	if m.srv == nil {
		return nil
	}
	done := make(chan error, 1)
	srv := m.srv
	go func() { done <- srv.Unmount() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		err = fmt.Errorf("faultfs: unmount %s timed out", m.Dir)
	}
	if err != nil {
		if lerr := syscall.Unmount(m.Dir, syscall.MNT_DETACH); lerr != nil {
			return fmt.Errorf("%w; lazy unmount: %v", err, lerr)
		}
		srv.Wait()
	}
	m.srv = nil
	return nil
}

// dirNode is the root directory of one mount.
type dirNode struct {
	fs.Inode
	f   *FS
	gen uint64
}

// lock takes the file system's lock and reports whether this mount still
// lives; the caller unlocks in either case.
func (f *FS) lock(gen uint64) bool {
	f.mu.Lock()
	return gen == f.gen
}

var (
	_ fs.NodeLookuper  = (*dirNode)(nil)
	_ fs.NodeReaddirer = (*dirNode)(nil)
	_ fs.NodeCreater   = (*dirNode)(nil)
	_ fs.NodeUnlinker  = (*dirNode)(nil)
	_ fs.NodeRenamer   = (*dirNode)(nil)
	_ fs.NodeLinker    = (*dirNode)(nil)
	_ fs.NodeFsyncer   = (*dirNode)(nil)
	_ fs.NodeGetattrer = (*dirNode)(nil)
	_ fs.NodeStatfser  = (*dirNode)(nil)
)

func (n *dirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o700
	out.Nlink = 2
	out.Ino = 1
	return 0
}

func (n *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize, out.Frsize, out.NameLen = blockSize, blockSize, 255
	out.Blocks, out.Bfree, out.Bavail = 1<<24, 1<<23, 1<<23
	out.Files, out.Ffree = 1<<20, 1<<19
	return 0
}

func (n *dirNode) child(ctx context.Context, d *fileData, out *fuse.EntryOut) *fs.Inode {
	fillAttr(d, &out.Attr)
	return n.NewInode(ctx, &fileNode{f: n.f, gen: n.gen, d: d},
		fs.StableAttr{Mode: syscall.S_IFREG, Ino: d.ino})
}

func (n *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return nil, syscall.EIO
	}
	d := n.f.names[name]
	if d == nil {
		return nil, syscall.ENOENT
	}
	return n.child(ctx, d, out), 0
}

func (n *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return nil, syscall.EIO
	}
	var list []fuse.DirEntry
	for _, name := range slices.Sorted(maps.Keys(n.f.names)) {
		list = append(list, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: n.f.names[name].ino})
	}
	return fs.NewListDirStream(list), 0
}

func (n *dirNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return nil, nil, 0, syscall.EIO
	}
	d := n.f.names[name]
	switch {
	case d != nil && flags&syscall.O_EXCL != 0:
		return nil, nil, 0, syscall.EEXIST
	case d != nil && flags&syscall.O_TRUNC != 0:
		d.truncate(0)
	case d == nil:
		d = &fileData{ino: n.f.nextIno, mode: mode & 0o7777, mtime: time.Now(), owned: map[int]bool{}}
		n.f.nextIno++
		n.f.names[name] = d
		n.f.all[d.ino] = d
	}
	ch := n.child(ctx, d, out)
	return ch, &handle{n: ch.Operations().(*fileNode)}, 0, 0
}

func (n *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return syscall.EIO
	}
	if n.f.names[name] == nil {
		return syscall.ENOENT
	}
	delete(n.f.names, name)
	return 0
}

func (n *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return syscall.EIO
	}
	if newParent.EmbeddedInode() != n.EmbeddedInode() || flags&^unixRenameNoreplace != 0 {
		return syscall.EINVAL
	}
	d := n.f.names[name]
	if d == nil {
		return syscall.ENOENT
	}
	if flags&unixRenameNoreplace != 0 && n.f.names[newName] != nil {
		return syscall.EEXIST
	}
	delete(n.f.names, name)
	n.f.names[newName] = d
	return 0
}

const unixRenameNoreplace = 1 // RENAME_NOREPLACE

func (n *dirNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return nil, syscall.EIO
	}
	t, ok := target.(*fileNode)
	if !ok {
		return nil, syscall.EPERM
	}
	if n.f.names[name] != nil {
		return nil, syscall.EEXIST
	}
	n.f.names[name] = t.d
	return n.child(ctx, t.d, out), 0
}

// Fsync on the directory makes its names durable.
func (n *dirNode) Fsync(ctx context.Context, _ fs.FileHandle, flags uint32) syscall.Errno {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return syscall.EIO
	}
	if n.f.syncLost {
		n.f.stats.LostSyncs++
		return 0
	}
	n.f.stats.DirSyncs++
	n.f.durable = maps.Clone(n.f.names)
	return 0
}

// fileNode is a regular file of one mount.
type fileNode struct {
	fs.Inode
	f   *FS
	gen uint64
	d   *fileData
}

var (
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
	_ fs.NodeSetattrer = (*fileNode)(nil)
	_ fs.NodeFsyncer   = (*fileNode)(nil)
)

func fillAttr(d *fileData, a *fuse.Attr) {
	a.Ino = d.ino
	a.Mode = syscall.S_IFREG | d.mode
	a.Size = uint64(d.curSize)
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = blockSize
	a.Nlink = 1
	a.SetTimes(nil, &d.mtime, &d.mtime)
}

func (n *fileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return syscall.EIO
	}
	fillAttr(n.d, &out.Attr)
	return 0
}

func (n *fileNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return syscall.EIO
	}
	if m, ok := in.GetMode(); ok {
		n.d.mode = m & 0o7777
	}
	if sz, ok := in.GetSize(); ok {
		n.d.truncate(int64(sz))
	}
	fillAttr(n.d, &out.Attr)
	return 0
}

func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return nil, 0, syscall.EIO
	}
	if flags&syscall.O_TRUNC != 0 {
		n.d.truncate(0)
	}
	return &handle{n: n}, 0, 0
}

// Fsync makes the file's contents and size durable (fsync and fdatasync).
func (n *fileNode) Fsync(ctx context.Context, _ fs.FileHandle, flags uint32) syscall.Errno {
	defer n.f.mu.Unlock()
	if !n.f.lock(n.gen) {
		return syscall.EIO
	}
	if n.f.syncLost {
		n.f.stats.LostSyncs++
		return 0
	}
	n.f.stats.FileSyncs++
	n.d.sync()
	return 0
}

// handle is an open file.
type handle struct{ n *fileNode }

var (
	_ fs.FileReader   = (*handle)(nil)
	_ fs.FileWriter   = (*handle)(nil)
	_ fs.FileFlusher  = (*handle)(nil)
	_ fs.FileReleaser = (*handle)(nil)
)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f := h.n.f
	defer f.mu.Unlock()
	if !f.lock(h.n.gen) {
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:h.n.d.read(dest, off)]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	f := h.n.f
	defer f.mu.Unlock()
	if !f.lock(h.n.gen) {
		return 0, syscall.EIO
	}
	h.n.d.write(data, off)
	return uint32(len(data)), 0
}

func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Release(ctx context.Context) syscall.Errno { return 0 }
