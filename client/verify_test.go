package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/merkle"
)

// cleanLog is 300 events with checkpoints at 1, 100, 256 and 300.
func cleanLog(t testing.TB) *memLog {
	l := newLog(t)
	l.addN(1)
	l.sign()
	l.addN(99)
	l.sign()
	l.addN(156)
	l.sign()
	l.addN(44)
	l.sign()
	return l
}

func wantOK(t *testing.T, rep *client.Report) {
	t.Helper()
	if !rep.OK() {
		t.Fatalf("FAILED: %s", rep.Summary())
	}
}

func wantFail(t *testing.T, rep *client.Report, seq int64, what string) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("verified, want a divergence at seq %d: %q\n%s", seq, what, rep.Summary())
	}
	if rep.Failure.Seq != seq || !strings.Contains(rep.Failure.What, what) {
		t.Fatalf("divergence %s\nwant seq %d and %q", rep.Failure, seq, what)
	}
}

func TestCleanLogVerifiesInEveryMode(t *testing.T) {
	l := cleanLog(t)
	for name, src := range map[string]client.Source{
		"data":   dataDir(l),
		"server": server(l),
		"sample": sample(l, 0, 5, 99, 100, 255, 299),
	} {
		t.Run(name, func(t *testing.T) {
			rep := verify(t, verifier(), src)
			wantOK(t, rep)
			if rep.Size != 300 || rep.Checkpoints != 4 {
				t.Errorf("size %d, %d checkpoints", rep.Size, rep.Checkpoints)
			}
			if name == "data" && rep.StoredHashes != merkle.StoredHashCount(300) {
				t.Errorf("compared %d stored hashes, want %d", rep.StoredHashes, merkle.StoredHashCount(300))
			}
			if name == "sample" && (rep.Proved != 6 || rep.Complete) {
				t.Errorf("proved %d, complete %v", rep.Proved, rep.Complete)
			}
			t.Log(rep.Summary())
		})
	}
}

func TestChangedBody(t *testing.T) {
	for name, mk := range map[string]func(*memLog) client.Source{
		"data": dataDir, "server": server,
		"sample": func(l *memLog) client.Source { return sample(l, 3, 17, 200) },
	} {
		t.Run(name, func(t *testing.T) {
			l := cleanLog(t)
			l.events[17].Context.RequestID = "forged"
			wantFail(t, verify(t, verifier(), mk(l)), 17, "leaf hash differs: event body changed")
		})
	}
}

func TestChangedLeafHashToo(t *testing.T) {
	// The attacker also rewrites leaf_hash to match the new body: the tree
	// still holds the old leaf hash.
	l := cleanLog(t)
	e := l.events[17]
	e.Context.RequestID = "forged"
	leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.LeafHash = hashtrail.LeafHash(leaf)
	wantFail(t, verify(t, verifier(), dataDir(l)), 17, "the tree's leaf hash is not the event's")
	wantFail(t, verify(t, verifier(), server(l)), -1, "checkpoint 100 root differs")
	wantFail(t, verify(t, verifier(), sample(l, 17)), 17, "inclusion proof fails")
}

func TestChangedPersonalValue(t *testing.T) {
	l := cleanLog(t)
	l.events[40].Actor.Email = "someone.else@example.com"
	wantFail(t, verify(t, verifier(), dataDir(l)), 40, "personal values changed")
}

func TestDeletedPersonalValue(t *testing.T) {
	// One value deleted, salt kept: the commitment no longer matches.
	l := cleanLog(t)
	l.events[41].Context.IP = ""
	wantFail(t, verify(t, verifier(), dataDir(l)), 41, "personal values changed")
	// The whole role (values and salt) deleted without an erasure.
	l = cleanLog(t)
	l.erase(42, "/targets/0")
	wantFail(t, verify(t, verifier(), dataDir(l)), 42, "no signed system.subject_erased")
}

