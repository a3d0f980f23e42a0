package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/hashtrail/hashtrail"
)

// TestReindexAfterErasure checks that once an event's personal values are
// erased, reindexForSearch leaves no trace of them in the full-text index:
// a search finds nothing, and the index's own pages no longer hold the
// words (secure-delete), while the event's other words stay searchable.
func TestReindexAfterErasure(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := &hashtrail.Event{
		ID: "e1", Tenant: "acme", Time: hashtrail.TimeFromMicros(1), ReceivedAt: hashtrail.TimeFromMicros(2),
		Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
		Outcome:     hashtrail.OutcomeSuccess,
		Actor:       &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Name: "Quetzalcoatl Zyzzyva", Email: "xanthippe@example.com"},
		Context:     &hashtrail.Context{IP: "203.0.113.5", Location: &hashtrail.Location{Country: "GR"}},
		Description: "signed in with a passkey",
	}
	g := &hashtrail.AppendGroup{CreateTenants: true, Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte("h")}}}
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{g}); err != nil || g.Err != nil {
		t.Fatal(err, g.Err)
	}
	count := func(text string) int {
		evs, err := s.Events(t.Context(), &hashtrail.Query{Tenant: "acme",
			Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{text}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	inPages := func(word string) int {
		var n int
		if err := s.r.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM event_text_data WHERE instr(block, ?) > 0)
			+ (SELECT count(*) FROM event_text_idx WHERE instr(term, ?) > 0)
			+ (SELECT count(*) FROM event_text_content WHERE instr(c0, ?) > 0)`, word, word, word).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	email := keyWord("e", "xanthippe@example.com") // the word of keys
	if inPages(email) == 0 {
		t.Fatal("before erasure: the email's word of keys is in no index page")
	}
	for _, w := range []string{"xanthippe", "zyzzyva", "passkey"} {
		if count(w) != 1 || inPages(w) == 0 {
			t.Fatalf("before erasure: %q found %d times, in %d index pages", w, count(w), inPages(w))
		}
	}
	err = s.write(t.Context(), func(tx *wtx) error {
		if _, err := tx.exec(`UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = 1
			WHERE role = '/actor'`); err != nil {
			return err
		}
		return reindexForSearch(tx, 1, "acme", []int64{0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := inPages(email); p != 0 {
		t.Errorf("after erasure: the email's word of keys is in %d index pages", p)
	}
	for _, w := range []string{"xanthippe", "zyzzyva"} {
		if n, p := count(w), inPages(w); n != 0 || p != 0 {
			t.Errorf("after erasure: %q found %d times, in %d index pages", w, n, p)
		}
	}
	if count("passkey") != 1 {
		t.Error("after erasure: the description is no longer searchable")
	}
	var country any
	if err := s.r.QueryRowContext(t.Context(), `SELECT country FROM events`).Scan(&country); err != nil || country != nil {
		t.Errorf("after erasure: country %v, %v", country, err)
	}
}
