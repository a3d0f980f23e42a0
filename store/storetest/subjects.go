package storetest

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/hashtrail/hashtrail"
)

// subjectEvents appends three events of acme and one of other:
//
//	0  actor user:42 (Alice Ø, alice@example.com, ip 2001:db8::42),
//	   impersonated by user:1; targets user:7 (Bob), role:admin
//	1  actor user:7 (Bob, bob@example.com, ip 192.0.2.7); target user:42
//	   (Alice Ø)
//	2  actor known by e-mail only (Alice@Example.com), ip 198.51.100.4
//	0 of other: actor user:42 (fullEvent)
func subjectEvents(t *testing.T, s hashtrail.Store) {
	t.Helper()
	e0 := fullEvent("acme", "sub-0")
	e0.LeafHash = ""
	e0.Description = "granted admin"
	e1 := newEvent("acme", "sub-1")
	e1.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "7", Name: "Bob", Email: "bob@example.com"}
	e1.Targets = []hashtrail.Target{{Type: "user", ID: "42", Name: "Alice Ø"}}
	e1.Context = &hashtrail.Context{IP: "192.0.2.7"}
	e1.Description = "looked"
	e2 := newEvent("acme", "sub-2")
	e2.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, Email: "Alice@Example.com"}
	e2.Context = &hashtrail.Context{IP: "198.51.100.4"}
	o := fullEvent("other", "sub-o")
	o.LeafHash = ""
	appendEvents(t, s, e0, e1, e2)
	appendEvents(t, s, o)
}

func roles(rs ...any) []hashtrail.SubjectRole {
	var out []hashtrail.SubjectRole
	for i := 0; i < len(rs); i += 2 {
		out = append(out, hashtrail.SubjectRole{Seq: int64(rs[i].(int)), Role: rs[i+1].(string)})
	}
	return out
}

