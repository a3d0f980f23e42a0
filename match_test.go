package hashtrail_test

import (
	"encoding/json"
	"testing"

	"github.com/hashtrail/hashtrail"
)

func TestQueryMatch(t *testing.T) {
	e := &hashtrail.Event{
		Tenant: "acme", ID: "e1", Seq: 5, Action: "user.login", Category: hashtrail.CategoryAuthentication,
		Severity: hashtrail.SeverityHigh, Outcome: hashtrail.OutcomeFailure,
		Actor:       &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "Alice@Example.com", Name: "Alice Liddell"},
		Targets:     []hashtrail.Target{{Type: "project", ID: "7", Name: "Payments"}},
		Context:     &hashtrail.Context{IP: "::ffff:203.0.113.9", Location: &hashtrail.Location{Country: "DE"}},
		Tags:        []string{"prod"},
		Metadata:    json.RawMessage(`{"plan":"pro","n":2,"ok":false,"z":null,"o":{"k":"v"}}`),
		Description: "Alice signed in",
	}
	e.Time = hashtrail.TimeFromMicros(1_000_000)
	term := func(f hashtrail.TermField, v ...string) hashtrail.Term { return hashtrail.Term{Field: f, Values: v} }
	for _, c := range []struct {
		q    hashtrail.Query
		want bool
	}{
		{hashtrail.Query{}, true},
		{hashtrail.Query{Tenant: "other"}, false},
		{hashtrail.Query{Since: hashtrail.TimeFromMicros(1_000_000)}, true},
		{hashtrail.Query{Until: hashtrail.TimeFromMicros(1_000_000)}, false},
		{hashtrail.Query{AfterSeq: new(int64(5))}, false},
		{hashtrail.Query{BeforeSeq: new(int64(6))}, true},
		{hashtrail.Query{Actions: []string{"user.*"}, MinSeverity: hashtrail.SeverityMedium, Actor: "alice@example.COM"}, true},
		{hashtrail.Query{MinSeverity: hashtrail.SeverityCritical}, false},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermIP, "203.0.113.0/24")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermIP, "::ffff:203.0.113.0/120")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermIP, "2001:db8::/32")}}, false},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermCountry, "de")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermTarget, "project:*"), term(hashtrail.TermTag, "prod")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermTag, Values: []string{"prod"}, Not: true}}}, false},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "n", Values: []string{"2.0"}}}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "ok", Values: []string{"false"}}}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "z", Values: []string{"null"}}}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "o.k", Values: []string{"v"}}}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "o", Values: []string{"*"}}}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "o", Values: []string{"v"}}}}, false},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermText, "example.com")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermText, "signed in")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermText, "in signed")}}, false},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermText, "liddell ali*")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermText, "plan")}}, false},
		{hashtrail.Query{Terms: []hashtrail.Term{term(hashtrail.TermText, "2")}}, true},
		{hashtrail.Query{Terms: []hashtrail.Term{term("bogus", "x")}}, false},
	} {
		if got := c.q.Match(e); got != c.want {
			t.Errorf("%+v: Match = %v, want %v", c.q, got, c.want)
		}
	}
	if got := hashtrail.SearchText(e); got != "Alice signed in\nAlice Liddell\nAlice@Example.com\nPayments\n2\nv\npro" {
		t.Errorf("SearchText = %q", got)
	}
}