func TestErasureAnnounced(t *testing.T) {
	l := cleanLog(t)
	l.announce(client.ActionSubjectErased, client.SubjectErased{Roles: []client.ErasedRole{
		{Seq: 42, Role: "/targets/0"}, {Seq: 43, Role: "/actor"}, {Seq: 43, Role: "/targets/0"},
	}})
	l.sign()
	l.erase(42, "/targets/0")
	l.erase(43, "/actor")
	l.erase(43, "/targets/0")
	for name, src := range map[string]client.Source{"data": dataDir(l), "server": server(l), "sample": sample(l, 42, 43, 300)} {
		rep := verify(t, verifier(), src)
		wantOK(t, rep)
		if rep.Redacted != 2 || rep.ErasedRoles != 3 {
			t.Errorf("%s: redacted %d, roles %d; want 2, 3", name, rep.Redacted, rep.ErasedRoles)
		}
	}
	// An announcement that does not name this role does not cover it.
	l.erase(44, "/actor")
	wantFail(t, verify(t, verifier(), dataDir(l)), 44, "role /actor are gone (erased)")
}

func TestErasureAnnouncedButNotSigned(t *testing.T) {
	l := cleanLog(t)
	l.announce(client.ActionSubjectErased, client.SubjectErased{Roles: []client.ErasedRole{{Seq: 42, Role: "/actor"}}})
	l.erase(42, "/actor") // deleted before a checkpoint covers the announcement
	wantFail(t, verify(t, verifier(), dataDir(l)), 42, "no signed system.subject_erased")
}

func TestErasureByAClientEventIsNotCover(t *testing.T) {
	// An announcement whose roles name a later seq is malformed and covers nothing.
	l := cleanLog(t)
	l.announce(client.ActionSubjectErased, client.SubjectErased{Roles: []client.ErasedRole{{Seq: 42, Role: "/actor"}, {Seq: 400, Role: "/actor"}}})
	l.sign()
	l.erase(42, "/actor")
	wantFail(t, verify(t, verifier(), dataDir(l)), 42, "no signed system.subject_erased")
}

func TestPurge(t *testing.T) {
	l := cleanLog(t)
	l.announce(client.ActionRetentionPurge, client.RetentionPurge{Ranges: [][2]int64{{0, 9}, {20, 29}}, Policy: "default:365d"})
	l.sign()
	for _, s := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 25} {
		l.events[s] = nil
	}
	for name, src := range map[string]client.Source{"data": dataDir(l), "server": server(l)} {
		rep := verify(t, verifier(), src)
		wantOK(t, rep)
		if rep.Purged != 12 {
			t.Errorf("%s: purged %d, want 12", name, rep.Purged)
		}
	}
	l.events[10] = nil
	wantFail(t, verify(t, verifier(), dataDir(l)), 10, "seq 10 missing")
	wantFail(t, verify(t, verifier(), server(l)), 10, "seq 10 missing")
}

func TestDeletedEvent(t *testing.T) {
	l := cleanLog(t)
	l.events[17] = nil
	wantFail(t, verify(t, verifier(), dataDir(l)), 17, "seq 17 missing")
	wantFail(t, verify(t, verifier(), server(l)), 17, "seq 17 missing")
}

func TestSwappedEvents(t *testing.T) {
	l := cleanLog(t)
	a, b := *l.events[17], *l.events[18]
	a.Seq, b.Seq = 18, 17
	l.events[17], l.events[18] = &b, &a
	wantFail(t, verify(t, verifier(), dataDir(l)), 17, "leaf hash differs")
}

func TestTruncatedTail(t *testing.T) {
	l := cleanLog(t)
	l.events = l.events[:290]
	src := &memSource{l: l, complete: true}
	src.stored = l.tree.StoredHashes()[:merkle.StoredHashCount(290)]
	wantFail(t, verify(t, verifier(), hashSource{src}), 290, "seq 290 missing")
}

func TestStoredHashChanged(t *testing.T) {
	l := cleanLog(t)
	src := &memSource{l: l, complete: true}
	src.stored = l.tree.StoredHashes()
	src.stored[merkle.StoredHashIndex(2, 3)][0] ^= 1 // leaves 12..15
	wantFail(t, verify(t, verifier(), hashSource{src}), 15, "stored tree hash differs")
}

