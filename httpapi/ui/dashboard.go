package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// dashRange is one of the dashboard's time windows.
type dashRange struct {
	Key    string
	Label  string
	Span   time.Duration
	Bucket hashtrail.StatsBucket
	Layout string
}

var dashRanges = []dashRange{
	{"24h", "24 hours", 24 * time.Hour, hashtrail.BucketHour, "15:04"},
	{"7d", "7 days", 7 * 24 * time.Hour, hashtrail.BucketDay, "Mon 2"},
	{"30d", "30 days", 30 * 24 * time.Hour, hashtrail.BucketDay, "Jan 2"},
}

// topRow is one row of a top-N table.
type topRow struct {
	Key   string
	Label string
	Href  string
	Count int64
	Share int // percent of the largest, for the bar
}

// dashData is the dashboard's data.
type dashData struct {
	Range        string
	Ranges       []dashRange
	Total        int64
	Failures     int64
	FailedLogins int64
	Volume       *chart
	LoginChart   *chart
	TopActors    []topRow
	TopActions   []topRow
	TopCountries []topRow
	High         []eventRow
	HighFeed     string
	FailFeed     string
}

// dashboard serves GET /ui/t/{tenant}/dashboard: volume over time by
// category, failed sign-ins, the top actors, actions and countries, and
// recent high-severity events, over the last 24 hours, 7 or 30 days.
// Counts come from the stats service, under the principal's own limits.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	rg := dashRanges[2]
	for _, x := range dashRanges {
		if x.Key == r.URL.Query().Get("range") {
			rg = x
		}
	}
	now := h.now()
	since := hashtrail.NewTime(rg.Bucket.Start(now.Add(-rg.Span)))
	base := hashtrail.Query{Tenant: tenant, Since: since}
	ctx := r.Context()
	d := &dashData{Range: rg.Key, Ranges: dashRanges}

	vol, err := h.svc.Stats(ctx, &hashtrail.StatsQuery{Query: base, GroupBy: hashtrail.StatsCategory, Bucket: rg.Bucket, Limit: len(hashtrail.Categories)})
	if err != nil {
		return err
	}
	d.Total = vol.Total
	n := rg.Bucket.Count(since.Time, now, hashtrail.MaxStatsBuckets)
	step := time.Hour
	if rg.Bucket == hashtrail.BucketDay {
		step = 24 * time.Hour
	}
	var ss []series
	for _, c := range hashtrail.Categories {
		ss = append(ss, series{Name: string(c), Class: "c-" + string(c)})
	}
	tc := newTimeChart(now, step, n, len(ss), rg.Layout)
	for _, b := range vol.Buckets {
		for _, g := range b.Groups {
			tc.add(b.Start.Time, slices.Index(hashtrail.Categories, hashtrail.Category(g.Key)), int(g.Count))
		}
	}
	d.Volume = tc.chart("Events by category, last "+rg.Label, ss)

	fq := base
	fq.Outcomes = []hashtrail.Outcome{hashtrail.OutcomeFailure}
	fail, err := h.svc.Stats(ctx, &hashtrail.StatsQuery{Query: fq})
	if err != nil {
		return err
	}
	d.Failures = fail.Total
	lq := fq
	lq.Actions = []string{"user.login", "user.login_failed"}
	logins, err := h.groupStats(ctx, &hashtrail.StatsQuery{Query: lq, Bucket: rg.Bucket, GroupBy: hashtrail.StatsCountry, Limit: 8})
	if err != nil {
		return err
	}
	d.FailedLogins = logins.Total
	lc := newTimeChart(now, step, n, 1, rg.Layout)
	for _, b := range logins.Buckets {
		lc.add(b.Start.Time, 0, int(b.Count))
	}
	d.LoginChart = lc.halfChart("Failed sign-ins, last "+rg.Label, []series{{"failed sign-ins", "fail"}})
	for _, g := range logins.Groups {
		d.TopCountries = append(d.TopCountries, topRow{Key: g.Key, Label: countryName(g.Key), Count: g.Count,
			Href: feedWith(tenant, "action:user.login_failed country:"+g.Key)})
	}
	d.FailFeed = feedWith(tenant, "action:user.login,user.login_failed outcome:failure")

	actors, err := h.groupStats(ctx, &hashtrail.StatsQuery{Query: base, GroupBy: hashtrail.StatsActor, Limit: 8})
	if err != nil {
		return err
	}
	for _, g := range actors.Groups {
		d.TopActors = append(d.TopActors, topRow{Key: g.Key, Label: g.Key, Count: g.Count, Href: tenantBase(tenant) + "people/" + url.PathEscape(g.Key)})
	}
	h.nameActors(r, tenant, d.TopActors)
	actions, err := h.svc.Stats(ctx, &hashtrail.StatsQuery{Query: base, GroupBy: hashtrail.StatsAction, Limit: 8})
	if err != nil {
		return err
	}
	for _, g := range actions.Groups {
		d.TopActions = append(d.TopActions, topRow{Key: g.Key, Label: g.Key, Count: g.Count, Href: feedWith(tenant, "action:"+g.Key)})
	}
	for _, rows := range [][]topRow{d.TopActors, d.TopActions, d.TopCountries} {
		shares(rows)
	}

	high, err := h.svc.Events(ctx, &hashtrail.Query{Tenant: tenant, MinSeverity: hashtrail.SeverityHigh, Order: hashtrail.OrderDesc, Limit: 10})
	if err != nil {
		return err
	}
	for _, ev := range high.Events {
		d.High = append(d.High, rowOf(tenant, ev))
	}
	d.HighFeed = feedWith(tenant, "severity:>=high")
	return h.render(w, http.StatusOK, "dashboard", h.frame(r, "Dashboard", "dashboard", tenant, d))
}

// groupStats counts sq; when the credential may not group by sq's field
// (a viewer token hiding it), it counts without grouping, so the panel
// shows totals and no groups rather than failing the page.
func (h *Handler) groupStats(ctx context.Context, sq *hashtrail.StatsQuery) (*hashtrail.Stats, error) {
	st, err := h.svc.Stats(ctx, sq)
	if hashtrail.ErrorCode(err) == hashtrail.EINVALID && sq.GroupBy != "" {
		plain := *sq
		plain.GroupBy, plain.Limit = "", 0
		return h.svc.Stats(ctx, &plain)
	}
	return st, err
}

// nameActors replaces actor keys by names where the newest event of the
// actor names them (and the principal may see names).
func (h *Handler) nameActors(r *http.Request, tenant string, rows []topRow) {
	for i := range rows {
		list, err := h.svc.Events(r.Context(), &hashtrail.Query{Tenant: tenant, Actor: rows[i].Key, Order: hashtrail.OrderDesc, Limit: 1})
		if err != nil || len(list.Events) == 0 {
			continue
		}
		if a := list.Events[0].Actor; a != nil && (a.Name != "" || a.Email != "") {
			rows[i].Label = actorName(a)
		}
	}
}

// shares sets each row's bar length relative to the first (largest).
func shares(rows []topRow) {
	if len(rows) == 0 || rows[0].Count == 0 {
		return
	}
	for i := range rows {
		rows[i].Share = int(rows[i].Count * 100 / rows[0].Count)
	}
}

// feedWith links to the feed with a search.
func feedWith(tenant, q string) string {
	return tenantBase(tenant) + "?q=" + strings.ReplaceAll(url.QueryEscape(q), "+", "%20")
}
