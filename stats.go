package hashtrail

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StatsField names what stats group events by.
type StatsField string

// The fields stats can group by. Each group's key is the field's value as
// the search syntax writes it: the action; the category, outcome or
// severity name; the actor's key (Event.ActorKey, "user:42"); a target's
// key ("project:7"; an event with several targets counts once in each of
// its distinct targets' groups); the country code, upper-case. An event
// without the field (no actor, no target, no country, or one erased) is in
// no group, though it counts in Total and in its bucket.
const (
	StatsAction   StatsField = "action"
	StatsCategory StatsField = "category"
	StatsActor    StatsField = "actor"
	StatsTarget   StatsField = "target"
	StatsOutcome  StatsField = "outcome"
	StatsCountry  StatsField = "country"
	StatsSeverity StatsField = "severity"
)

// StatsFields lists every field stats can group by.
var StatsFields = []StatsField{StatsAction, StatsCategory, StatsActor, StatsTarget, StatsOutcome, StatsCountry, StatsSeverity}

// Valid reports whether f is one of StatsFields.
func (f StatsField) Valid() bool { return oneOf(f, StatsFields) }

// StatsBucket is the width of the time buckets of stats, over the event's
// time on the UTC calendar.
type StatsBucket string

// The bucket widths. A week starts on Monday 00:00 UTC (ISO 8601); a month
// on the first day of the month.
const (
	BucketMinute StatsBucket = "minute"
	BucketHour   StatsBucket = "hour"
	BucketDay    StatsBucket = "day"
	BucketWeek   StatsBucket = "week"
	BucketMonth  StatsBucket = "month"
)

// StatsBuckets lists every bucket width, finest first.
var StatsBuckets = []StatsBucket{BucketMinute, BucketHour, BucketDay, BucketWeek, BucketMonth}

// Valid reports whether b is one of StatsBuckets.
func (b StatsBucket) Valid() bool { return oneOf(b, StatsBuckets) }

// Stats limits.
const (
	// DefaultStatsLimit is how many top groups stats return by default.
	DefaultStatsLimit = 10
	// MaxStatsLimit bounds StatsQuery.Limit.
	MaxStatsLimit = 1000
	// MaxStatsBuckets bounds how many buckets one answer may span, so that
	// a minute bucket over a year is refused rather than computed.
	MaxStatsBuckets = 1000
)