func TestUnknownKeyAndRewrittenHistory(t *testing.T) {
	l := cleanLog(t)
	// The attacker changes event 17, rebuilds everything and signs with a new key.
	forged := newLog(t)
	forged.key = testKey(2)
	for i, e := range l.events {
		c := *e
		c.Seq, c.ID, c.Time, c.LeafHash, c.PII = 0, "", hashtrail.Time{}, "", nil
		if i == 17 {
			c.Action = "user.logout"
		}
		forged.add(&c)
		if i == 0 || i == 99 || i == 299 {
			forged.sign()
		}
	}
	rep := verify(t, verifier(), dataDir(forged))
	wantFail(t, rep, -1, "signature by unknown key")
	if !strings.Contains(rep.Failure.What, "key hash") {
		t.Errorf("the divergence does not name the key: %s", rep.Failure)
	}
	// A verifier that trusted the new key but remembers what it saw.
	state := client.NewState(filepath.Join(t.TempDir(), "state.json"))
	v := verifier()
	v.State = state
	wantOK(t, verify(t, v, server(l)))
	v2 := verifier(testKey(2))
	v2.State = state
	wantFail(t, verify(t, v2, server(forged)), -1, "not consistent with the previously seen checkpoint")
	// Proved by a consistency proof rather than an equal size.
	l.addN(3)
	l.sign()
	forged.addN(5)
	forged.sign()
	v.State = state
	wantOK(t, verify(t, v, sample(l, 1, 2)))
	forged.notes = forged.notes[len(forged.notes)-1:]
	wantFail(t, verify(t, v2, sample(forged, 1, 2)), -1, "consistency proof fails")
}

func TestRollback(t *testing.T) {
	l := cleanLog(t)
	state := client.NewState(filepath.Join(t.TempDir(), "state.json"))
	v := verifier()
	v.State = state
	wantOK(t, verify(t, v, server(l)))
	if err := state.Save(); err != nil {
		t.Fatal(err)
	}
	loaded, err := client.LoadState(state.Path())
	if err != nil || loaded.Seen(v.Origin(testTenant)).Size != 300 {
		t.Fatalf("state after reload: %v %+v", err, loaded)
	}
	l.notes = l.notes[:2]
	v.State = loaded
	wantFail(t, verify(t, v, server(l)), -1, "rolled back")
}

func TestSplitView(t *testing.T) {
	l := cleanLog(t)
	l.notes = append(l.notes, l.signAt(100, merkle.EmptyRoot, l.key))
	wantFail(t, verify(t, verifier(), server(l)), -1, "split view")
}

func TestTamperedCheckpointSignature(t *testing.T) {
	l := cleanLog(t)
	l.notes[1] = bytes.Replace(l.notes[1], []byte("\n100\n"), []byte("\n101\n"), 1)
	wantFail(t, verify(t, verifier(), server(l)), -1, "invalid signature")
}

func TestUnsignedTail(t *testing.T) {
	l := cleanLog(t)
	l.addN(5)
	rep := verify(t, verifier(), dataDir(l))
	wantOK(t, rep)
	if rep.Unsigned != 5 || rep.Entries != 305 {
		t.Errorf("unsigned %d, entries %d", rep.Unsigned, rep.Entries)
	}
}

func TestServerWithPurgedGapFallsBackToProofs(t *testing.T) {
	// A server serves no leaf hash for a purged event: the verifier proves the
	// prefix by consistency and the rest by inclusion.
	l := cleanLog(t)
	l.announce(client.ActionRetentionPurge, client.RetentionPurge{Ranges: [][2]int64{{150, 150}}, Policy: "p"})
	l.sign()
	l.events[150] = nil
	rep := verify(t, verifier(), server(l))
	wantOK(t, rep)
	if rep.Purged != 1 || rep.Proved != 150 {
		t.Errorf("purged %d, proved %d", rep.Purged, rep.Proved)
	}
	l.events[200].Action = "user.logout"
	wantFail(t, verify(t, verifier(), server(l)), 200, "leaf hash differs")
}

func TestDescriptionGeneratedAtReadTime(t *testing.T) {
	l := cleanLog(t)
	l.events[5].Description = "User Name logged in"
	wantOK(t, verify(t, verifier(), dataDir(l)))
}

