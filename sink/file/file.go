// Package file is the file destination of sinks: each tenant's events as
// JSON Lines (one event per line, as the API answers it to an admin) in
// files that rotate by size or age, written and fsynced once per batch.
//
// Settings:
//
//	{"dir": "siem", "max_bytes": 67108864, "max_age": "24h", "prefix": "events"}
//
// dir is relative to the installation's file root (sink.Env.FileRoot;
// absolute paths and ".." are refused, so a tenant cannot write elsewhere).
// Each tenant's events go to <root>/<dir>/<tenant>/<prefix>-<UTC start
// time>-<n>.jsonl; the file being written ends in ".jsonl.open" and is
// renamed without it when rotated (or when the sink stops), so a shipper
// may take every ".jsonl" file as complete. A file rotates once it holds
// max_bytes (default 64 MiB) or has been open max_age (default none).
package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// Type is the destination's type name.
const Type = "file"

// Settings are the file destination's settings.
type Settings struct {
	Dir      string `json:"dir"`
	MaxBytes int64  `json:"max_bytes,omitempty"`
	MaxAge   string `json:"max_age,omitempty"`
	Prefix   string `json:"prefix,omitempty"`
}

// DefaultMaxBytes is the size at which a file rotates by default.
const DefaultMaxBytes = 64 << 20

// Destination returns the file destination for a sink.Registry.
func Destination() sink.Destination {
	return sink.Destination{New: New, Validate: Validate, BatchSize: 500}
}

// parse reads and checks settings.
func parse(raw json.RawMessage, env sink.Env) (*Settings, time.Duration, []hashtrail.FieldError) {
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, 0, []hashtrail.FieldError{{Field: "", Message: "must be an object of dir, max_bytes, max_age and prefix: " + err.Error()}}
	}
	var errs []hashtrail.FieldError
	clean := filepath.Clean(filepath.FromSlash(s.Dir))
	switch {
	case s.Dir == "":
		errs = append(errs, hashtrail.FieldError{Field: "dir", Message: "is required: a directory under the installation's file root"})
	case filepath.IsAbs(s.Dir) || strings.HasPrefix(s.Dir, "/") || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || strings.Contains(s.Dir, "\\"):
		errs = append(errs, hashtrail.FieldError{Field: "dir", Message: "must be a relative path inside the installation's file root, without .."})
	}
	if env.FileRoot == "" {
		errs = append(errs, hashtrail.FieldError{Field: "dir", Message: "file sinks are off: the installation sets no file root (sinks.file_root)"})
	}
	if s.MaxBytes < 0 {
		errs = append(errs, hashtrail.FieldError{Field: "max_bytes", Message: "must not be negative"})
	}
	if s.MaxBytes == 0 {
		s.MaxBytes = DefaultMaxBytes
	}
	var age time.Duration
	if s.MaxAge != "" {
		d, err := time.ParseDuration(s.MaxAge)
		if err != nil || d < time.Second {
			errs = append(errs, hashtrail.FieldError{Field: "max_age", Message: "must be a duration of at least 1s, such as 1h"})
		}
		age = d
	}
	if s.Prefix == "" {
		s.Prefix = "events"
	}
	if strings.ContainsAny(s.Prefix, `/\.`) || len(s.Prefix) > 64 {
		errs = append(errs, hashtrail.FieldError{Field: "prefix", Message: "must be a file name part without / \\ or ., at most 64 bytes"})
	}
	return &s, age, errs
}

// Validate checks a file sink's settings; see sink.Destination.
func Validate(raw json.RawMessage, env sink.Env) (json.RawMessage, []hashtrail.FieldError) {
	_, _, errs := parse(raw, env)
	return nil, errs
}

// Sink writes one tenant's events at a time (the dispatcher gives each
// tenant its own Sink) to rotating files.
type Sink struct {
	dir    string // <root>/<dir>; the tenant's directory is below
	set    *Settings
	maxAge time.Duration
	now    func() time.Time

	tenant string
	f      *os.File
	path   string // of the open file, ending in .open
	size   int64
	opened time.Time
	seq    int // files opened by this Sink, for unique names
	buf    bytes.Buffer
}

var _ hashtrail.Sink = (*Sink)(nil)

// New returns a Sink for cfg; see sink.Factory.
func New(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
	s, age, errs := parse(cfg.Settings, env)
	if len(errs) > 0 {
		return nil, &hashtrail.PermanentError{Err: fmt.Errorf("file sink: settings.%s %s", errs[0].Field, errs[0].Message)}
	}
	return &Sink{dir: filepath.Join(env.FileRoot, filepath.Clean(filepath.FromSlash(s.Dir))), set: s, maxAge: age, now: time.Now}, nil
}

