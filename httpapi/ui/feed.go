package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

// feedPageSize is how many events a feed page shows.
const feedPageSize = 50

// eventRow is one event of a list, ready to render.
type eventRow struct {
	Ev       *hashtrail.Event
	Base     string // the tenant's pages, with a trailing slash
	Sentence sentence
	Href     string
	Failure  bool
	High     bool // severity high or critical
}

// rowOf prepares ev for a list of tenant's pages.
func rowOf(tenant string, ev *hashtrail.Event) eventRow {
	base := tenantBase(tenant)
	s := describe(ev)
	for i := range s {
		if s[i].Href != "" {
			s[i].Href = base + s[i].Href
		}
	}
	return eventRow{
		Ev: ev, Base: base, Sentence: s, Href: base + "events/" + url.PathEscape(ev.ID),
		Failure: ev.Outcome == hashtrail.OutcomeFailure,
		High:    ev.Severity.Rank() >= hashtrail.SeverityHigh.Rank(),
	}
}

// tenantBase is the root of a tenant's pages, with a trailing slash.
func tenantBase(tenant string) string { return "/ui/t/" + url.PathEscape(tenant) + "/" }

// pathEscape escapes a path segment.
func pathEscape(s string) string { return url.PathEscape(s) }

// timeRanges are the time-range picker's presets.
var timeRanges = []struct{ Key, Label string }{
	{"", "All time"}, {"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"},
}

// rangeDuration reads a relative range as saved searches keep it: a count
// of minutes, hours or days ("15m", "24h", "30d").
func rangeDuration(r string) (time.Duration, bool) {
	if !hashtrail.ValidSearchRange(r) {
		return 0, false
	}
	n, _ := strconv.Atoi(r[:len(r)-1])
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[r[len(r)-1]]
	return time.Duration(n) * unit, true
}

// chip is one active filter, with the link that removes it.
type chip struct {
	Label  string
	Remove string
}

// categoryLink is one entry of the category filter bar.
type categoryLink struct {
	Category hashtrail.Category
	Href     string
	Active   bool
}

// feedData is the feed page's data.
type feedData struct {
	Q          string
	Range      string
	Ranges     []struct{ Key, Label string }
	Chips      []chip
	Categories []categoryLink
	Rows       []eventRow
	Older      string // the next page's URL, or ""
	TopSeq     int64  // the newest event shown, for live updates; -1 if none
	LiveURL    string
	QError     string // a malformed search: the problem
	QErrPos    int    // its 1-based character position, or 0
	QBefore    string // the search split at the position, to mark it
	QAt        string
	QAfter     string
	Actions    []string // for the suggestions
	First      bool     // the first page (live updates apply)
	Columns    []column // a table of these columns instead of sentences
	View       url.Values
	Stats      *viewStats   // the view's chart, when it has group_by or bucket
	Saved      []*savedLink // the tenant's saved searches
	CanSave    bool         // an admin may save this view
	SavedNow   string       // the name of a view just saved
	Exports    []exportLink // downloads of the view (not for viewer tokens)
}

// exportLink is one format to download the view in.
type exportLink struct{ Label, URL string }

// feedSearch is a feed's view as given in the URL: the search, a relative
// time range, and, as a saved search keeps them, the stats to chart
// (group_by, bucket) and the columns of a table.
type feedSearch struct {
	q       string
	rng     string
	search  *query.Search
	groupBy hashtrail.StatsField
	bucket  hashtrail.StatsBucket
	columns []string
}

// parseFeedSearch reads q, range, group_by, bucket and columns. A malformed
// q is returned as the query package's EINVALID error; the view's other
// parameters, when unknown, are left out.
func parseFeedSearch(v url.Values) (*feedSearch, error) {
	fs := &feedSearch{q: strings.TrimSpace(v.Get("q")), rng: v.Get("range")}
	if _, ok := rangeDuration(fs.rng); !ok {
		fs.rng = ""
	}
	if g := hashtrail.StatsField(v.Get("group_by")); g.Valid() {
		fs.groupBy = g
	}
	if b := hashtrail.StatsBucket(v.Get("bucket")); b.Valid() {
		fs.bucket = b
	}
	for c := range strings.SplitSeq(v.Get("columns"), ",") {
		if slices.Contains(hashtrail.SearchColumns, c) && !slices.Contains(fs.columns, c) {
			fs.columns = append(fs.columns, c)
		}
	}
	if fs.q == "" {
		fs.search = &query.Search{}
		return fs, nil
	}
	s, err := query.Parse(fs.q)
	if err != nil {
		return fs, err
	}
	fs.search = s
	return fs, nil
}

