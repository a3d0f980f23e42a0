package sqlite_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// TestEraseLeavesNoTrace writes a person's distinctive e-mail, name and ip
// among other people's events, erases the person, and greps every file of
// the data directory (database, -wal, -shm) for them.
func TestEraseLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenAt(t, filepath.Join(dir, "hashtrail.db"))
	defer s.Close()
	const (
		email = "zanzibar.quokka@example.org"
		name  = "Quokkazanzibar Xylophonist"
		ip    = "203.0.113.177"
	)
	now := hashtrail.NewTime(time.Now())
	var events []*hashtrail.Event
	for i := range 300 {
		e := &hashtrail.Event{
			ID: fmt.Sprintf("ev-%03d", i), Tenant: "acme", Action: "user.login",
			Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
			Time: now, ReceivedAt: now,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(1000 + i), Name: fmt.Sprintf("Other Person %d", i), Email: fmt.Sprintf("other%d@example.net", i)},
			Context: &hashtrail.Context{IP: fmt.Sprintf("192.0.2.%d", i%250), UserAgent: "curl/8"},
		}
		if i%7 == 3 {
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "77", Name: name, Email: email}
			e.Context = &hashtrail.Context{IP: ip, UserAgent: "Quokka-Browser/1.0"}
		}
		if i%11 == 5 {
			e.Targets = []hashtrail.Target{{Type: "user", ID: "77", Name: name}}
		}
		events = append(events, e)
	}
	g := &hashtrail.AppendGroup{CreateTenants: true}
	for i, e := range events {
		g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID + fmt.Sprint(i))})
	}
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{g}); err != nil || g.Err != nil {
		t.Fatalf("Append: %v, %v", err, g.Err)
	}
	raw := rawNeedles(email, name, ip)
	if len(grepDir(t, dir, raw)) == 0 {
		t.Fatalf("before the erasure the data directory holds none of the values: the test would prove nothing")
	}
	rs, err := s.SubjectRoles(t.Context(), "acme", "user:77")
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.ErasePersonal(t.Context(), "acme", rs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("erased %d roles", n)
	if found := grepDir(t, dir, raw); len(found) > 0 {
		t.Errorf("after the erasure: %v", found)
		if d := os.Getenv("HASHTRAIL_KEEP"); d != "" {
			os.CopyFS(d, os.DirFS(dir))
		}
	}
	// Other people are still there.
	if len(grepDir(t, dir, rawNeedles("other5@example.net"))) == 0 {
		t.Errorf("another person's e-mail is gone too")
	}
}

func rawNeedles(vs ...string) map[string][]byte {
	m := map[string][]byte{}
	for _, v := range vs {
		m[v] = []byte(v)
		if a, err := netip.ParseAddr(v); err == nil {
			b := a.As16()
			m[v+" (16 bytes)"] = b[:]
		}
		for _, w := range hashtrail.SearchTokens(v) {
			if len(w) > 4 && w != "example" { // other people's e-mails hold "example"
				m[v+" word "+w] = []byte(w)
			}
		}
	}
	return m
}

// grepDir returns "file: needle" for every needle found in a file of dir.
func grepDir(t *testing.T, dir string, needles map[string][]byte) []string {
	t.Helper()
	var found []string
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range needles {
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower(v)) {
				found = append(found, filepath.Base(f)+": "+k)
			}
		}
	}
	return found
}
