package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// layoutEvent returns an event with personal values in the actor's role and
// a user target's role.
func layoutEvent(tenant, id string, n int) *hashtrail.Event {
	at := hashtrail.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n) * time.Second))
	return &hashtrail.Event{
		ID: id, Time: at, Action: "user.email_change", Category: hashtrail.CategoryAccount,
		Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Name: "Alice", Email: "Alice@Example.com"},
		Targets: []hashtrail.Target{{Type: "user", ID: fmt.Sprint(7 + n%2), Name: "Bob"}},
		Context: &hashtrail.Context{IP: "203.0.113.9", UserAgent: "UA/1", RequestID: "req"},
		Changes: []hashtrail.Change{{Field: "email", Old: json.RawMessage(`"bob@old.example"`), New: json.RawMessage(`"bob@new.example"`)}},
		Tenant:  tenant, ReceivedAt: at,
	}
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// appendN appends n layout events to tenant, ids prefix-0.., one group each.
func appendN(t *testing.T, s *Store, tenant, prefix string, n int) {
	t.Helper()
	var gs []*hashtrail.AppendGroup
	for i := range n {
		e := layoutEvent(tenant, fmt.Sprintf("%s-%d", prefix, i), i)
		gs = append(gs, &hashtrail.AppendGroup{CreateTenants: true, Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte(e.ID)}}})
	}
	if err := s.Append(t.Context(), gs); err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Err != nil {
			t.Fatal(g.Err)
		}
	}
}

