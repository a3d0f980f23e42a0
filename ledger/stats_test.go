package ledger_test

import (
	"fmt"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// TestStats checks the engine's side of stats against the listing: the
// same events counted as listed (retention at query time, holds, key
// scopes, viewer tokens), top groups cut with the rest in other, buckets
// filled with zeros, and the refusals.
func TestStats(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l, _ := MustOpen(t, ledger.Config{Now: clock.Now})
	op := t.Context()
	if _, err := l.CreateTenant(op, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	var raws []string
	for i := range 30 {
		action := []string{"user.login", "user.logout", "project.update"}[i%3]
		raws = append(raws, fmt.Sprintf(`{"id":"e%d","time":"2026-02-%02dT10:00:00Z","action":%q,"actor":{"type":"user","id":"%d"},"targets":[{"type":"project","id":"%d"}],"context":{"ip":"203.0.113.%d","location":{"country":"DE"}}}`,
			i, 1+i%28, action, i%4, i%2, i))
	}
	if _, err := ingest(t, op, l, "acme", raws...); err != nil {
		t.Fatal(err)
	}
	admin := as(op, "acme", hashtrail.RoleAdmin)
	stats := func(sq *hashtrail.StatsQuery) *hashtrail.Stats {
		t.Helper()
		sq.Query.Tenant = "acme"
		st, err := l.Stats(admin, sq)
		if err != nil {
			t.Fatalf("Stats(%+v): %v", sq, err)
		}
		return st
	}
	st := stats(&hashtrail.StatsQuery{GroupBy: hashtrail.StatsAction, Limit: 2})
	if st.Total != 30 || len(st.Groups) != 2 || st.Groups[0].Count != 10 || st.OtherGroups != 10 {
		t.Errorf("by action, top 2: %+v", st)
	}
	if len(st.Buckets) != 0 {
		t.Errorf("buckets without bucket: %+v", st.Buckets)
	}

	since, until := time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	st = stats(&hashtrail.StatsQuery{Query: hashtrail.Query{Since: hashtrail.NewTime(since), Until: hashtrail.NewTime(until)},
		GroupBy: hashtrail.StatsTarget, Bucket: hashtrail.BucketDay})
	if len(st.Buckets) != 31 || st.Buckets[0].Count != 0 || !st.Buckets[0].Start.Equal(since) || st.Buckets[2].Count != 2 {
		t.Errorf("day buckets of 30 Jan..1 Mar: %d buckets, first %+v, third %+v", len(st.Buckets), st.Buckets[0], st.Buckets[2])
	}
	var sum int64
	for _, b := range st.Buckets {
		sum += b.Count
	}
	if sum != st.Total || st.Total != 30 {
		t.Errorf("buckets sum to %d, total %d, want 30", sum, st.Total)
	}
	if _, err := l.Stats(admin, &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme", Since: hashtrail.NewTime(since), Until: hashtrail.NewTime(until)},
		Bucket: hashtrail.BucketMinute}); !hasField(err, "bucket") {
		t.Errorf("minute buckets over a month: %v, want EINVALID naming bucket", err)
	}
	if _, err := l.Stats(admin, &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme"}, Bucket: hashtrail.BucketMinute}); !hasField(err, "bucket") {
		t.Errorf("minute buckets over the events' month: %v, want EINVALID naming bucket", err)
	}

	// A key scope and a viewer token count only within their filters; the
	// token may not group by a field it hides.
	scoped, err := l.CreateKey(admin, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead, Scope: &hashtrail.KeyScope{Filter: "action:user.*"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Authenticate(op, scoped.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := l.Stats(hashtrail.WithPrincipal(op, p), &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme"}}); err != nil || st.Total != 20 {
		t.Errorf("scoped key: %+v, %v; want 20", st, err)
	}
	tok, err := l.CreateViewerToken(admin, &hashtrail.ViewerTokenRequest{Tenant: "acme", Filter: "target:project:1", HiddenFields: []string{"context.location"}})
	if err != nil {
		t.Fatal(err)
	}
	vp, err := l.Authenticate(op, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	v := hashtrail.WithPrincipal(op, vp)
	if st, err := l.Stats(v, &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme"}, GroupBy: hashtrail.StatsTarget}); err != nil || st.Total != 15 || len(st.Groups) != 1 || st.Groups[0].Key != "project:1" {
		t.Errorf("viewer token: %+v, %v; want 15 events of project:1", st, err)
	}
	if _, err := l.Stats(v, &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme"}, GroupBy: hashtrail.StatsCountry}); !hasField(err, "group_by") {
		t.Errorf("viewer token by a hidden country: %v, want EINVALID naming group_by", err)
	}
	if _, err := l.Stats(as(op, "globex", hashtrail.RoleAdmin), &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme"}}); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("another tenant's key: %v, want ENOTFOUND", err)
	}

	// Retention: past their keep, events are no longer counted, before
	// the purge has run; held ones and the announcements still are.
	if _, err := l.PutRetention(admin, "acme", &hashtrail.RetentionPolicy{Rules: []hashtrail.RetentionRule{
		{Name: "logins", Action: "user.login", Keep: hashtrail.MustKeep("30d")},
	}, Default: hashtrail.MustKeep("90d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddHold(admin, "acme", &hashtrail.LegalHold{Filter: "actor:user:3", Reason: "case 1"}); err != nil {
		t.Fatal(err)
	}
	before := stats(&hashtrail.StatsQuery{}).Total // 30 and the self-audit events
	clock.Add(31 * 24 * time.Hour)
	listed := len(listAll(t, op, l, "acme", 100))
	after := stats(&hashtrail.StatsQuery{GroupBy: hashtrail.StatsAction})
	if after.Total != int64(listed) || after.Total != before-7 {
		t.Errorf("after 31 days: %d counted, %d listed, want %d (10 logins expired but the 3 of the held user:3)", after.Total, listed, before-7)
	}
	clock.Add(60 * 24 * time.Hour)
	if got := stats(&hashtrail.StatsQuery{}).Total; got != 7 {
		t.Errorf("after 91 days: %d counted, want the 7 held events of user:3", got)
	}
}

func hasField(err error, field string) bool {
	e, ok := err.(*hashtrail.Error)
	if !ok || e.Code != hashtrail.EINVALID {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
