package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/merkle"
)

const (
	testServer = "audit.example"
	testTenant = "acme"
)

// testKey returns a fixed signing key.
func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

// memLog is a tenant log held in memory the way a store keeps it: the
// events as answered to an admin (personal values joined back, salts in
// pii), the stored tree hashes, and signed checkpoints.
type memLog struct {
	t      testing.TB
	key    ed25519.PrivateKey
	events []*hashtrail.Event // nil: body gone
	tree   merkle.Tree
	notes  [][]byte
}

func newLog(t testing.TB) *memLog { return &memLog{t: t, key: testKey(1)} }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// add appends an event: a login by user:<n> with personal data, unless e is
// given.
func (l *memLog) add(e *hashtrail.Event) *hashtrail.Event {
	l.t.Helper()
	seq := int64(len(l.events))
	if e == nil {
		e = &hashtrail.Event{
			Action: "user.login", Category: hashtrail.CategoryAuthentication,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(seq % 7), Email: fmt.Sprintf("u%d@example.com", seq%7), Name: "User Name"},
			Targets: []hashtrail.Target{{Type: "user", ID: "99", Name: "Target Person"}, {Type: "project", ID: "7"}},
			Context: &hashtrail.Context{IP: "203.0.113.7", RequestID: fmt.Sprint("req-", seq)},
		}
	}
	e.ID = fmt.Sprintf("ev-%04d", seq)
	if e.Time.IsZero() {
		e.Time = hashtrail.NewTime(t0.Add(time.Duration(seq) * time.Second))
	}
	if e.Category == "" {
		e.Category = hashtrail.CategorySystem
	}
	e.Severity, e.Outcome = hashtrail.SeverityInfo, hashtrail.OutcomeSuccess
	e.Tenant, e.Seq = testTenant, seq
	e.ReceivedAt = hashtrail.NewTime(t0.Add(time.Duration(seq)*time.Second + time.Millisecond))
	leaf, roles, err := hashtrail.EncodeLeaf(e, nil, nil)
	if err != nil {
		l.t.Fatal(err)
	}
	e.LeafHash = hashtrail.LeafHash(leaf)
	if len(roles) > 0 {
		e.PII = map[string]hashtrail.PIICommitment{}
		for _, r := range roles {
			e.PII[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Salt: r.Salt}
		}
	}
	l.events = append(l.events, e)
	l.tree.AppendLeaf(leaf)
	return e
}

func (l *memLog) addN(n int) {
	for range n {
		l.add(nil)
	}
}

// sign signs a checkpoint at the current size.
func (l *memLog) sign() {
	l.t.Helper()
	l.notes = append(l.notes, l.signAt(l.tree.Size(), l.tree.Root(), l.key))
}

func (l *memLog) signAt(size int64, root merkle.Hash, key ed25519.PrivateKey) []byte {
	l.t.Helper()
	note, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: checkpoint.Origin(testServer, testTenant), Size: size, Root: root}, key)
	if err != nil {
		l.t.Fatal(err)
	}
	return note
}