// checkLayout checks, on the raw tables, what migration 0002 documents for
// verifiers: bodies without personal values, commitment = SHA-256(salt ||
// values_jcs), leaf_hash equal to the tree's level-0 hash, and exactly
// StoredHashCount(size) tree hashes per tenant. It returns the tree of each
// tenant, by num.
func checkLayout(t *testing.T, s *Store) map[int64]*merkle.Tree {
	t.Helper()
	ctx := t.Context()
	trees := map[int64]*merkle.Tree{}
	rows, err := s.r.QueryContext(ctx, `SELECT pos, leaf_hash, body FROM events ORDER BY pos`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p int64
		var leaf, body []byte
		if err := rows.Scan(&p, &leaf, &body); err != nil {
			t.Fatal(err)
		}
		for _, pii := range []string{"Alice", "203.0.113.9", "UA/1", "Bob", "bob@"} {
			if bytes.Contains(body, []byte(pii)) {
				t.Errorf("pos %x: the body holds the personal value %q: %s", p, pii, body)
			}
		}
		num, seq := p>>seqBits, p&seqMask
		if trees[num] == nil {
			trees[num] = &merkle.Tree{}
		}
		if trees[num].Size() != seq {
			t.Fatalf("tenant %d: seq %d follows %d", num, seq, trees[num].Size()-1)
		}
		trees[num].Append(merkle.Hash(leaf))
	}
	rows.Close()
	for num, tree := range trees {
		var count int64
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM tree_hashes WHERE tenant = ?`, num).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != merkle.StoredHashCount(tree.Size()) {
			t.Errorf("tenant %d: %d tree hashes for %d leaves, want %d", num, count, tree.Size(), merkle.StoredHashCount(tree.Size()))
		}
		want := tree.StoredHashes()
		rows, err := s.r.QueryContext(ctx, `SELECT idx, hash FROM tree_hashes WHERE tenant = ? ORDER BY idx`, num)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var idx int64
			var h []byte
			if err := rows.Scan(&idx, &h); err != nil {
				t.Fatal(err)
			}
			if idx >= int64(len(want)) || !bytes.Equal(h, want[idx][:]) {
				t.Errorf("tenant %d: tree hash %d is not the tree's (of leaf_hash)", num, idx)
			}
		}
		rows.Close()
	}
	rows, err = s.r.QueryContext(ctx, `SELECT tenant, seq, role, subject, values_jcs, salt, commitment FROM event_pii WHERE erased_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var num, seq int64
		var role string
		var subject sql.NullString
		var vals, salt, c []byte
		if err := rows.Scan(&num, &seq, &role, &subject, &vals, &salt, &c); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		h.Write(salt)
		h.Write(vals)
		if !bytes.Equal(h.Sum(nil), c) || len(salt) != hashtrail.SaltSize {
			t.Errorf("tenant %d seq %d role %s: commitment is not SHA-256(salt || values_jcs)", num, seq, role)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(vals, &m); err != nil {
			t.Errorf("tenant %d seq %d role %s: values_jcs %s: %v", num, seq, role, vals, err)
		}
		if role == hashtrail.PIIRoleActor && subject.String != "user:42" || role == "/targets/0" && !strings.HasPrefix(subject.String, "user:") {
			t.Errorf("tenant %d seq %d role %s: subject %v", num, seq, role, subject)
		}
	}
	return trees
}

// TestLayout checks the tables as migration 0002 documents them, and that
// erasing a subject the way it describes keeps every leaf verifiable.
func TestLayout(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "db"))
	appendN(t, s, "acme", "a", 9)
	appendN(t, s, "beta", "b", 4)
	checkLayout(t, s)

	// Erase user:7 (the target of even-numbered events) as the erasure
	// feature will: values, salt and subject go, the commitment stays.
	err := s.write(t.Context(), func(tx *wtx) error {
		_, err := tx.exec(`UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = 1
			WHERE tenant = (SELECT num FROM tenants WHERE id = 'acme') AND subject = 'user:7'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkLayout(t, s)
	events, err := s.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc})
	if err != nil || len(events) != 9 {
		t.Fatalf("Events = %d, %v", len(events), err)
	}
	for _, e := range events {
		erased := e.Seq%2 == 0
		p := e.PII["/targets/0"]
		if p.Erased != erased || (p.Salt == nil) != erased || p.Commitment == "" {
			t.Errorf("seq %d: PII of the target %+v; erased should be %v", e.Seq, p, erased)
		}
		if got := e.Targets[0].Name; (got == "") != erased || (e.Changes[0].Old == nil) != erased {
			t.Errorf("seq %d: target name %q, change %s; erased should be %v", e.Seq, got, e.Changes[0].Old, erased)
		}
		if a := e.PII[hashtrail.PIIRoleActor]; a.Erased || a.Salt == nil || e.Actor.Email == "" {
			t.Errorf("seq %d: the actor's role was erased too", e.Seq)
		}
		leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
		if err != nil || hashtrail.LeafHash(leaf) != e.LeafHash {
			t.Errorf("seq %d: after erasure the leaf does not rebuild: %v", e.Seq, err)
		}
	}
}

// TestFailedAppendKeepsTree makes an Append fail after it computed new tree
// hashes (a row it must insert already exists) and checks that the tree
// goes on right from what was committed.
func TestFailedAppendKeepsTree(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "db"))
	appendN(t, s, "acme", "a", 5)
	poison := func(sql string) {
		t.Helper()
		if err := s.write(t.Context(), func(tx *wtx) error { _, err := tx.exec(sql, merkle.StoredHashIndex(0, 5)); return err }); err != nil {
			t.Fatal(err)
		}
	}
	poison(`INSERT INTO tree_hashes (tenant, idx, hash) VALUES (1, ?, x'00')`)
	e := layoutEvent("acme", "lost", 5)
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{{Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte("x")}}}}); err == nil {
		t.Fatal("Append over an existing tree hash succeeded")
	}
	poison(`DELETE FROM tree_hashes WHERE tenant = 1 AND idx = ?`)
	appendN(t, s, "acme", "b", 6)
	if trees := checkLayout(t, s); trees[1].Size() != 11 {
		t.Errorf("tree size %d, want 11", trees[1].Size())
	}
}

// TestUpgradeSealsEvents opens a database of schema 0001 holding events
// stored whole and checks that the upgrade seals them: bodies without
// personal values, leaves that rebuild, and trees that go on.
func TestUpgradeSealsEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(path, writer))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil || ms[0].Version != 1 {
		t.Fatal(ms, err)
	}
	want := map[string]*hashtrail.Event{}
	for _, q := range []string{
		ms[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)`,
		`INSERT INTO tenants (num, id, created_at, next_seq) VALUES (1, 'acme', 0, 600), (2, 'beta', 0, 3), (3, 'empty', 0, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for num, tenant := range map[int64]string{1: "acme", 2: "beta"} {
		size := map[string]int{"acme": 600, "beta": 3}[tenant]
		for i := range size {
			e := layoutEvent(tenant, fmt.Sprintf("%s-%d", tenant, i), i)
			e.Seq = int64(i)
			want[e.ID] = e
			body, err := encodeBody(nil, e)
			if err != nil {
				t.Fatal(err)
			}
			actor, email := actorColumns(e)
			if _, err := db.ExecContext(ctx, `INSERT INTO events (pos, tenant, id, time, received_at, action, category, severity,
				outcome, actor, actor_email, ip, key_id, content_hash, leaf_hash, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,?)`,
				pos(num, e.Seq), num, e.ID, e.Time.Micros(), e.ReceivedAt.Micros(), e.Action, string(e.Category), e.Severity.Rank(),
				string(e.Outcome), actor, email, ipColumn(e), "", []byte(e.ID), body); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()

	s := openAt(t, path)
	trees := checkLayout(t, s)
	if trees[1].Size() != 600 || trees[2].Size() != 3 {
		t.Fatalf("trees of %d and %d leaves, want 600 and 3", trees[1].Size(), trees[2].Size())
	}
	for id, w := range want {
		got, err := s.Event(ctx, w.Tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _, err := hashtrail.RebuildLeaf(got, got.PII, nil)
		if err != nil || hashtrail.LeafHash(leaf) != got.LeafHash {
			t.Fatalf("%s: the sealed event does not rebuild: %v", id, err)
		}
		if leafHash, _ := hex.DecodeString(got.LeafHash); merkle.Hash(leafHash) != must(trees[map[string]int64{"acme": 1, "beta": 2}[w.Tenant]].LeafHash(w.Seq)) {
			t.Fatalf("%s: leaf hash differs from the tree's", id)
		}
		got.PII, got.LeafHash = nil, ""
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("%s after the upgrade:\n got %s\nwant %s", id, gj, wj)
		}
	}
	// Filters on the columns still work, and the logs go on.
	if events, err := s.Events(ctx, &hashtrail.Query{Tenant: "acme", Actor: "alice@example.com", Limit: 2}); err != nil || len(events) != 2 {
		t.Errorf("actor email filter after the upgrade: %d, %v", len(events), err)
	}
	appendN(t, s, "acme", "new", 7)
	appendN(t, s, "empty", "new", 2)
	trees = checkLayout(t, s)
	if trees[1].Size() != 607 || trees[3].Size() != 2 {
		t.Errorf("trees of %d and %d leaves, want 607 and 2", trees[1].Size(), trees[3].Size())
	}
	// Opening again seals nothing more.
	s.Close()
	s = openAt(t, path)
	after := checkLayout(t, s)
	if after[1].Root() != trees[1].Root() {
		t.Errorf("reopening changed the tree")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
