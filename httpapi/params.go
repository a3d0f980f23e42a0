package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

// maxFilterValues bounds the alternatives of one list filter (action=a,b,...).
const maxFilterValues = 100

// maxFilterLen bounds one filter value, such as an actor or target.
const maxFilterLen = 512

// params reads a query string strictly and collects every problem as a
// field error, so that one 400 names them all.
type params struct {
	v    url.Values
	errs []hashtrail.FieldError
}

// queryParams parses r's query string and reports every parameter not in
// allowed. Parameters given with an empty value count as absent.
func queryParams(r *http.Request, allowed ...string) (*params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "", Message: "the query string is malformed"}})
	}
	p := &params{v: v}
	var unknown []string
	for k := range v {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	takes := "this route takes no query parameters"
	if len(allowed) > 0 {
		takes = "this route takes " + strings.Join(allowed, ", ")
	}
	for _, k := range unknown {
		p.fail(fmt.Sprintf("%.64s", k), "unknown query parameter; "+takes)
	}
	return p, nil
}

func (p *params) fail(field, msg string) {
	p.errs = append(p.errs, hashtrail.FieldError{Field: field, Message: msg})
}

// err returns the collected problems as one EINVALID error, or nil.
func (p *params) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return hashtrail.InvalidFields(p.errs)
}

// one returns the value of a parameter that may be given once ("" if absent).
func (p *params) one(name string) string {
	vs := p.v[name]
	if len(vs) > 1 {
		p.fail(name, "is given more than once")
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// list returns the comma-separated values of every occurrence of name.
func (p *params) list(name string) []string {
	var out []string
	for _, v := range p.v[name] {
		if v == "" {
			continue
		}
		for e := range strings.SplitSeq(v, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				p.fail(name, "has an empty entry; separate values with single commas")
				return nil
			}
			out = append(out, e)
		}
	}
	if len(out) > maxFilterValues {
		p.fail(name, fmt.Sprintf("has %d values; the limit is %d", len(out), maxFilterValues))
		return nil
	}
	return out
}

// bool reads true/false (also 1/0); absent is false.
func (p *params) bool(name string) bool {
	s := p.one(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail(name, "must be true or false")
	}
	return b
}

// notYet rejects a parameter the API defines but this server does not serve yet.
func (p *params) notYet(name string) {
	if p.one(name) != "" {
		p.fail(name, "is not supported yet")
	}
}

// Parameters of GET /v1/tenants/{t}/events.
var listEventsParams = []string{
	"action", "category", "severity", "outcome", "actor", "target", "ip",
	"since", "until", "limit", "cursor", "order", "after_seq", "q",
}

// actionPrefixRE matches the part before ".*" of an action prefix filter.
var actionPrefixRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// parseEventQuery reads the filters of GET /v1/tenants/{t}/events.
func parseEventQuery(r *http.Request, tenant string) (*hashtrail.Query, error) {
	p, err := queryParams(r, listEventsParams...)
	if err != nil {
		return nil, err
	}
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderDesc, Limit: hashtrail.DefaultLimit}
	for _, a := range p.list("action") {
		prefix, isPrefix := strings.CutSuffix(a, ".*")
		if isPrefix && actionPrefixRE.MatchString(prefix) || !isPrefix && hashtrail.ValidAction(a) {
			q.Actions = append(q.Actions, a)
			continue
		}
		p.fail("action", fmt.Sprintf("%.80q is neither an action such as user.login nor a prefix such as user.*", a))
	}
	for _, c := range p.list("category") {
		if cat := hashtrail.Category(c); cat.Valid() {
			q.Categories = append(q.Categories, cat)
		} else {
			p.fail("category", fmt.Sprintf("%.80q is not a category; use %s", c, enumList(hashtrail.Categories)))
		}
	}
	if s := p.one("severity"); s != "" {
		if q.MinSeverity = hashtrail.Severity(s); !q.MinSeverity.Valid() {
			p.fail("severity", "must be one of "+enumList(hashtrail.Severities))
		}
	}
	for _, o := range p.list("outcome") {
		if out := hashtrail.Outcome(o); out.Valid() {
			q.Outcomes = append(q.Outcomes, out)
		} else {
			p.fail("outcome", fmt.Sprintf("%.80q is not an outcome; use %s", o, enumList(hashtrail.Outcomes)))
		}
	}
	if a := p.one("actor"); a != "" {
		if len(a) > maxFilterLen || !hashtrail.ValidActorFilter(a) {
			p.fail("actor", "must be type:id such as user:42, or an email address")
		}
		q.Actor = a
	}
	if t := p.one("target"); t != "" {
		typ, id, ok := strings.Cut(t, ":")
		if len(t) > maxFilterLen || !ok || typ == "" || id == "" {
			p.fail("target", "must be type:id such as project:7")
		}
		q.Target = t
	}
	if s := p.one("ip"); s != "" {
		if q.IP, err = hashtrail.ParseIPFilter(s); err != nil {
			p.fail("ip", err.Error())
		}
	}
	q.Since = p.time("since")
	q.Until = p.time("until")
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until.Time) {
		p.fail("until", "must be later than since")
	}
	if s := p.one("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > hashtrail.MaxLimit {
			p.fail("limit", fmt.Sprintf("must be an integer from 1 to %d", hashtrail.MaxLimit))
		}
		q.Limit = n
	}
	switch o := p.one("order"); o {
	case "", string(hashtrail.OrderDesc):
	case string(hashtrail.OrderAsc):
		q.Order = hashtrail.OrderAsc
	default:
		p.fail("order", "must be asc or desc")
	}
	p.seqBounds(q)
	p.search(q)
	if err := p.err(); err != nil {
		return nil, err
	}
	return q, nil
}

// search reads q, a search (DESIGN §4, package query), and ANDs it into
// q's filters. Its error names the field q and the position.
func (p *params) search(q *hashtrail.Query) {
	s := p.one("q")
	if s == "" {
		return
	}
	sr, err := query.Parse(s)
	if e, ok := err.(*hashtrail.Error); ok {
		p.errs = append(p.errs, e.Fields...)
		return
	}
	sr.Apply(q)
}

// seqBounds reads cursor and after_seq into q.AfterSeq and q.BeforeSeq.
func (p *params) seqBounds(q *hashtrail.Query) {
	if s := p.one("after_seq"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < -1 {
			p.fail("after_seq", "must be an integer of at least -1")
		} else {
			q.AfterSeq = &n
		}
	}
	s := p.one("cursor")
	if s == "" {
		return
	}
	c, err := hashtrail.ParseCursor(s)
	switch {
	case err != nil:
		p.fail("cursor", "is not a cursor this server issued; pass next_cursor back unchanged")
	case c.Order != q.Order:
		p.fail("cursor", fmt.Sprintf("continues a listing with order=%s; pass the same order", c.Order))
	case c.Order == hashtrail.OrderDesc:
		q.BeforeSeq = &c.Seq
	case q.AfterSeq != nil:
		p.fail("cursor", "give either cursor or after_seq with order=asc, not both")
	default:
		q.AfterSeq = &c.Seq
	}
}

// time reads an RFC 3339 time.
func (p *params) time(name string) hashtrail.Time {
	s := p.one(name)
	if s == "" {
		return hashtrail.Time{}
	}
	t, err := hashtrail.ParseTime(s)
	if err != nil {
		p.fail(name, err.Error())
	}
	return t
}

// enumList writes an enum's values as "a, b, c".
func enumList[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
