package ledger_test

import (
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestRedactionAtIngest(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	op := t.Context()
	for _, id := range []string{"acme", "raw"} {
		if _, err := l.CreateTenant(op, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	off := false
	if _, err := l.SetRedactionRules(op, "raw", &hashtrail.RedactionRules{SecretNames: &off, Patterns: []string{}}, 0); err != nil {
		t.Fatal(err)
	}
	const ev = `{"id":"e1","action":"user.update","actor":{"type":"user","id":"1"},
		"description":"pushed with ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"metadata":{"password":"hunter2","plan":"pro","nested":{"api_key":"k-123","card":"4111 1111 1111 1111","order":"4111111111111112"},
		"list":["xoxb-1234567890-abcdefghij","AKIAIOSFODNN7EXAMPLE","fine"]},
		"changes":[{"field":"user.password","old":"a","new":"b"},{"field":"user.name","old":"a","new":"b"}]}`
	for _, tenant := range []string{"acme", "raw"} {
		if _, err := ingest(t, op, l, tenant, ev); err != nil {
			t.Fatal(err)
		}
	}
	e, err := l.Event(op, "acme", "e1")
	if err != nil {
		t.Fatal(err)
	}
	md := string(e.Metadata)
	for _, secret := range []string{"hunter2", "k-123", "4111 1111", "xoxb-", "AKIA"} {
		if strings.Contains(md, secret) || strings.Contains(e.Description, secret) {
			t.Errorf("%q stored: %s %s", secret, md, e.Description)
		}
	}
	if !strings.Contains(md, `"plan":"pro"`) || !strings.Contains(md, "4111111111111112") || !strings.Contains(md, `"fine"`) {
		t.Errorf("too much redacted: %s", md)
	}
	if e.Description != hashtrail.RedactedValue || !e.Changes[0].Redacted || e.Changes[0].Old != nil || e.Changes[1].Redacted {
		t.Errorf("description %q changes %+v", e.Description, e.Changes)
	}
	tags := strings.Join(e.Tags, " ")
	for _, want := range []string{"redacted", "redacted:metadata.password", "redacted:metadata.nested.api_key", "redacted:metadata.nested.card", "redacted:metadata.list[0]", "redacted:description", "redacted:changes[0]"} {
		if !strings.Contains(" "+tags+" ", " "+want+" ") {
			t.Errorf("tag %q missing: %s", want, tags)
		}
	}
	// The log proves the redacted event: the stored leaf hash is the one the
	// verifier recomputes from the answer.
	leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hashtrail.LeafHash(leaf); got != e.LeafHash {
		t.Errorf("leaf hash %s, stored %s", got, e.LeafHash)
	}
	// A search cannot find the secret either.
	list, err := l.Events(op, &hashtrail.Query{Tenant: "acme", Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"hunter2"}}}})
	if err != nil || len(list.Events) != 0 {
		t.Errorf("search found the secret: %v %v", list, err)
	}
	// A tenant that turned redaction off keeps the values.
	raw, err := l.Event(op, "raw", "e1")
	if err != nil || !strings.Contains(string(raw.Metadata), "hunter2") || len(raw.Tags) != 0 {
		t.Errorf("raw tenant: %s %v %v", raw.Metadata, raw.Tags, err)
	}
	if _, err := l.SetRedactionRules(op, "raw", &hashtrail.RedactionRules{Patterns: []string{"nosuch"}, Custom: []string{"("}}, 1); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("bad rules: %v", err)
	}
	if _, err := l.SetRedactionRules(as(t.Context(), "raw", hashtrail.RoleRead), "raw", &hashtrail.RedactionRules{}, 1); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("read key set rules: %v", err)
	}
}
