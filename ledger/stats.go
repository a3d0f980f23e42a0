package ledger

import (
	"context"
	"fmt"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

var _ hashtrail.StatsService = (*Ledger)(nil)

// Stats counts the events of a tenant that the principal may read (see
// hashtrail.StatsService): the key's scope and a viewer token's filter are
// ANDed into the query, events whose retention has ended are excluded in
// the store's own count (hashtrail.Exclusion), whether or not the purge
// has run, and the groups are ranked and cut here, with the buckets of the
// range filled with zeros so that a chart has every point.
func (l *Ledger) Stats(ctx context.Context, sq *hashtrail.StatsQuery) (*hashtrail.Stats, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, sq.Query.Tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	if err := sq.Check(); err != nil {
		return nil, err
	}
	qq := *sq
	qq.Query.Terms = append([]hashtrail.Term(nil), sq.Query.Terms...)
	qq.Query.AfterSeq, qq.Query.BeforeSeq, qq.Query.Limit, qq.Query.Order = nil, nil, 0, ""
	if qq.Limit == 0 {
		qq.Limit = hashtrail.DefaultStatsLimit
	}
	if err := scopeQuery(p, &qq.Query); err != nil {
		return nil, err
	}
	if p != nil && p.Viewer != nil && qq.GroupBy != "" {
		if f := hiddenGroup(p.Viewer, qq.GroupBy); f != "" {
			return nil, &hashtrail.Error{Code: hashtrail.EINVALID, Message: "this viewer token cannot group by a hidden field",
				Fields: []hashtrail.FieldError{{Field: "group_by", Message: fmt.Sprintf("groups by %s, which this token hides", f)}}}
		}
	}
	since, until := qq.Query.Since.Time, qq.Query.Until.Time
	if qq.Bucket != "" && !since.IsZero() && !until.IsZero() && qq.Bucket.Count(since, until, hashtrail.MaxStatsBuckets) < 0 {
		return nil, tooManyBuckets(qq.Bucket)
	}
	r, err := l.retentionFor(ctx, qq.Query.Tenant)
	if err != nil {
		return nil, err
	}
	if qq.Exclude, err = l.liveExclusions(ctx, qq.Query.Tenant, append(qq.Exclude, r.exclusions(l.now())...)); err != nil {
		return nil, err
	}
	st, err := l.store.Stats(ctx, &qq)
	if err != nil {
		return nil, err
	}
	if err := shapeStats(st, &qq); err != nil {
		return nil, err
	}
	l.recordRead(ctx, p, qq.Query.Tenant, &qq.Query, 0)
	return st, nil
}

// liveExclusions drops the exclusions that no stored event can meet:
// those whose ReceivedBefore is not after the oldest stored event's
// received_at. Retention relies on received_at growing with seq, as the
// purge's scan does (mayExpire). A count without exclusions can be
// answered from the stores' per-hour counts, so a tenant whose events are
// all younger than its shortest keep gets its dashboard fast.
func (l *Ledger) liveExclusions(ctx context.Context, tenant string, xs []hashtrail.Exclusion) ([]hashtrail.Exclusion, error) {
	if len(xs) == 0 {
		return xs, nil
	}
	oldest, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, Limit: 1})
	if err != nil || len(oldest) == 0 {
		return nil, err
	}
	first := oldest[0].ReceivedAt
	out := xs[:0:0]
	for _, x := range xs {
		if x.ReceivedBefore.IsZero() || first.Before(x.ReceivedBefore.Time) {
			out = append(out, x)
		}
	}
	return out, nil
}

// hiddenGroup returns the hidden field that grouping by f would reveal,
// or "".
func hiddenGroup(v *hashtrail.ViewerScope, f hashtrail.StatsField) string {
	paths := map[hashtrail.StatsField][]string{
		hashtrail.StatsAction:   {"action"},
		hashtrail.StatsCategory: {"category"},
		hashtrail.StatsOutcome:  {"outcome"},
		hashtrail.StatsSeverity: {"severity"},
		// An actor known only by address has the key "email:<address>".
		hashtrail.StatsActor:   {"actor.type", "actor.id", "actor.email"},
		hashtrail.StatsTarget:  {"targets"},
		hashtrail.StatsCountry: {"context.location.country"},
	}[f]
	for _, path := range paths {
		if v.Hides(path) {
			return path
		}
	}
	return ""
}

func tooManyBuckets(b hashtrail.StatsBucket) error {
	return &hashtrail.Error{Code: hashtrail.EINVALID, Message: "too many time buckets",
		Fields: []hashtrail.FieldError{{Field: "bucket", Message: fmt.Sprintf(
			"a %s bucket over this time range gives more than %d buckets; use a coarser bucket or a narrower since..until", b, hashtrail.MaxStatsBuckets)}}}
}

