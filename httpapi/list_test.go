package httpapi_test

import (
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

func seq(n int64) *int64 { return &n }

func ts(s string) hashtrail.Time {
	t, err := hashtrail.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestListQueryParsing(t *testing.T) {
	base := func(f func(q *hashtrail.Query)) *hashtrail.Query {
		q := &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderDesc, Limit: 100}
		if f != nil {
			f(q)
		}
		return q
	}
	ascCursor := hashtrail.Cursor{Seq: 41, Order: hashtrail.OrderAsc}.String()
	descCursor := hashtrail.Cursor{Seq: 7, Order: hashtrail.OrderDesc}.String()
	tests := []struct {
		query string
		want  *hashtrail.Query
	}{
		{"", base(nil)},
		{"action=user.login,user.*&action=role.permission_grant", base(func(q *hashtrail.Query) {
			q.Actions = []string{"user.login", "user.*", "role.permission_grant"}
		})},
		{"action=role.permission.*", base(func(q *hashtrail.Query) { q.Actions = []string{"role.permission.*"} })},
		{"category=authentication,%20data", base(func(q *hashtrail.Query) {
			q.Categories = []hashtrail.Category{hashtrail.CategoryAuthentication, hashtrail.CategoryData}
		})},
		{"severity=high", base(func(q *hashtrail.Query) { q.MinSeverity = hashtrail.SeverityHigh })},
		{"outcome=failure,unknown", base(func(q *hashtrail.Query) {
			q.Outcomes = []hashtrail.Outcome{hashtrail.OutcomeFailure, hashtrail.OutcomeUnknown}
		})},
		{"actor=user:42", base(func(q *hashtrail.Query) { q.Actor = "user:42" })},
		{"actor=" + url.QueryEscape("alice@example.com"), base(func(q *hashtrail.Query) { q.Actor = "alice@example.com" })},
		{"target=project:7", base(func(q *hashtrail.Query) { q.Target = "project:7" })},
		{"ip=203.0.113.9", base(func(q *hashtrail.Query) { q.IP = netip.MustParsePrefix("203.0.113.9/32") })},
		{"ip=203.0.113.77/24", base(func(q *hashtrail.Query) { q.IP = netip.MustParsePrefix("203.0.113.0/24") })},
		{"ip=2001:db8::/32", base(func(q *hashtrail.Query) { q.IP = netip.MustParsePrefix("2001:db8::/32") })},
		{"since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00%2B01:00", base(func(q *hashtrail.Query) {
			q.Since, q.Until = ts("2026-01-01T00:00:00Z"), ts("2026-01-31T23:00:00Z")
		})},
		{"limit=1000", base(func(q *hashtrail.Query) { q.Limit = 1000 })},
		{"action=user.*&since=2026-01-01T00:00:00Z&q=" + url.QueryEscape(`-outcome:success tag:prod created:<2026-01-15 "free text"`),
			base(func(q *hashtrail.Query) {
				q.Actions = []string{"user.*"}
				q.Since, q.Until = ts("2026-01-01T00:00:00Z"), ts("2026-01-15T00:00:00Z")
				q.Terms = []hashtrail.Term{
					{Field: hashtrail.TermOutcome, Values: []string{"success"}, Not: true},
					{Field: hashtrail.TermTag, Values: []string{"prod"}},
					{Field: hashtrail.TermText, Values: []string{"free text"}},
				}
			})},
		{"limit=1&order=asc", base(func(q *hashtrail.Query) { q.Limit, q.Order = 1, hashtrail.OrderAsc })},
		{"order=desc&cursor=" + descCursor, base(func(q *hashtrail.Query) { q.BeforeSeq = seq(7) })},
		{"order=asc&cursor=" + ascCursor, base(func(q *hashtrail.Query) { q.Order, q.AfterSeq = hashtrail.OrderAsc, seq(41) })},
		{"order=asc&after_seq=-1", base(func(q *hashtrail.Query) { q.Order, q.AfterSeq = hashtrail.OrderAsc, seq(-1) })},
		{"after_seq=10&cursor=" + descCursor, base(func(q *hashtrail.Query) { q.AfterSeq, q.BeforeSeq = seq(10), seq(7) })},
		{"action=&limit=&cursor=", base(nil)}, // empty values count as absent
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s := newServer(t)
			rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events?" + tt.query})
			var out api.EventList
			decodeJSON(t, rec, 200, &out)
			got := s.svc.last(t, "Events").args[0].(*hashtrail.Query)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestListQueryErrors(t *testing.T) {
	ascCursor := hashtrail.Cursor{Seq: 41, Order: hashtrail.OrderAsc}.String()
	tests := []struct {
		query  string
		fields []string // every field the 400 must name
	}{
		{"action=User.Login", []string{"action"}},
		{"action=user", []string{"action"}},
		{"action=*", []string{"action"}},
		{"action=user.login,,user.logout", []string{"action"}},
		{"category=auth", []string{"category"}},
		{"severity=urgent", []string{"severity"}},
		{"severity=high&severity=low", []string{"severity"}},
		{"outcome=success,maybe", []string{"outcome"}},
		{"actor=alice", []string{"actor"}},
		{"actor=user:", []string{"actor"}},
		{"target=project", []string{"target"}},
		{"target=:7", []string{"target"}},
		{"ip=203.0.113.300", []string{"ip"}},
		{"ip=10.0.0.0/33", []string{"ip"}},
		{"since=yesterday", []string{"since"}},
		{"until=2026-01-01", []string{"until"}},
		{"since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", []string{"until"}},
		{"limit=0", []string{"limit"}},
		{"limit=1001", []string{"limit"}},
		{"limit=ten", []string{"limit"}},
		{"order=newest", []string{"order"}},
		{"cursor=garbage", []string{"cursor"}},
		{"cursor=" + ascCursor, []string{"cursor"}}, // an asc cursor with the default desc order
		{"order=asc&after_seq=3&cursor=" + ascCursor, []string{"cursor"}},
		{"after_seq=-2", []string{"after_seq"}},
		{"after_seq=x", []string{"after_seq"}},
		{"q=" + url.QueryEscape("acton:user.login"), []string{"q"}},
		{"q=" + url.QueryEscape(`"unterminated`), []string{"q"}},
		{"colour=red&size=9", []string{"colour", "size"}},
		{"limit=0&severity=x&bogus=1", []string{"limit", "severity", "bogus"}},
		{"a=%zz", []string{""}},
		{"category=" + strings.Repeat("data,", 101) + "data", []string{"category"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s := newServer(t)
			p := decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events?" + tt.query}), 400)
			fields := fieldSet(p)
			for _, f := range tt.fields {
				if msg, ok := fields[f]; !ok || msg == "" {
					t.Errorf("no error for %q in %+v", f, p.Errors)
				}
			}
			if len(fields) != len(tt.fields) {
				t.Errorf("errors = %+v, want only %v", p.Errors, tt.fields)
			}
			if s.svc.called("Events") {
				t.Error("an invalid query reached the service")
			}
		})
	}
}

func TestListAnswer(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events"})
	if got := strings.TrimSpace(rec.Body.String()); got != `{"events":[],"next_cursor":""}` {
		t.Errorf("empty list = %s", got)
	}
	s.svc.list = &hashtrail.EventList{
		Events:     []*hashtrail.Event{{ID: "e1", Action: "user.login", Tenant: "acme", Seq: 3, Time: hashtrail.NewTime(time.Unix(0, 0))}},
		NextCursor: "abc",
	}
	var out api.EventList
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events"}), 200, &out)
	if len(out.Events) != 1 || out.Events[0].ID != "e1" || out.NextCursor != "abc" {
		t.Errorf("list = %+v", out)
	}
}

func TestGetEvent(t *testing.T) {
	s := newServer(t)
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/e1"}), 404)
	s.svc.event = &hashtrail.Event{ID: "e1", Action: "user.login", Tenant: "acme"}
	var ev hashtrail.Event
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/e1"}), 200, &ev)
	if ev.ID != "e1" {
		t.Errorf("event = %+v", ev)
	}
	c := s.svc.last(t, "Event")
	if c.args[0] != "acme" || c.args[1] != "e1" {
		t.Errorf("args = %v", c.args)
	}
	p := decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/e1?proof=maybe&x=1"}), 400)
	if f := fieldSet(p); f["proof"] == "" || f["x"] == "" {
		t.Errorf("errors = %+v", p.Errors)
	}
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/bad%20id"}), 404)
}

// TestListSearchError checks that a malformed q is a 400 problem whose
// error names q, the position and the problem.
func TestListSearchError(t *testing.T) {
	s := newServer(t)
	q := url.QueryEscape(`action:user.login acton:x`)
	p := decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events?q=" + q + "&limit=0"}), 400)
	fields := fieldSet(p)
	if want := `position 19: unknown qualifier "acton" (did you mean action?)`; fields["q"] != want {
		t.Errorf("q: %q, want %q", fields["q"], want)
	}
	if fields["limit"] == "" {
		t.Errorf("the other parameters' errors are reported with it: %+v", p.Errors)
	}
}
