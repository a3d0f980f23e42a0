package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hashtrail/hashtrail/merkle"
)

// State remembers, per log origin, the latest checkpoint a verifier accepted,
// so that the next run can insist that the log only grew: the next
// checkpoint must be at least as large and consistent with it. It is trust
// on first use, as a witness does: the first checkpoint seen of a log is
// taken as it is. A State is kept in a JSON file that only its owner should
// be able to write:
//
//	{"version": 1, "logs": {"<origin>": {"size": 120, "root": "<base64>",
//	  "checkpoint": "<signed note>", "seen_at": "2026-03-01T12:00:00Z"}}}
//
// A State is not safe for concurrent use.
type State struct {
	path    string
	Version int                        `json:"version"`
	Logs    map[string]*SeenCheckpoint `json:"logs"`
}

// SeenCheckpoint is the checkpoint of one log that a verifier accepted last.
type SeenCheckpoint struct {
	Size       int64       `json:"size"`
	Root       merkle.Hash `json:"root"`
	Checkpoint string      `json:"checkpoint"`
	SeenAt     time.Time   `json:"seen_at"`
}

// stateVersion is the format version of state files.
const stateVersion = 1

// DefaultStatePath returns where verifier state is kept unless told
// otherwise: hashtrail/verify-state.json under the user's configuration
// directory (os.UserConfigDir).
func DefaultStatePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory for the verifier state (pass --state): %w", err)
	}
	return filepath.Join(dir, "hashtrail", "verify-state.json"), nil
}

// NewState returns an empty state kept at path (nothing is written until Save).
func NewState(path string) *State {
	return &State{path: path, Version: stateVersion, Logs: map[string]*SeenCheckpoint{}}
}

// LoadState reads the state kept at path; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(path), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the verifier state: %w", err)
	}
	s := NewState(path)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("the verifier state %s is not valid: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("the verifier state %s has version %d; this verifier reads version %d", path, s.Version, stateVersion)
	}
	if s.Logs == nil {
		s.Logs = map[string]*SeenCheckpoint{}
	}
	s.path = path
	return s, nil
}

// Path returns the file the state is kept in.
func (s *State) Path() string { return s.path }

// Seen returns the checkpoint accepted last for origin, or nil.
func (s *State) Seen(origin string) *SeenCheckpoint { return s.Logs[origin] }

// Remember records an accepted checkpoint of origin if it is larger than the
// one recorded.
func (s *State) Remember(origin string, size int64, root merkle.Hash, note []byte, now time.Time) {
	if old := s.Logs[origin]; old != nil && old.Size >= size {
		return
	}
	s.Logs[origin] = &SeenCheckpoint{Size: size, Root: root, Checkpoint: string(note), SeenAt: now.UTC().Truncate(time.Second)}
}

// Save writes the state to its file, mode 0600, replacing it atomically.
func (s *State) Save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving the verifier state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".verify-state-*")
	if err != nil {
		return fmt.Errorf("saving the verifier state: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("saving the verifier state: %w", err)
	}
	return nil
}
