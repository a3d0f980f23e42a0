package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// A feed's view beyond the search: the chart of its stats (group_by,
// bucket), a table of chosen columns, and the tenant's saved searches,
// which reopen such views by URL (hashtrail.SavedSearch.ViewURL).

// column is one column of the feed's table view.
type column struct {
	Name  string // a hashtrail.SearchColumns entry
	Label string
}

var columnLabels = map[string]string{
	"time": "Time", "action": "Action", "category": "Category", "severity": "Severity", "outcome": "Outcome",
	"actor": "Actor", "targets": "Targets", "description": "Description", "context.ip": "IP address",
	"context.location": "Location", "context.user_agent": "User agent", "service": "Service", "tags": "Tags",
	"id": "ID", "seq": "Seq",
}

func columnsOf(names []string) []column {
	var out []column
	for _, n := range names {
		out = append(out, column{Name: n, Label: columnLabels[n]})
	}
	return out
}

// cellValue is one cell of the table view.
type cellValue struct {
	Text string
	Href string
	Code bool
	Time hashtrail.Time // set for the time column
}

// cell returns the value of column col of row.
func cell(col string, row eventRow) cellValue {
	ev := row.Ev
	switch col {
	case "time":
		return cellValue{Time: ev.Time, Href: row.Href}
	case "action":
		return cellValue{Text: ev.Action, Href: row.Href, Code: true}
	case "category":
		return cellValue{Text: string(ev.Category)}
	case "severity":
		return cellValue{Text: string(ev.Severity)}
	case "outcome":
		return cellValue{Text: string(ev.Outcome)}
	case "actor":
		c := cellValue{Text: actorName(ev.Actor)}
		if k := ev.ActorKey(); k != "" {
			c.Href = row.Base + "people/" + url.PathEscape(k)
		}
		return c
	case "targets":
		var names []string
		for _, t := range ev.Targets {
			names = append(names, t.Type+" "+targetName(t))
		}
		return cellValue{Text: strings.Join(names, ", ")}
	case "description":
		if ev.Description != "" {
			return cellValue{Text: ev.Description}
		}
		return cellValue{Text: row.Sentence.String()}
	case "context.ip":
		if ev.Context != nil {
			return cellValue{Text: ev.Context.IP, Code: true}
		}
	case "context.location":
		if ev.Context != nil && ev.Context.Location != nil {
			l := ev.Context.Location
			return cellValue{Text: strings.Join(nonEmpty(l.City, l.Region, l.Country), ", ")}
		}
	case "context.user_agent":
		if ev.Context != nil && ev.Context.UserAgent != "" {
			return cellValue{Text: deviceOf(ev.Context.UserAgent)}
		}
	case "service":
		if ev.Service != nil {
			return cellValue{Text: strings.Join(nonEmpty(ev.Service.Name, ev.Service.Environment), " · ")}
		}
	case "tags":
		return cellValue{Text: strings.Join(ev.Tags, ", ")}
	case "id":
		return cellValue{Text: ev.ID, Href: row.Href, Code: true}
	case "seq":
		return cellValue{Text: strconv.FormatInt(ev.Seq, 10)}
	}
	return cellValue{}
}

// viewStats is the chart and top groups of a view with stats.
type viewStats struct {
	Caption string
	Total   int64
	Chart   *chart
	Top     []topRow
	Head    string
	Problem string // why the stats could not be counted
}

// maxSeries is how many groups a stacked chart shows; the rest is "other".
const maxSeries = 6

// bucketLayouts label buckets by their width.
var bucketLayouts = map[hashtrail.StatsBucket]string{
	hashtrail.BucketMinute: "15:04", hashtrail.BucketHour: "Jan 2 15h", hashtrail.BucketDay: "Jan 2",
	hashtrail.BucketWeek: "Jan 2", hashtrail.BucketMonth: "Jan 2006",
}

// seriesClasses colour a chart's groups.
var seriesClasses = []string{"c-authentication", "c-authorization", "c-account", "c-access", "c-configuration", "c-data", "c-system"}