// Start returns the start of the bucket of width b that holds t.
func (b StatsBucket) Start(t time.Time) time.Time {
	t = t.UTC()
	switch b {
	case BucketMinute:
		return t.Truncate(time.Minute)
	case BucketHour:
		return t.Truncate(time.Hour)
	case BucketDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case BucketWeek:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case BucketMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// Next returns the start of the bucket after the one starting at start.
func (b StatsBucket) Next(start time.Time) time.Time {
	switch b {
	case BucketMinute:
		return start.Add(time.Minute)
	case BucketHour:
		return start.Add(time.Hour)
	case BucketDay:
		return start.AddDate(0, 0, 1)
	case BucketWeek:
		return start.AddDate(0, 0, 7)
	case BucketMonth:
		return start.AddDate(0, 1, 0)
	}
	return start
}

// Count returns how many buckets of width b the time range [since, until)
// spans, or -1 if more than limit.
func (b StatsBucket) Count(since, until time.Time, limit int) int {
	n := 0
	for s := b.Start(since); s.Before(until); s = b.Next(s) {
		if n++; n > limit {
			return -1
		}
	}
	return n
}

// StatsQuery asks for counts of the events of Query.Tenant that match
// Query (every filter; its Order, Limit and seq bounds do not apply),
// grouped by GroupBy and counted per Bucket when set.
type StatsQuery struct {
	Query Query
	// GroupBy is the field to group by, "" for none.
	GroupBy StatsField
	// Bucket is the width of time buckets, "" for none.
	Bucket StatsBucket
	// Limit is how many groups to return, the largest counts first (ties
	// by key); 0 means DefaultStatsLimit.
	Limit int
	// Exclude lists events not to count whatever the filter says: the
	// engine puts here those whose retention has ended but which the purge
	// has not deleted yet. Stores must apply it exactly (see Exclusion).
	Exclude []Exclusion
}

// Exclusion describes events a count leaves out: those that match Match
// (every term of Match.AllTerms; its time and seq bounds are ignored) and
// were received before ReceivedBefore (no bound if zero), unless one of
// Unless matches them (terms only, as Match).
type Exclusion struct {
	Match          Query
	ReceivedBefore Time
	Unless         []Query
}

// Excludes reports whether x leaves e out.
func (x *Exclusion) Excludes(e *Event) bool {
	if !x.ReceivedBefore.IsZero() && !e.ReceivedAt.Before(x.ReceivedBefore.Time) {
		return false
	}
	if !termsOnly(&x.Match).Match(e) {
		return false
	}
	for i := range x.Unless {
		if termsOnly(&x.Unless[i]).Match(e) {
			return false
		}
	}
	return true
}

// termsOnly returns q without its tenant, time and seq bounds.
func termsOnly(q *Query) *Query {
	qq := *q
	qq.Tenant, qq.Since, qq.Until, qq.AfterSeq, qq.BeforeSeq = "", Time{}, Time{}, nil, nil
	return &qq
}

// Stats is the answer to a StatsQuery (GET /v1/tenants/{t}/stats).
type Stats struct {
	// Total counts every event that matched.
	Total int64 `json:"total"`
	// Groups are the top groups, by count (largest first), then key.
	Groups []StatsGroup `json:"groups"`
	// Buckets are the time buckets in order, each with its count and, when
	// grouping, the counts of the top groups within it.
	Buckets []StatsBucketCount `json:"buckets"`
	// OtherGroups counts the events in groups beyond the top Limit ones
	// (an event with several targets counts once per target).
	OtherGroups int64 `json:"other,omitempty"`
}

// StatsGroup is one group of a Stats.
type StatsGroup struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// StatsBucketCount is one time bucket of a Stats.
type StatsBucketCount struct {
	Start  Time         `json:"start"`
	Count  int64        `json:"count"`
	Groups []StatsGroup `json:"groups,omitempty"`
}

// StatsStore counts events.
type StatsStore interface {
	// Stats counts the events of sq.Query.Tenant that match sq.Query and no
	// Exclusion of sq.Exclude: Total; with GroupBy, the count of every
	// group (all of them, not only the top ones: the engine ranks and cuts
	// them) sorted by count descending then key; with Bucket, the count of
	// every non-empty bucket in order, and with both, each bucket's count
	// per group in Groups (any order). ENOTFOUND for an unknown tenant;
	// EINVALID for an invalid field or bucket. It reads one snapshot.
	Stats(ctx context.Context, sq *StatsQuery) (*Stats, error)
}

// StatsService serves GET /v1/tenants/{t}/stats.
type StatsService interface {
	// Stats counts the events the principal in ctx may read: the key's
	// scope and a viewer token's filter are ANDed into the query, events
	// past their retention are never counted, and a viewer token may not
	// group by a field it hides (EINVALID naming group_by). EINVALID
	// naming bucket when the time range spans more than MaxStatsBuckets.
	Stats(ctx context.Context, sq *StatsQuery) (*Stats, error)
}

// GroupKeys returns the keys of e for field f, as Stats groups them: none
// when e lacks the field.
func GroupKeys(e *Event, f StatsField) []string {
	switch f {
	case StatsAction:
		return []string{e.Action}
	case StatsCategory:
		return []string{string(e.Category)}
	case StatsOutcome:
		return []string{string(e.Outcome)}
	case StatsSeverity:
		return []string{string(e.Severity)}
	case StatsActor:
		if k := e.ActorKey(); k != "" {
			return []string{k}
		}
	case StatsCountry:
		if e.Context != nil && e.Context.Location != nil && e.Context.Location.Country != "" {
			return []string{strings.ToUpper(e.Context.Location.Country)}
		}
	case StatsTarget:
		var keys []string
		for _, t := range e.Targets {
			if k := t.Key(); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		return keys
	}
	return nil
}

// CountStats counts events in memory as a StatsStore must: it is the
// contract of StatsStore.Stats in code, which store/storetest checks
// stores against. events are every event of the tenant, read whole.
func CountStats(events []*Event, sq *StatsQuery) (*Stats, error) {
	if err := sq.Check(); err != nil {
		return nil, err
	}
	st := &Stats{}
	groups := map[string]int64{}
	type bk struct {
		start time.Time
		key   string
	}
	buckets := map[time.Time]int64{}
	cells := map[bk]int64{}
	for _, e := range events {
		if !sq.Query.Match(e) || slices.ContainsFunc(sq.Exclude, func(x Exclusion) bool { return x.Excludes(e) }) {
			continue
		}
		st.Total++
		var start time.Time
		if sq.Bucket != "" {
			start = sq.Bucket.Start(e.Time.Time)
			buckets[start]++
		}
		if sq.GroupBy == "" {
			continue
		}
		for _, k := range GroupKeys(e, sq.GroupBy) {
			groups[k]++
			if sq.Bucket != "" {
				cells[bk{start, k}]++
			}
		}
	}
	for k, n := range groups {
		st.Groups = append(st.Groups, StatsGroup{Key: k, Count: n})
	}
	SortGroups(st.Groups)
	for s, n := range buckets {
		st.Buckets = append(st.Buckets, StatsBucketCount{Start: NewTime(s), Count: n})
	}
	slices.SortFunc(st.Buckets, func(a, b StatsBucketCount) int { return a.Start.Compare(b.Start.Time) })
	for i := range st.Buckets {
		b := &st.Buckets[i]
		for c, n := range cells {
			if c.start.Equal(b.Start.Time) {
				b.Groups = append(b.Groups, StatsGroup{Key: c.key, Count: n})
			}
		}
		SortGroups(b.Groups)
	}
	return st, nil
}

// SortGroups sorts groups by count, largest first, then by key.
func SortGroups(gs []StatsGroup) {
	slices.SortFunc(gs, func(a, b StatsGroup) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// Check reports an invalid group field, bucket or limit as EINVALID naming
// the parameter (group_by, bucket, limit).
func (sq *StatsQuery) Check() error {
	var fe []FieldError
	if sq.GroupBy != "" && !sq.GroupBy.Valid() {
		fe = append(fe, FieldError{Field: "group_by", Message: fmt.Sprintf("%.40q is not a field stats group by; use %s", sq.GroupBy, joinEnum(StatsFields))})
	}
	if sq.Bucket != "" && !sq.Bucket.Valid() {
		fe = append(fe, FieldError{Field: "bucket", Message: fmt.Sprintf("%.40q is not a bucket; use %s", sq.Bucket, joinEnum(StatsBuckets))})
	}
	if sq.Limit < 0 || sq.Limit > MaxStatsLimit {
		fe = append(fe, FieldError{Field: "limit", Message: fmt.Sprintf("must be from 1 to %d", MaxStatsLimit)})
	}
	if len(fe) > 0 {
		return InvalidFields(fe)
	}
	return nil
}