// shapeStats cuts st's groups to the top sq.Limit (counting the rest in
// OtherGroups), keeps only those groups within each bucket, and fills the
// buckets of the range with zeros: from since (else the first non-empty
// bucket) to until (else the last non-empty bucket).
func shapeStats(st *hashtrail.Stats, sq *hashtrail.StatsQuery) error {
	hashtrail.SortGroups(st.Groups)
	top := map[string]bool{}
	if len(st.Groups) > sq.Limit {
		for _, g := range st.Groups[sq.Limit:] {
			st.OtherGroups += g.Count
		}
		st.Groups = st.Groups[:sq.Limit]
	}
	for _, g := range st.Groups {
		top[g.Key] = true
	}
	if st.Groups == nil {
		st.Groups = []hashtrail.StatsGroup{}
	}
	if sq.Bucket == "" {
		st.Buckets = []hashtrail.StatsBucketCount{}
		return nil
	}
	have := map[time.Time]hashtrail.StatsBucketCount{}
	var first, last time.Time
	for _, b := range st.Buckets {
		var gs []hashtrail.StatsGroup
		for _, g := range b.Groups {
			if top[g.Key] {
				gs = append(gs, g)
			}
		}
		hashtrail.SortGroups(gs)
		b.Groups = gs
		have[b.Start.Time] = b
		if first.IsZero() || b.Start.Before(first) {
			first = b.Start.Time
		}
		if b.Start.After(last) {
			last = b.Start.Time
		}
	}
	start, end := first, last
	if !sq.Query.Since.IsZero() {
		start = sq.Bucket.Start(sq.Query.Since.Time)
	}
	if !sq.Query.Until.IsZero() {
		end = sq.Bucket.Start(sq.Query.Until.Add(-time.Microsecond))
	} else if !sq.Query.Since.IsZero() && last.IsZero() {
		end = time.Time{} // nothing matched after since: no buckets
	}
	out := []hashtrail.StatsBucketCount{}
	if start.IsZero() || end.IsZero() || end.Before(start) {
		st.Buckets = out
		return nil
	}
	for s := start; !s.After(end); s = sq.Bucket.Next(s) {
		if len(out) == hashtrail.MaxStatsBuckets {
			return tooManyBuckets(sq.Bucket)
		}
		b, ok := have[s]
		if !ok {
			b = hashtrail.StatsBucketCount{Start: hashtrail.NewTime(s)}
		}
		out = append(out, b)
	}
	st.Buckets = out
	return nil
}

// exclusions returns the events retention no longer keeps at now, as
// exclusions for a count: for each rule in order (the first that matches
// an event sets its keep), the events it matches, matched by no earlier
// rule, received before its keep's end; then the same for the default
// keep and the events no rule matches. Held events and the announcements
// of erasures and purges are never excluded. Months and years count back
// from now on the calendar (time.Time.AddDate), which agrees with
// Keep.Expired but for the few days at the end of a month that month
// arithmetic folds into the next (31 January plus one month is 3 March).
func (r *retention) exclusions(now time.Time) []hashtrail.Exclusion {
	if r == nil || !r.finite {
		return nil
	}
	always := []hashtrail.Query{{Actions: []string{"system.subject_erased", "system.retention_purge"}}}
	for _, h := range r.holds {
		always = append(always, *h.q)
	}
	var out []hashtrail.Exclusion
	var earlier []hashtrail.Query
	add := func(match hashtrail.Query, k hashtrail.Keep) {
		if r.floor != nil && !k.AtLeast(*r.floor) {
			k = *r.floor
		}
		if k.IsForever() {
			return
		}
		unless := append(append([]hashtrail.Query(nil), earlier...), always...)
		out = append(out, hashtrail.Exclusion{Match: match, ReceivedBefore: hashtrail.NewTime(keepCutoff(k, now)), Unless: unless})
	}
	for _, ru := range r.rules {
		add(*ru.q, ru.keep)
		earlier = append(earlier, *ru.q)
	}
	add(hashtrail.Query{}, r.def)
	return out
}

// keepCutoff returns the instant before which events received are past k
// at now (Keep.Expired: received + k <= now).
func keepCutoff(k hashtrail.Keep, now time.Time) time.Time {
	now = now.UTC().Truncate(time.Microsecond)
	var c time.Time
	switch k.Unit {
	case hashtrail.KeepDays:
		c = now.Add(-time.Duration(k.N) * 24 * time.Hour)
	case hashtrail.KeepMonths:
		c = now.AddDate(0, -k.N, 0)
	case hashtrail.KeepYears:
		c = now.AddDate(-k.N, 0, 0)
	}
	return c.Add(time.Microsecond)
}
