package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// BundleFormat names the evidence bundle format this package writes and reads.
const BundleFormat = "hashtrail-bundle/v1"

// Bundle is an evidence bundle: a slice of one tenant's log that an auditor
// can check with no access to the server (docs/integrity.md). Every entry
// carries its leaf and an inclusion proof against Checkpoint, a signed
// checkpoint of the log; LogKeys are the verifier keys the installation
// published, for information only: a verifier pins its own copy.
//
//	{"format": "hashtrail-bundle/v1", "created_at": "...", "tenant": "acme",
//	 "origin": "<server>/acme", "log_keys": ["<server>+<hash>+<key>"],
//	 "personal_fields": [...], "query": "action=user.login",
//	 "checkpoint": "<signed note>",
//	 "entries": [{"seq": 17, "event": {...}, "leaf": "<base64>",
//	   "leaf_hash": "<hex>", "proof": {"leaf_index": 17, "tree_size": 120,
//	   "hashes": ["<base64>", ...]}}, ...]}
type Bundle struct {
	Format    string         `json:"format"`
	CreatedAt hashtrail.Time `json:"created_at"`
	Tenant    string         `json:"tenant"`
	Origin    string         `json:"origin"`
	LogKeys   []string       `json:"log_keys"`
	// PersonalFields are the tenant's personal change fields, when not
	// the default.
	PersonalFields []string `json:"personal_fields,omitempty"`
	// Query describes what was selected, as URL query parameters.
	Query      string        `json:"query,omitempty"`
	Checkpoint string        `json:"checkpoint"`
	Entries    []BundleEntry `json:"entries"`
}

// BundleEntry is one entry of a bundle: an event as the API answered it
// (with leaf_hash and pii), its leaf and leaf hash, and the inclusion proof
// of the leaf hash at Seq in the bundle's checkpoint. An entry whose body
// was purged has no event and no leaf, only its leaf hash and proof; it
// passes only if a system.retention_purge entry of the bundle announces the
// purge.
type BundleEntry struct {
	Seq      int64                    `json:"seq"`
	Event    *hashtrail.Event         `json:"event,omitempty"`
	Leaf     []byte                   `json:"leaf,omitempty"`
	LeafHash string                   `json:"leaf_hash"`
	Proof    hashtrail.InclusionProof `json:"proof"`
}

// ReadBundle reads a bundle and checks its form (not its contents: that is
// the verifier's job).
func ReadBundle(r io.Reader) (*Bundle, error) {
	var b Bundle
	d := json.NewDecoder(bufio.NewReader(r))
	if err := d.Decode(&b); err != nil {
		return nil, fmt.Errorf("the bundle is not valid JSON: %w", err)
	}
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("the bundle's format is %.40q, not %q", b.Format, BundleFormat)
	}
	if !hashtrail.ValidTenantID(b.Tenant) {
		return nil, fmt.Errorf("the bundle names the tenant %.70q", b.Tenant)
	}
	if b.Checkpoint == "" {
		return nil, errors.New("the bundle has no checkpoint")
	}
	return &b, nil
}

// BundleWriter writes a bundle one entry at a time, so a large slice of a
// log never has to be held in memory.
type BundleWriter struct {
	w     *bufio.Writer
	n     int
	done  bool
	maxSq int64
}

// NewBundleWriter writes the members of hdr but its Entries, and opens the
// entries array.
func NewBundleWriter(w io.Writer, hdr *Bundle) (*BundleWriter, error) {
	h := *hdr
	h.Format = BundleFormat
	h.Entries = nil
	raw, err := json.Marshal(&h)
	if err != nil {
		return nil, err
	}
	// Replace the closing `"entries":null}` with the opening of the array.
	raw, ok := bytes.CutSuffix(raw, []byte(`"entries":null}`))
	if !ok {
		return nil, errors.New("client: unexpected bundle header encoding")
	}
	bw := &BundleWriter{w: bufio.NewWriterSize(w, 256<<10), maxSq: -1}
	bw.w.Write(raw)
	bw.w.WriteString("\"entries\":[\n")
	return bw, nil
}

// Add writes one entry; entries must come in increasing seq order.
func (bw *BundleWriter) Add(e *BundleEntry) error {
	if e.Seq <= bw.maxSq {
		return fmt.Errorf("client: bundle entry %d after %d", e.Seq, bw.maxSq)
	}
	bw.maxSq = e.Seq
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if bw.n > 0 {
		bw.w.WriteString(",\n")
	}
	bw.n++
	_, err = bw.w.Write(raw)
	return err
}

// Len returns the number of entries written.
func (bw *BundleWriter) Len() int { return bw.n }

// Close ends the bundle and flushes it; it does not close the writer below.
func (bw *BundleWriter) Close() error {
	if bw.done {
		return nil
	}
	bw.done = true
	bw.w.WriteString("\n]}\n")
	return bw.w.Flush()
}

// BundleSource is a bundle as a verifier reads it: a partial source whose
// entries carry their leaves and proofs.
type BundleSource struct{ B *Bundle }

var _ Source = BundleSource{}

// Tenant implements Source.
func (s BundleSource) Tenant() string { return s.B.Tenant }

// Checkpoints implements Source.
func (s BundleSource) Checkpoints(context.Context) ([][]byte, error) {
	return [][]byte{[]byte(s.B.Checkpoint)}, nil
}

// Complete implements Source: a bundle is a slice of a log.
func (s BundleSource) Complete() bool { return false }

// Entries implements Source. Entries are passed in seq order; a bundle that
// lists a seq twice fails verification.
func (s BundleSource) Entries(ctx context.Context, end int64, fn func(*Entry) error) error {
	entries := slices.Clone(s.B.Entries)
	slices.SortStableFunc(entries, func(a, b BundleEntry) int { return cmpInt(a.Seq, b.Seq) })
	for i := range entries {
		be := &entries[i]
		e := &Entry{Seq: be.Seq, Leaf: be.Leaf, ProofSize: be.Proof.TreeSize}
		if be.Event != nil {
			ev := *be.Event
			e.Event = &ev
		}
		if be.LeafHash != "" {
			h, err := hex.DecodeString(be.LeafHash)
			if err != nil || len(h) != merkle.HashSize {
				return fmt.Errorf("bundle entry %d: leaf_hash %.70q is not hex SHA-256", be.Seq, be.LeafHash)
			}
			e.LeafHash = new(merkle.Hash)
			copy(e.LeafHash[:], h)
		}
		e.Proof = make([]merkle.Hash, 0, len(be.Proof.Hashes))
		for _, b := range be.Proof.Hashes {
			h, err := merkle.HashFromBytes(b)
			if err != nil {
				return fmt.Errorf("bundle entry %d: %w", be.Seq, err)
			}
			e.Proof = append(e.Proof, h)
		}
		if be.Proof.LeafIndex != be.Seq {
			e.Proof = []merkle.Hash{} // cannot prove this seq
		}
		if err := fn(e); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