func TestHiddenPersonalData(t *testing.T) {
	l := cleanLog(t)
	for i, e := range l.events {
		public, _, err := hashtrail.SplitPII(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		public.PII = map[string]hashtrail.PIICommitment{}
		for k, v := range e.PII {
			public.PII[k] = hashtrail.PIICommitment{Commitment: v.Commitment}
		}
		public.LeafHash = e.LeafHash
		l.events[i] = public
	}
	// A source that does not promise personal data: hidden, not tampering.
	src := client.BundleSource{B: bundleOf(t, l, 0, 1, 2)}
	rep := verify(t, verifier(), src)
	wantOK(t, rep)
	if rep.Hidden != 6 {
		t.Errorf("hidden %d, want 6", rep.Hidden)
	}
	// A source that promises it: missing values need an erasure.
	wantFail(t, verify(t, verifier(), dataDir(l)), 0, "no signed system.subject_erased")
}

// bundleOf exports seqs of l against its latest checkpoint.
func bundleOf(t testing.TB, l *memLog, seqs ...int64) *client.Bundle {
	size := l.tree.Size()
	b := &client.Bundle{Tenant: testTenant, Origin: testServer + "/" + testTenant, Checkpoint: string(l.notes[len(l.notes)-1])}
	for _, s := range seqs {
		p, err := merkle.ProveRecord(size, s, &l.tree)
		if err != nil {
			t.Fatal(err)
		}
		lh, _ := l.tree.LeafHash(s)
		e := l.events[s]
		be := client.BundleEntry{Seq: s, Event: e, LeafHash: hexHash(lh),
			Proof: hashtrail.InclusionProof{LeafIndex: s, TreeSize: size}}
		if e != nil {
			leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
			if err != nil {
				t.Fatal(err)
			}
			be.Leaf = leaf
		}
		for _, h := range p {
			be.Proof.Hashes = append(be.Proof.Hashes, h[:])
		}
		b.Entries = append(b.Entries, be)
	}
	return b
}

func hexHash(h merkle.Hash) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 64)
	for _, c := range h {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestBundleRoundTrip(t *testing.T) {
	l := cleanLog(t)
	b := bundleOf(t, l, 3, 50, 299)
	var buf bytes.Buffer
	w, err := client.NewBundleWriter(&buf, b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Entries {
		if err := w.Add(&b.Entries[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("not JSON:\n%s", buf.String())
	}
	read, err := client.ReadBundle(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, verifier(), client.BundleSource{B: read})
	wantOK(t, rep)
	if rep.Proved != 3 {
		t.Errorf("proved %d", rep.Proved)
	}

	// An edited event names the member that changed.
	var doc map[string]any
	json.Unmarshal(buf.Bytes(), &doc)
	doc["entries"].([]any)[1].(map[string]any)["event"].(map[string]any)["action"] = "user.logout"
	edited, _ := json.Marshal(doc)
	read, err = client.ReadBundle(bytes.NewReader(edited))
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, verify(t, verifier(), client.BundleSource{B: read}), 50, "event body changed at /action")

	// A bundle whose checkpoint is signed by another key.
	b.Checkpoint = string(l.signAt(l.tree.Size(), l.tree.Root(), testKey(9)))
	wantFail(t, verify(t, verifier(), client.BundleSource{B: b}), -1, "signature by unknown key")
}

func TestBundlePurgedEntry(t *testing.T) {
	l := cleanLog(t)
	l.announce(client.ActionRetentionPurge, client.RetentionPurge{Ranges: [][2]int64{{0, 9}}, Policy: "p"})
	l.sign()
	l.events[5] = nil
	wantOK(t, verify(t, verifier(), client.BundleSource{B: bundleOf(t, l, 5, 6, 300)}))
	// Without the announcement in the bundle, the purge is not covered.
	wantFail(t, verify(t, verifier(), client.BundleSource{B: bundleOf(t, l, 5, 6)}), 5, "seq 5 missing")
}

func TestFirstDivergenceIsTheLowest(t *testing.T) {
	// An erased role at seq 10 without cover, and a changed body at 20: the
	// erased role is reported, though found only at the end.
	l := cleanLog(t)
	l.erase(10, "/actor")
	l.events[20].Action = "user.logout"
	wantFail(t, verify(t, verifier(), dataDir(l)), 10, "role /actor")
	// Covered by an announcement after the changed body: the body is first.
	l2 := cleanLog(t)
	l2.announce(client.ActionSubjectErased, client.SubjectErased{Roles: []client.ErasedRole{{Seq: 10, Role: "/actor"}}})
	l2.sign()
	l2.erase(10, "/actor")
	l2.events[20].Action = "user.logout"
	wantFail(t, verify(t, verifier(), dataDir(l2)), 20, "leaf hash differs")
}

func TestParseAnnouncements(t *testing.T) {
	mk := func(action string, seq int64, meta string) *hashtrail.Event {
		return &hashtrail.Event{Action: action, Seq: seq, Metadata: json.RawMessage(meta)}
	}
	for _, tc := range []struct {
		meta string
		ok   bool
	}{
		{`{"roles":[{"seq":1,"role":"/actor"},{"seq":1,"role":"/targets/0"},{"seq":2,"role":"/actor"}]}`, true},
		{`{"roles":[]}`, false},
		{`{"roles":[{"seq":10,"role":"/actor"}]}`, false},
		{`{"roles":[{"seq":2,"role":"/actor"},{"seq":1,"role":"/actor"}]}`, false},
		{`{"roles":[{"seq":1,"role":"/actor"},{"seq":1,"role":"/actor"}]}`, false},
		{`{"roles":[{"seq":1,"role":"/actor/email"}]}`, false},
		{`{"roles":[{"seq":1,"role":"/targets/01"}]}`, false},
		{`null`, false},
	} {
		_, err := client.ParseSubjectErased(mk(client.ActionSubjectErased, 10, tc.meta))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.meta, err)
		}
	}
	for _, tc := range []struct {
		meta string
		ok   bool
	}{
		{`{"ranges":[[0,4],[6,9]],"policy":"default"}`, true},
		{`{"ranges":[[0,10]],"policy":"default"}`, false},
		{`{"ranges":[[5,4]]}`, false},
		{`{"ranges":[[0,4],[4,6]]}`, false},
		{`{"ranges":[[-1,4]]}`, false},
		{`{"ranges":[]}`, false},
	} {
		_, err := client.ParseRetentionPurge(mk(client.ActionRetentionPurge, 10, tc.meta))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.meta, err)
		}
	}
}