// apply puts the filters into q.
func (fs *feedSearch) apply(q *hashtrail.Query, now time.Time) {
	fs.search.Apply(q)
	if d, ok := rangeDuration(fs.rng); ok {
		since := hashtrail.NewTime(now.Add(-d))
		if since.After(q.Since.Time) {
			q.Since = since
		}
	}
}

// link returns the feed URL for search s and range rng, keeping the rest
// of the view (stats and columns).
func (fs *feedSearch) link(tenant string, s *query.Search, rng string) string {
	v := fs.viewParams()
	v.Del("q")
	v.Del("range")
	if qs := query.Format(s); qs != "" {
		v.Set("q", qs)
	}
	if rng != "" {
		v.Set("range", rng)
	}
	if len(v) == 0 {
		return tenantBase(tenant)
	}
	return tenantBase(tenant) + "?" + v.Encode()
}

// without returns s without its term i.
func without(s *query.Search, i int) *query.Search {
	out := &query.Search{}
	out.Terms = append(out.Terms, s.Terms[:i]...)
	out.Terms = append(out.Terms, s.Terms[i+1:]...)
	return out
}

var posRE = regexp.MustCompile(`^position (\d+): (.*)$`)

// feed serves GET /ui/t/{tenant}/: the activity feed, newest first, with
// search, filter chips, a time range and "older" pages by cursor. With
// partial=1 it answers only the rows and the next "older" link, for the
// script's endless scroll. A custom time range (from, to) is folded into
// the search as created:FROM..TO and redirected to, so every view has a
// URL that reproduces it.
func (h *Handler) feed(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	if from, to := v.Get("from"), v.Get("to"); from != "" || to != "" {
		return h.customRange(w, r, tenant, v, from, to)
	}
	d := &feedData{Ranges: timeRanges, Actions: catalogActions(), TopSeq: -1}
	fs, perr := parseFeedSearch(v)
	d.Q, d.Range = fs.q, fs.rng
	if fs.rng != "" && !slices.ContainsFunc(timeRanges, func(x struct{ Key, Label string }) bool { return x.Key == fs.rng }) {
		d.Ranges = append(slices.Clip(timeRanges), struct{ Key, Label string }{fs.rng, rangeLabel(fs.rng)})
	}
	if perr != nil {
		d.setQError(perr)
		return h.render(w, http.StatusBadRequest, "feed", h.frame(r, "Activity", "feed", tenant, d))
	}
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderDesc, Limit: feedPageSize}
	fs.apply(q, h.now())
	if c := v.Get("cursor"); c != "" {
		cur, err := hashtrail.ParseCursor(c)
		if err != nil || cur.Order != hashtrail.OrderDesc {
			return hashtrail.Errorf(hashtrail.EINVALID, "That page link is not valid. Start again from the first page.")
		}
		q.BeforeSeq = &cur.Seq
	} else {
		d.First = true
	}
	list, err := h.svc.Events(r.Context(), q)
	if err != nil {
		return err
	}
	for _, ev := range list.Events {
		d.Rows = append(d.Rows, rowOf(tenant, ev))
	}
	if len(list.Events) > 0 {
		d.TopSeq = list.Events[0].Seq
	}
	if list.NextCursor != "" {
		nv := fs.viewParams()
		nv.Set("cursor", list.NextCursor)
		d.Older = tenantBase(tenant) + "?" + nv.Encode()
	}
	lv := url.Values{}
	if fs.q != "" {
		lv.Set("q", fs.q)
	}
	if fs.rng != "" {
		lv.Set("range", fs.rng)
	}
	d.LiveURL = tenantBase(tenant) + "live?" + lv.Encode()
	d.Columns = columnsOf(fs.columns)
	d.View = fs.viewParams()
	if p := hashtrail.PrincipalFrom(r.Context()); p.Viewer == nil {
		for _, f := range exportFormats {
			ev := url.Values{"format": {f.Key}}
			if fs.q != "" {
				ev.Set("q", fs.q)
			}
			if fs.rng != "" {
				ev.Set("range", fs.rng)
			}
			d.Exports = append(d.Exports, exportLink{Label: f.Label, URL: tenantBase(tenant) + "export?" + ev.Encode()})
		}
	}
	for i, t := range fs.search.Terms {
		d.Chips = append(d.Chips, chip{Label: query.Format(&query.Search{Terms: []query.Term{t}}), Remove: fs.link(tenant, without(fs.search, i), fs.rng)})
	}
	if fs.rng != "" {
		d.Chips = append(d.Chips, chip{Label: rangeLabel(fs.rng), Remove: fs.link(tenant, fs.search, "")})
	}
	d.Categories = categoryLinks(tenant, fs)
	if v.Get("partial") == "1" {
		return h.render(w, http.StatusOK, "rows", h.frame(r, "", "feed", tenant, d))
	}
	if err := h.viewExtras(r, tenant, fs, d); err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "feed", h.frame(r, "Activity", "feed", tenant, d))
}