func wantRoles(t *testing.T, p hashtrail.SubjectStore, tenant, subject string, want []hashtrail.SubjectRole) {
	t.Helper()
	got, err := p.SubjectRoles(t.Context(), tenant, subject)
	if err != nil {
		t.Fatalf("SubjectRoles(%s, %s): %v", tenant, subject, err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("SubjectRoles(%s, %s) = %v, want %v", tenant, subject, got, want)
	}
}

func testSubjectRoles(t *testing.T, s hashtrail.Store, p hashtrail.SubjectStore) {
	subjectEvents(t, s)
	wantRoles(t, p, "acme", "user:42", roles(0, "/actor", 1, "/targets/0"))
	wantRoles(t, p, "acme", "user:7", roles(0, "/targets/0", 1, "/actor"))
	wantRoles(t, p, "acme", "user:1", roles(0, "/actor")) // the impersonator
	wantRoles(t, p, "acme", "alice@example.com", roles(0, "/actor", 2, "/actor"))
	wantRoles(t, p, "acme", "ALICE@example.COM", roles(0, "/actor", 2, "/actor"))
	wantRoles(t, p, "acme", "role:admin", nil) // no personal values
	wantRoles(t, p, "acme", "user:999", nil)
	wantRoles(t, p, "other", "user:42", roles(0, "/actor"))
}

// searchIDs returns the ids of acme's events that match term.
func searchIDs(t *testing.T, s hashtrail.Store, q hashtrail.Query) []string {
	t.Helper()
	q.Tenant = "acme"
	var ids []string
	for _, e := range query(t, s, q) {
		ids = append(ids, e.ID)
	}
	return ids
}

func testErasePersonal(t *testing.T, s hashtrail.Store, p hashtrail.SubjectStore) {
	subjectEvents(t, s)
	text := func(v string) hashtrail.Query {
		return hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{v}}}}
	}
	if got := searchIDs(t, s, text("alice")); len(got) == 0 {
		t.Fatalf("before the erasure, a search for alice finds nothing")
	}
	rs, err := p.SubjectRoles(t.Context(), "acme", "user:42")
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.ErasePersonal(t.Context(), "acme", rs)
	if err != nil || n != 2 {
		t.Fatalf("ErasePersonal(user:42) = %d, %v, want 2", n, err)
	}
	e0, err := s.Event(t.Context(), "acme", "sub-0")
	if err != nil {
		t.Fatal(err)
	}
	checkSealed(t, e0, nil)
	if c := e0.PII[hashtrail.PIIRoleActor]; !c.Erased || c.Salt != nil || c.Commitment == "" {
		t.Errorf("sub-0 /actor = %+v, want erased with its commitment", c)
	}
	if a := e0.Actor; a.Name != "" || a.Email != "" || a.Impersonator.Name != "" || a.ID != "42" {
		t.Errorf("sub-0 actor after erasure = %+v", a)
	}
	if e0.Context.IP != "" || e0.Context.UserAgent != "" || e0.Context.Location != nil {
		t.Errorf("sub-0 context after erasure = %+v", e0.Context)
	}
	if c := e0.PII["/targets/0"]; c.Erased || c.Salt == nil || e0.Targets[0].Name != "Bob" {
		t.Errorf("sub-0 /targets/0 (Bob) = %+v, name %q: want untouched", c, e0.Targets[0].Name)
	}
	e1, err := s.Event(t.Context(), "acme", "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	checkSealed(t, e1, nil)
	if c := e1.PII["/targets/0"]; !c.Erased || e1.Targets[0].Name != "" || e1.Targets[0].ID != "42" {
		t.Errorf("sub-1 /targets/0 = %+v, target %+v, want erased", c, e1.Targets[0])
	}
	if c := e1.PII[hashtrail.PIIRoleActor]; c.Erased || e1.Actor.Email != "bob@example.com" || e1.Context.IP != "192.0.2.7" {
		t.Errorf("sub-1 /actor (Bob) = %+v, %+v: want untouched", c, e1.Actor)
	}
	// Search no longer finds Alice by name, e-mail or ip, but still finds
	// Bob and the e-mail-only actor, who is not user:42 as far as the log
	// knows.
	for _, v := range []string{"alice", "Ø"} {
		if got := searchIDs(t, s, text(v)); slices.Contains(got, "sub-0") || slices.Contains(got, "sub-1") {
			t.Errorf("after the erasure, text %q finds %v", v, got)
		}
	}
	if got := searchIDs(t, s, hashtrail.Query{IP: netip.MustParsePrefix("2001:db8::42/128")}); len(got) != 0 {
		t.Errorf("after the erasure, ip 2001:db8::42 finds %v", got)
	}
	if got := searchIDs(t, s, hashtrail.Query{Actor: "alice@example.com"}); !slices.Equal(got, []string{"sub-2"}) {
		t.Errorf("after the erasure, actor alice@example.com finds %v, want only sub-2", got)
	}
	if got := searchIDs(t, s, text("bob")); !slices.Contains(got, "sub-1") {
		t.Errorf("after the erasure, bob is not found: %v", got)
	}
	if got := searchIDs(t, s, hashtrail.Query{IP: netip.MustParsePrefix("192.0.2.7/32")}); !slices.Equal(got, []string{"sub-1"}) {
		t.Errorf("ip 192.0.2.7 finds %v", got)
	}
	// The other tenant is untouched; erasing again erases nothing.
	o, err := s.Event(t.Context(), "other", "sub-o")
	if err != nil {
		t.Fatal(err)
	}
	if o.PII[hashtrail.PIIRoleActor].Erased || o.Actor.Email != "alice@example.com" {
		t.Errorf("other tenant's event touched: %+v", o.Actor)
	}
	if n, err := p.ErasePersonal(t.Context(), "acme", rs); err != nil || n != 0 {
		t.Errorf("second ErasePersonal = %d, %v, want 0", n, err)
	}
	got, err := p.SubjectRoles(t.Context(), "acme", "user:42")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if !r.Erased {
			t.Errorf("after the erasure, SubjectRoles(user:42) has %+v not erased", r)
		}
	}
	// The e-mail-only actor is a subject of its own.
	rs, err = p.SubjectRoles(t.Context(), "acme", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var live []hashtrail.SubjectRole
	for _, r := range rs {
		if !r.Erased {
			live = append(live, r)
		}
	}
	if n, err := p.ErasePersonal(t.Context(), "acme", live); err != nil || n != 1 {
		t.Errorf("ErasePersonal(alice@example.com) = %d, %v, want 1", n, err)
	}
	if got := searchIDs(t, s, hashtrail.Query{Actor: "alice@example.com"}); len(got) != 0 {
		t.Errorf("after the second erasure, actor alice@example.com finds %v", got)
	}
	if got := searchIDs(t, s, hashtrail.Query{IP: netip.MustParsePrefix("198.51.100.4/32")}); len(got) != 0 {
		t.Errorf("after the second erasure, ip 198.51.100.4 finds %v", got)
	}
	e2, err := s.Event(t.Context(), "acme", "sub-2")
	if err != nil {
		t.Fatal(err)
	}
	checkSealed(t, e2, nil)
}

func testEraseErrors(t *testing.T, s hashtrail.Store, p hashtrail.SubjectStore) {
	subjectEvents(t, s)
	_, err := p.SubjectRoles(t.Context(), "nope", "user:42")
	wantCode(t, err, hashtrail.ENOTFOUND, "SubjectRoles of an unknown tenant")
	_, err = p.SubjectRoles(t.Context(), "acme", "nobody")
	wantCode(t, err, hashtrail.EINVALID, "SubjectRoles of a malformed subject")
	_, err = p.ErasePersonal(t.Context(), "nope", roles(0, "/actor"))
	wantCode(t, err, hashtrail.ENOTFOUND, "ErasePersonal of an unknown tenant")
	_, err = p.ErasePersonal(t.Context(), "acme", roles(0, "/context"))
	wantCode(t, err, hashtrail.EINVALID, "ErasePersonal of an invalid role")
	if n, err := p.ErasePersonal(t.Context(), "acme", roles(0, "/targets/1", 50, "/actor")); err != nil || n != 0 {
		t.Errorf("ErasePersonal of roles without values = %d, %v, want 0", n, err)
	}
}