// announce appends a server event announcing an erasure or a purge.
func (l *memLog) announce(action string, meta any) *hashtrail.Event {
	raw, err := json.Marshal(meta)
	if err != nil {
		l.t.Fatal(err)
	}
	return l.add(&hashtrail.Event{Action: action, Category: hashtrail.CategorySystem,
		Actor: &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"}, Metadata: raw})
}

// erase deletes a role's values and salt, as an erasure does.
func (l *memLog) erase(seq int64, role string) {
	e := l.events[seq]
	fields := slices.Clone(hashtrail.DefaultPersonalFields())
	public, roles, err := hashtrail.SplitPII(e, fields)
	if err != nil {
		l.t.Fatal(err)
	}
	var keep []hashtrail.PIIRole
	for _, r := range roles {
		if r.Role != role {
			keep = append(keep, r)
		}
	}
	joined, err := hashtrail.JoinPII(public, keep)
	if err != nil {
		l.t.Fatal(err)
	}
	joined.PII = map[string]hashtrail.PIICommitment{}
	for k, v := range e.PII {
		if k == role {
			v = hashtrail.PIICommitment{Commitment: v.Commitment, Erased: true}
		}
		joined.PII[k] = v
	}
	l.events[seq] = joined
}

// memSource serves a memLog as a complete source with stored hashes (like
// a data directory), or with proofs only (like a server), or partially.
type memSource struct {
	l        *memLog
	complete bool
	hashes   bool // serve stored hashes (HashSource)
	proofs   bool // serve proofs
	only     []int64
	stored   []merkle.Hash // overrides the tree's stored hashes
}

func (s *memSource) Tenant() string { return testTenant }
func (s *memSource) Complete() bool { return s.complete }
func (s *memSource) Checkpoints(context.Context) ([][]byte, error) {
	return s.l.notes, nil
}
func (s *memSource) ShowsPersonalData() bool { return true }

func (s *memSource) Entries(ctx context.Context, end int64, fn func(*client.Entry) error) error {
	for i, e := range s.l.events {
		seq := int64(i)
		if !s.complete && !slices.Contains(s.only, seq) {
			continue
		}
		if !s.complete && seq >= end {
			continue
		}
		entry := &client.Entry{Seq: seq}
		if e != nil {
			c := *e
			entry.Event = &c
		}
		if err := fn(entry); err != nil {
			return err
		}
	}
	if s.complete {
		for seq := int64(len(s.l.events)); seq < end; seq++ {
			if err := fn(&client.Entry{Seq: seq}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *memSource) storedHashes() []merkle.Hash {
	if s.stored != nil {
		return s.stored
	}
	return s.l.tree.StoredHashes()
}

func (s *memSource) readHashes(_ context.Context, idx []int64) ([]merkle.Hash, error) {
	all := s.storedHashes()
	out := make([]merkle.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(all)) {
			return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no stored hash %d", x)
		}
		out[i] = all[x]
	}
	return out, nil
}

func (s *memSource) inclusionProof(_ context.Context, seq, size int64) ([]merkle.Hash, error) {
	return merkle.ProveRecord(size, seq, &s.l.tree)
}

func (s *memSource) consistencyProof(_ context.Context, from, to int64) ([]merkle.Hash, error) {
	return merkle.ProveTree(to, from, &s.l.tree)
}

// hashSource is a complete memSource that serves stored hashes; proofSource
// one that serves proofs only.
type hashSource struct{ *memSource }

func (s hashSource) ReadHashes(ctx context.Context, idx []int64) ([]merkle.Hash, error) {
	return s.memSource.readHashes(ctx, idx)
}

type proofSource struct{ *memSource }

func (s proofSource) InclusionProof(ctx context.Context, seq, size int64) ([]merkle.Hash, error) {
	return s.memSource.inclusionProof(ctx, seq, size)
}

func (s proofSource) ConsistencyProof(ctx context.Context, from, to int64) ([]merkle.Hash, error) {
	return s.memSource.consistencyProof(ctx, from, to)
}

// dataDir is l as a data directory shows it; server as a server does;
// sample as a server sampled.
func dataDir(l *memLog) client.Source { return hashSource{&memSource{l: l, complete: true}} }
func server(l *memLog) client.Source  { return proofSource{&memSource{l: l, complete: true}} }
func sample(l *memLog, seqs ...int64) client.Source {
	return proofSource{&memSource{l: l, only: seqs}}
}

func verifier(keys ...ed25519.PrivateKey) *client.Verifier {
	if len(keys) == 0 {
		keys = []ed25519.PrivateKey{testKey(1)}
	}
	v := &client.Verifier{ServerName: testServer}
	for _, k := range keys {
		v.Keys = append(v.Keys, k.Public().(ed25519.PublicKey))
	}
	return v
}

func verify(t testing.TB, v *client.Verifier, src client.Source) *client.Report {
	t.Helper()
	rep, err := v.Verify(context.Background(), src)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func vkey(t testing.TB, name string, key ed25519.PrivateKey) string {
	t.Helper()
	v, err := checkpoint.VerifierKey(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