func rangeLabel(k string) string {
	for _, r := range timeRanges {
		if r.Key == k {
			return r.Label
		}
	}
	return "Last " + k
}

// viewParams are the view's parameters as a URL query.
func (fs *feedSearch) viewParams() url.Values {
	v := url.Values{}
	if fs.q != "" {
		v.Set("q", fs.q)
	}
	if fs.rng != "" {
		v.Set("range", fs.rng)
	}
	if fs.groupBy != "" {
		v.Set("group_by", string(fs.groupBy))
	}
	if fs.bucket != "" {
		v.Set("bucket", string(fs.bucket))
	}
	if len(fs.columns) > 0 {
		v.Set("columns", strings.Join(fs.columns, ","))
	}
	return v
}

// setQError shows a malformed search's problem, marking its position.
func (d *feedData) setQError(err error) {
	msg := hashtrail.ErrorMessage(err)
	if e, ok := err.(*hashtrail.Error); ok && len(e.Fields) > 0 {
		msg = e.Fields[0].Message
	}
	d.QError = msg
	m := posRE.FindStringSubmatch(msg)
	if m == nil {
		return
	}
	pos, _ := strconv.Atoi(m[1])
	rs := []rune(d.Q)
	if pos < 1 || pos > len(rs)+1 {
		return
	}
	d.QErrPos = pos
	d.QError = m[2]
	d.QBefore = string(rs[:pos-1])
	if pos-1 < len(rs) {
		d.QAt = string(rs[pos-1 : pos])
		d.QAfter = string(rs[pos:])
	} else {
		d.QAt = " "
	}
}

// categoryLinks makes the category bar: each link toggles category:X.
func categoryLinks(tenant string, fs *feedSearch) []categoryLink {
	var out []categoryLink
	for _, c := range hashtrail.Categories {
		l := categoryLink{Category: c}
		idx := -1
		for i, t := range fs.search.Terms {
			if t.Field == query.FieldCategory && !t.Not && len(t.Values) == 1 && t.Values[0] == string(c) {
				idx = i
			}
		}
		if idx >= 0 {
			l.Active = true
			l.Href = fs.link(tenant, without(fs.search, idx), fs.rng)
		} else {
			s := &query.Search{Terms: append(append([]query.Term(nil), fs.search.Terms...), query.Term{Field: query.FieldCategory, Values: []string{string(c)}})}
			l.Href = fs.link(tenant, s, fs.rng)
		}
		out = append(out, l)
	}
	return out
}

// customRange folds from and to (dates or date-times) into the search as
// a created: range and redirects to the result.
func (h *Handler) customRange(w http.ResponseWriter, r *http.Request, tenant string, v url.Values, from, to string) error {
	fs, err := parseFeedSearch(v)
	if err != nil {
		return err
	}
	norm := func(s string) string {
		if s == "" {
			return "*"
		}
		if len(s) == len("2006-01-02T15:04") {
			return s + ":00Z"
		}
		return s
	}
	term := fmt.Sprintf("created:%s..%s", norm(from), norm(to))
	add, err := query.Parse(term)
	if err != nil {
		return err
	}
	s := &query.Search{}
	for _, t := range fs.search.Terms {
		if t.Field != query.FieldCreated {
			s.Terms = append(s.Terms, t)
		}
	}
	s.Terms = append(s.Terms, add.Terms...)
	http.Redirect(w, r, fs.link(tenant, s, ""), http.StatusSeeOther)
	return nil
}

// live serves GET /ui/t/{tenant}/live?after=SEQ: how many events newer
// than SEQ match the feed's filters (at most 100), for the script's
// "N new events" pill.
func (h *Handler) live(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	after, err := strconv.ParseInt(v.Get("after"), 10, 64)
	if err != nil || after < -1 {
		return hashtrail.Errorf(hashtrail.EINVALID, "after must be a seq")
	}
	fs, err := parseFeedSearch(v)
	if err != nil {
		return err
	}
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, Limit: 100, AfterSeq: &after}
	fs.apply(q, h.now())
	list, err := h.svc.Events(r.Context(), q)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"count": len(list.Events), "more": list.NextCursor != ""})
}

// catalogActions lists the standard catalog's actions, for suggestions.
func catalogActions() []string {
	out := make([]string, len(hashtrail.Catalog))
	for i, e := range hashtrail.Catalog {
		out[i] = e.Action
	}
	return out
}
