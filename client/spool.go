package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	hashtrail "github.com/hashtrail/hashtrail"
)

// The spool is a directory of append-only segment files and one head file.
//
//   - A segment is named by a growing number, %016x.seg, and holds records:
//     a 4-byte big-endian payload length, the CRC-32C (Castagnoli) of the
//     payload, 4 bytes big-endian, then the payload: one event's wire JSON,
//     exactly the bytes sent to the server. Records are appended in batches,
//     each batch written at once and fsynced before the events count as
//     spooled.
//   - The head file ("head") holds "<segment> <offset>\n": the first record
//     not yet acknowledged by the server. It is replaced with a rename after
//     each acknowledged batch, without fsync: losing it only makes the next
//     Client send again events the server already has, and the server
//     answers those by id with the original receipts (no duplicate).
//
// Segments before the head are deleted. On open, every segment is checked
// from the head on; a record cut short or failing its checksum (a crash in
// the middle of a write, which was never acknowledged as spooled) ends its
// segment, which is truncated there.

const (
	spoolHeadFile  = "head"
	spoolSegSuffix = ".seg"
	recHeader      = 8
	maxRecord      = hashtrail.MaxEventBytes + 1024
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type segment struct {
	num   uint64
	size  int64
	count int64
}

// recPos is where a peeked record ends.
type recPos struct {
	seg int // index in segs
	end int64
}

type spool struct {
	dir    string
	segMax int64

	mu      sync.Mutex // guards what stats reads
	segs    []segment
	headOff int64 // offset of the head record in segs[0]
	n       int64 // records after the head
	bytes   int64 // bytes after the head
	headNum uint64
	nextSeg uint64 // the number of the next segment to create

	w      *os.File // segs[len-1], open for writing
	peeked []recPos
}

// openSpool opens (creating) the spool in dir.
func openSpool(dir string, segMax int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("hashtrail client: spool: %w", err)
	}
	s := &spool{dir: dir, segMax: segMax, nextSeg: 1}
	headSeg, headOff := s.readHead()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("hashtrail client: spool: %w", err)
	}
	var nums []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), spoolSegSuffix)
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(name, 16, 64); err == nil {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for _, num := range nums {
		s.nextSeg = max(s.nextSeg, num+1)
		if num < headSeg {
			_ = os.Remove(s.segPath(num))
			continue
		}
		from := int64(0)
		if num == headSeg {
			from = headOff
		}
		seg, err := s.scan(num, from)
		if err != nil {
			return nil, err
		}
		if len(s.segs) == 0 {
			s.headOff = from
		}
		s.segs = append(s.segs, seg)
		s.n += seg.count
		s.bytes += seg.size - from
	}
	s.nextSeg = max(s.nextSeg, headSeg+1)
	if s.n == 0 {
		s.reset()
	}
	return s, nil
}

func (s *spool) segPath(num uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", num, spoolSegSuffix))
}

// readHead reads the head file; a missing or damaged one means the start.
func (s *spool) readHead() (uint64, int64) {
	b, err := os.ReadFile(filepath.Join(s.dir, spoolHeadFile))
	if err != nil {
		return 0, 0
	}
	var seg uint64
	var off int64
	if _, err := fmt.Sscanf(string(b), "%d %d\n", &seg, &off); err != nil || off < 0 {
		return 0, 0
	}
	return seg, off
}

// scan checks the records of segment num from offset from, truncating it
// after the last good one.
func (s *spool) scan(num uint64, from int64) (segment, error) {
	seg := segment{num: num}
	f, err := os.OpenFile(s.segPath(num), os.O_RDWR, 0)
	if err != nil {
		return seg, fmt.Errorf("hashtrail client: spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return seg, fmt.Errorf("hashtrail client: spool: %w", err)
	}
	if from > fi.Size() {
		from = fi.Size()
	}
	off := from
	var hdr [recHeader]byte
	buf := make([]byte, 0, 4096)
	for {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			break
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if n == 0 || n > maxRecord || off+recHeader+n > fi.Size() {
			break
		}
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := f.ReadAt(buf, off+recHeader); err != nil {
			break
		}
		if crc32.Checksum(buf, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			break
		}
		off += recHeader + n
		seg.count++
	}
	if off < fi.Size() {
		if err := f.Truncate(off); err != nil {
			return seg, fmt.Errorf("hashtrail client: spool: truncating a damaged tail: %w", err)
		}
		_ = f.Sync()
	}
	seg.size = off
	return seg, nil
}

// reset removes every segment once all is acknowledged.
func (s *spool) reset() {
	s.closeFiles()
	for _, seg := range s.segs {
		_ = os.Remove(s.segPath(seg.num))
	}
	s.mu.Lock()
	s.segs, s.headOff, s.n, s.bytes, s.peeked = nil, 0, 0, 0, nil
	s.mu.Unlock()
	_ = s.writeHead(s.nextSeg, 0)
}

func (s *spool) closeFiles() {
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
}

func (s *spool) writeHead(seg uint64, off int64) error {
	tmp := filepath.Join(s.dir, spoolHeadFile+".tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", seg, off)), 0o600); err != nil {
		return fmt.Errorf("hashtrail client: spool: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, spoolHeadFile)); err != nil {
		return fmt.Errorf("hashtrail client: spool: %w", err)
	}
	return nil
}

