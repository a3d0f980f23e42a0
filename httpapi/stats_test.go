package httpapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func (f *fakeService) Stats(ctx context.Context, sq *hashtrail.StatsQuery) (*hashtrail.Stats, error) {
	if err := f.record(ctx, "Stats", sq); err != nil {
		return nil, err
	}
	return &hashtrail.Stats{Total: 3, Groups: []hashtrail.StatsGroup{{Key: "user.login", Count: 3}}, Buckets: []hashtrail.StatsBucketCount{}}, nil
}

func TestStatsQueryParsing(t *testing.T) {
	tests := []struct {
		query string
		want  hashtrail.StatsQuery
	}{
		{"", hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderDesc, Limit: 100}}},
		{"group_by=category&bucket=day&limit=5&since=2026-01-01T00:00:00Z&q=" + url.QueryEscape("actor:user:1 -outcome:success"),
			hashtrail.StatsQuery{GroupBy: hashtrail.StatsCategory, Bucket: hashtrail.BucketDay, Limit: 5, Query: hashtrail.Query{
				Tenant: "acme", Order: hashtrail.OrderDesc, Limit: 100, Since: ts("2026-01-01T00:00:00Z"),
				Terms: []hashtrail.Term{{Field: hashtrail.TermActor, Values: []string{"user:1"}}, {Field: hashtrail.TermOutcome, Values: []string{"success"}, Not: true}}}}},
		{"group_by=target&action=user.*", hashtrail.StatsQuery{GroupBy: hashtrail.StatsTarget,
			Query: hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderDesc, Limit: 100, Actions: []string{"user.*"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s := newServer(t)
			rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/stats?" + tt.query})
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := s.svc.last(t, "Stats").args[0].(*hashtrail.StatsQuery)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("query = %+v\nwant %+v", *got, tt.want)
			}
			var st hashtrail.Stats
			if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.Total != 3 || len(st.Groups) != 1 {
				t.Errorf("answer %s: %v", rec.Body, err)
			}
		})
	}
}

func TestStatsQueryErrors(t *testing.T) {
	tests := []struct {
		query  string
		fields []string
	}{
		{"group_by=ip", []string{"group_by"}},
		{"group_by=action,actor", []string{"group_by"}},
		{"bucket=second", []string{"bucket"}},
		{"bucket=day&bucket=hour", []string{"bucket"}},
		{"limit=0", []string{"limit"}},
		{"limit=1001", []string{"limit"}},
		{"cursor=abc&order=asc&after_seq=3", []string{"cursor", "order", "after_seq"}},
		{"q=" + url.QueryEscape("acton:x"), []string{"q"}},
		{"category=auth&group_by=colour&bogus=1", []string{"category", "group_by", "bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s := newServer(t)
			p := decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/stats?" + tt.query}), 400)
			fields := fieldSet(p)
			for _, f := range tt.fields {
				if msg, ok := fields[f]; !ok || msg == "" {
					t.Errorf("no error for %q in %+v", f, p.Errors)
				}
			}
			if len(fields) != len(tt.fields) {
				t.Errorf("errors = %+v, want only %v", p.Errors, tt.fields)
			}
			if s.svc.called("Stats") {
				t.Error("an invalid query reached the service")
			}
		})
	}
}