func TestParseLogKeys(t *testing.T) {
	l := newLog(t)
	_ = l
	name, keys, err := client.ParseLogKeys([]string{vkey(t, testServer, testKey(1)), vkey(t, testServer, testKey(2))})
	if err != nil || name != testServer || len(keys) != 2 {
		t.Fatalf("%q %d %v", name, len(keys), err)
	}
	if _, _, err := client.ParseLogKeys([]string{vkey(t, "a", testKey(1)), vkey(t, "b", testKey(2))}); err == nil {
		t.Error("keys of two servers accepted")
	}
	if _, _, err := client.ParseLogKeys([]string{"nonsense"}); err == nil {
		t.Error("nonsense accepted")
	}
}

func TestCancelledContext(t *testing.T) {
	l := cleanLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := verifier().Verify(ctx, dataDir(l)); err == nil {
		t.Error("a cancelled verification reported no error")
	}
}

func TestEmptyLogWithoutCheckpoint(t *testing.T) {
	l := newLog(t)
	rep := verify(t, verifier(), dataDir(l))
	wantOK(t, rep)
	l.addN(3)
	wantFail(t, verify(t, verifier(), dataDir(l)), -1, "no checkpoint signed by the log key")
	wantFail(t, verify(t, verifier(), sample(l, 1)), -1, "no checkpoint signed by the log key")
}

func TestKeyRotation(t *testing.T) {
	l := newLog(t)
	l.addN(10)
	l.sign() // old key
	l.addN(5)
	note, err := checkpoint.Sign(checkpoint.Checkpoint{Origin: checkpoint.Origin(testServer, testTenant), Size: l.tree.Size(), Root: l.tree.Root()}, testKey(1), testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	l.notes = append(l.notes, note) // the rotation checkpoint, signed by both
	l.key = testKey(2)
	l.addN(5)
	l.sign() // new key
	wantOK(t, verify(t, verifier(testKey(1), testKey(2)), dataDir(l)))
	wantFail(t, verify(t, verifier(testKey(2)), dataDir(l)), -1, "signature by unknown key")
	// Only the new key, and only the checkpoints it signed (the rotation
	// checkpoint and later, as a server serves its latest): fine.
	l.notes = l.notes[1:]
	wantOK(t, verify(t, verifier(testKey(2)), sample(l, 3, 12, 18)))
	wantOK(t, verify(t, verifier(testKey(2)), dataDir(l)))
}