func (s *spool) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *spool) stats() (int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.bytes
}

// head and tail are the numbers of the first record held and of the next
// one appended, counted from the spool's opening.
func (s *spool) head() uint64 { return s.headNum }
func (s *spool) tail() uint64 { return s.headNum + uint64(s.count()) }

// full reports whether the spool holds limit bytes or more (never with no
// limit).
func (s *spool) full(limit int64) bool {
	if limit <= 0 {
		return false
	}
	_, b := s.stats()
	return b >= limit
}

// append writes records at the tail and fsyncs them, returning the number
// of the first.
func (s *spool) append(bodies [][]byte) (uint64, error) {
	first := s.tail()
	if len(bodies) == 0 {
		return first, nil
	}
	if err := s.writable(); err != nil {
		return 0, err
	}
	size := 0
	for _, b := range bodies {
		size += recHeader + len(b)
	}
	buf := make([]byte, 0, size)
	for _, b := range bodies {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(b, castagnoli))
		buf = append(buf, b...)
	}
	last := &s.segs[len(s.segs)-1]
	if _, err := s.w.WriteAt(buf, last.size); err != nil {
		return 0, fmt.Errorf("hashtrail client: spool: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		return 0, fmt.Errorf("hashtrail client: spool: %w", err)
	}
	s.mu.Lock()
	last.size += int64(size)
	last.count += int64(len(bodies))
	s.n += int64(len(bodies))
	s.bytes += int64(size)
	s.mu.Unlock()
	return first, nil
}

// writable makes sure the last segment is open and has room, starting a
// new one when needed.
func (s *spool) writable() error {
	if s.w != nil && s.segs[len(s.segs)-1].size < s.segMax {
		return nil
	}
	if s.w != nil {
		_ = s.w.Close()
		s.w = nil
	}
	if len(s.segs) > 0 && s.segs[len(s.segs)-1].size < s.segMax {
		f, err := os.OpenFile(s.segPath(s.segs[len(s.segs)-1].num), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("hashtrail client: spool: %w", err)
		}
		s.w = f
		return nil
	}
	num := s.nextSeg
	f, err := os.OpenFile(s.segPath(num), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("hashtrail client: spool: %w", err)
	}
	syncDir(s.dir)
	s.nextSeg++
	s.w = f
	s.mu.Lock()
	s.segs = append(s.segs, segment{num: num})
	s.mu.Unlock()
	return nil
}

// syncDir makes a new file's name durable where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// peek reads up to maxN records (and about maxBytes) from the head without
// consuming them.
func (s *spool) peek(maxN, maxBytes int) ([]*pending, error) {
	s.peeked = s.peeked[:0]
	var out []*pending
	size := 0
	seg, off := 0, s.headOff
	var hdr [recHeader]byte
	var f *os.File
	opened := -1
	defer func() {
		if f != nil && f != s.w {
			_ = f.Close()
		}
	}()
	for len(out) < maxN && seg < len(s.segs) {
		if off >= s.segs[seg].size {
			seg, off = seg+1, 0
			continue
		}
		if opened != seg {
			if f != nil && f != s.w {
				_ = f.Close()
			}
			f = nil
			if seg == len(s.segs)-1 && s.w != nil {
				f = s.w
			} else {
				var err error
				if f, err = os.Open(s.segPath(s.segs[seg].num)); err != nil {
					return nil, fmt.Errorf("hashtrail client: spool: %w", err)
				}
			}
			opened = seg
		}
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("hashtrail client: spool: reading segment %d: %w", s.segs[seg].num, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if len(out) > 0 && size+int(n) > maxBytes {
			break
		}
		body := make([]byte, n)
		if _, err := f.ReadAt(body, off+recHeader); err != nil {
			return nil, fmt.Errorf("hashtrail client: spool: reading segment %d: %w", s.segs[seg].num, err)
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			return nil, fmt.Errorf("hashtrail client: spool: segment %d is damaged at offset %d", s.segs[seg].num, off)
		}
		off += recHeader + n
		size += int(n)
		out = append(out, &pending{body: body, num: s.headNum + uint64(len(out))})
		s.peeked = append(s.peeked, recPos{seg: seg, end: off})
	}
	return out, nil
}

// ack consumes the first k records of the last peek.
func (s *spool) ack(k int) error {
	if k <= 0 {
		return nil
	}
	if k > len(s.peeked) {
		return errors.New("hashtrail client: spool: acknowledged more than peeked")
	}
	pos := s.peeked[k-1]
	var bytes int64
	{
		seg, off := 0, s.headOff
		for seg < pos.seg {
			bytes += s.segs[seg].size - off
			seg, off = seg+1, 0
		}
		bytes += pos.end - off
	}
	s.mu.Lock()
	s.n -= int64(k)
	s.bytes -= bytes
	s.headNum += uint64(k)
	s.mu.Unlock()
	if s.n == 0 {
		s.reset()
		return nil
	}
	for i := 0; i < pos.seg; i++ {
		_ = os.Remove(s.segPath(s.segs[0].num))
		s.mu.Lock()
		s.segs = s.segs[1:]
		s.mu.Unlock()
	}
	s.headOff = pos.end
	s.peeked = s.peeked[:0]
	return s.writeHead(s.segs[0].num, s.headOff)
}

func (s *spool) close() error {
	s.closeFiles()
	return nil
}