// viewExtras adds the view's stats and the saved searches to the feed.
func (h *Handler) viewExtras(r *http.Request, tenant string, fs *feedSearch, d *feedData) error {
	ctx := r.Context()
	p := hashtrail.PrincipalFrom(ctx)
	if list, err := h.svc.SavedSearches(ctx, tenant); err == nil {
		here := tenantBase(tenant)
		if v := fs.viewParams(); len(v) > 0 {
			here += "?" + v.Encode()
		}
		for _, s := range list.Searches {
			d.Saved = append(d.Saved, &savedLink{ID: s.ID, Name: s.Name, URL: s.URL, Active: s.URL == here})
		}
	}
	d.CanSave = p.Role == hashtrail.RoleAdmin && p.Viewer == nil
	d.SavedNow = r.URL.Query().Get("saved")
	if fs.groupBy == "" && fs.bucket == "" {
		return nil
	}
	q := hashtrail.Query{Tenant: tenant}
	fs.apply(&q, h.now())
	sq := &hashtrail.StatsQuery{Query: q, GroupBy: fs.groupBy, Bucket: fs.bucket, Limit: maxSeries}
	vs := &viewStats{Caption: "Events", Head: columnLabels[string(fs.groupBy)]}
	if vs.Head == "" {
		vs.Head = strings.ToUpper(string(fs.groupBy[:1])) + string(fs.groupBy[1:])
	}
	d.Stats = vs
	st, err := h.svc.Stats(ctx, sq)
	switch {
	case hashtrail.ErrorCode(err) == hashtrail.EINVALID:
		vs.Problem = hashtrail.ErrorMessage(err)
		if e, ok := err.(*hashtrail.Error); ok && len(e.Fields) > 0 {
			vs.Problem = e.Fields[0].Field + " " + e.Fields[0].Message
		}
		return nil
	case err != nil:
		return err
	}
	vs.Total = st.Total
	if fs.groupBy != "" {
		vs.Caption = "Events by " + string(fs.groupBy)
		for _, g := range st.Groups {
			row := topRow{Key: g.Key, Label: g.Key, Count: g.Count, Href: feedWith(tenant, string(fs.groupBy)+":"+g.Key)}
			switch fs.groupBy {
			case hashtrail.StatsActor:
				row.Href = tenantBase(tenant) + "people/" + url.PathEscape(g.Key)
			case hashtrail.StatsCountry:
				row.Label = countryName(g.Key)
			case hashtrail.StatsTarget:
				if typ, id, ok := strings.Cut(g.Key, ":"); ok {
					row.Href = tenantBase(tenant) + targetHref(hashtrail.Target{Type: typ, ID: id})
				}
			}
			vs.Top = append(vs.Top, row)
		}
		shares(vs.Top)
	}
	if fs.bucket != "" {
		vs.Chart = bucketChart(st, fs, q.Since.Time, h.now())
	}
	return nil
}

// bucketChart charts a stats answer's buckets from since (or its first
// bucket) to now, stacked by its top groups.
func bucketChart(st *hashtrail.Stats, fs *feedSearch, since, now time.Time) *chart {
	b := fs.bucket
	if since.IsZero() && len(st.Buckets) > 0 {
		since = st.Buckets[0].Start.Time
	}
	if since.IsZero() {
		since = now
	}
	var ss []series
	for i, g := range st.Groups {
		ss = append(ss, series{Name: g.Key, Class: seriesClasses[i%len(seriesClasses)]})
	}
	other := len(ss)
	ss = append(ss, series{Name: "all", Class: "c-resource"})
	if fs.groupBy != "" {
		ss[other].Name = "other"
	}
	tc := &timeChart{nseries: len(ss), format: bucketLayouts[b]}
	for s := b.Start(since); s.Before(now) && len(tc.starts) < hashtrail.MaxStatsBuckets; s = b.Next(s) {
		tc.starts = append(tc.starts, s)
		tc.counts = append(tc.counts, make([]int, len(ss)))
	}
	tc.n = len(tc.starts)
	for _, bc := range st.Buckets {
		i, ok := slices.BinarySearchFunc(tc.starts, bc.Start.Time, time.Time.Compare)
		if !ok {
			continue
		}
		rest := bc.Count
		for _, g := range bc.Groups {
			if j := slices.IndexFunc(st.Groups, func(x hashtrail.StatsGroup) bool { return x.Key == g.Key }); j >= 0 {
				tc.counts[i][j] += int(g.Count)
				rest -= g.Count
			}
		}
		if rest > 0 && fs.groupBy != hashtrail.StatsTarget { // targets count an event once per target
			tc.counts[i][other] += int(rest)
		}
	}
	return tc.layout("Events per "+string(b), ss, chartFull)
}

// savedLink is one saved search in the feed's list.
type savedLink struct {
	ID, Name, URL string
	Active        bool
}

// saveSearch serves POST /ui/t/{tenant}/searches: it saves the view the
// form carries (an admin act, audited by the service) and opens it.
func (h *Handler) saveSearch(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	f := url.Values{}
	for _, k := range []string{"q", "range", "group_by", "bucket", "columns"} {
		f.Set(k, r.PostFormValue(k))
	}
	fs, err := parseFeedSearch(f)
	if err != nil {
		return err
	}
	s := &hashtrail.SavedSearch{Name: strings.TrimSpace(r.PostFormValue("name")), Query: fs.q, Range: fs.rng,
		GroupBy: fs.groupBy, Bucket: fs.bucket, Columns: fs.columns}
	saved, err := h.svc.CreateSavedSearch(r.Context(), tenant, s)
	if err != nil {
		return err
	}
	target := saved.URL
	if target == "" {
		target = saved.ViewURL()
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+"saved="+url.QueryEscape(saved.Name), http.StatusSeeOther)
	return nil
}

// deleteSearch serves POST /ui/t/{tenant}/searches/{id}/delete.
func (h *Handler) deleteSearch(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteSavedSearch(r.Context(), tenant, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, tenantBase(tenant), http.StatusSeeOther)
	return nil
}