// Deliver appends batch to the tenant's current file and fsyncs it.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tenant := batch[0].Tenant
	if s.f != nil && (tenant != s.tenant || s.size >= s.set.MaxBytes || s.maxAge > 0 && s.now().Sub(s.opened) >= s.maxAge) {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.buf.Reset()
	for _, e := range batch {
		if e.Tenant != tenant {
			return errors.New("file sink: a batch of several tenants")
		}
		b, err := sink.Encode(e)
		if err != nil {
			return fmt.Errorf("file sink: encoding event %s/%d: %w", e.Tenant, e.Seq, err)
		}
		s.buf.Write(b)
		s.buf.WriteByte('\n')
	}
	if s.f == nil {
		if err := s.open(tenant); err != nil {
			return err
		}
	}
	before := s.size
	n, err := s.f.Write(s.buf.Bytes())
	s.size += int64(n)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Cut off what this batch wrote, so every line stays one whole
		// event, and start a new file next time.
		werr := fmt.Errorf("file sink: writing %s: %w", filepath.Base(s.path), err)
		if terr := s.f.Truncate(before); terr != nil {
			werr = errors.Join(werr, terr)
		}
		s.size = before
		return errors.Join(werr, s.closeFile())
	}
	return nil
}

// open starts a new file for tenant.
func (s *Sink) open(tenant string) error {
	dir := filepath.Join(s.dir, tenant)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	if s.seq == 0 {
		if err := recoverOpen(dir); err != nil {
			return err
		}
	}
	now := s.now().UTC()
	for {
		s.seq++
		name := fmt.Sprintf("%s-%s-%06d.jsonl.open", s.set.Prefix, now.Format("20060102T150405.000000Z"), s.seq)
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o640)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("file sink: %w", err)
		}
		s.f, s.path, s.size, s.opened, s.tenant = f, path, 0, now, tenant
		return syncDir(dir)
	}
}

// rotate closes the current file and gives it its final name.
func (s *Sink) rotate() error {
	if s.f == nil {
		return nil
	}
	return s.closeFile()
}

func (s *Sink) closeFile() error {
	f, path := s.f, s.path
	s.f = nil
	err := f.Close()
	if s.size == 0 {
		return errors.Join(err, os.Remove(path))
	}
	final := strings.TrimSuffix(path, ".open")
	if rerr := os.Rename(path, final); rerr != nil {
		return errors.Join(err, fmt.Errorf("file sink: %w", rerr))
	}
	return errors.Join(err, syncDir(filepath.Dir(path)))
}

// Close closes the current file, giving it its final name.
func (s *Sink) Close() error { return s.rotate() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	return nil
}

// recoverOpen finishes the files a crash left open in dir: it cuts a
// partial last line off (a batch not acknowledged, which the dispatcher
// sends again) and gives each its final name.
func recoverOpen(dir string) error {
	names, err := filepath.Glob(filepath.Join(dir, "*.jsonl.open"))
	if err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	for _, path := range names {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("file sink: %w", err)
		}
		keep := bytes.LastIndexByte(b, '\n') + 1
		if keep == 0 {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("file sink: %w", err)
			}
			continue
		}
		if keep < len(b) {
			if err := os.Truncate(path, int64(keep)); err != nil {
				return fmt.Errorf("file sink: %w", err)
			}
		}
		if err := os.Rename(path, strings.TrimSuffix(path, ".open")); err != nil {
			return fmt.Errorf("file sink: %w", err)
		}
	}
	if len(names) > 0 {
		return syncDir(dir)
	}
	return nil
}

// ReadDir reads every event line of the files under a file sink's
// directory (root/dir), finished or open, in each tenant's file order,
// skipping a partial last line of an open file. It is for tests and tools.
func ReadDir(dir string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	tenants, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if !t.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, t.Name(), "*.jsonl*"))
		if err != nil {
			return nil, err
		}
		// Names hold the UTC start time and a counter; order by them.
		sortFiles(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) { // renamed meanwhile
					continue
				}
				return nil, err
			}
			for len(b) > 0 {
				i := bytes.IndexByte(b, '\n')
				if i < 0 {
					break // a partial line, being written
				}
				out = append(out, json.RawMessage(b[:i]))
				b = b[i+1:]
			}
		}
	}
	return out, nil
}

// sortFiles orders file paths by name without the ".open" suffix.
func sortFiles(files []string) {
	slices.SortFunc(files, func(a, b string) int {
		return strings.Compare(strings.TrimSuffix(a, ".open"), strings.TrimSuffix(b, ".open"))
	})
}
