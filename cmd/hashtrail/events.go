package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
	"github.com/spf13/cobra"
)

// newEventsCmd builds `hashtrail events`: one page of a tenant's events, or
// all of them with --all, as a table or JSON Lines.
func newEventsCmd() *cobra.Command {
	var (
		ff     filterFlags
		limit  int
		order  string
		all    bool
		cursor string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "events --tenant T [filters]",
		Short: "List a tenant's events as a table or JSON Lines",
		Long: `List a tenant's events, newest first, as a readable table or, with --json,
as JSON Lines (one event per line). Filters AND together; values repeated or
separated by commas within one filter are alternatives. Without --all one page
of --limit events is shown and the cursor for the next page goes to stderr.

Reaches Hashtrail offline on the data directory (--data) or through a running
server (--url and --api-key).`,
		Example: `  hashtrail events --tenant acme
  hashtrail events --tenant acme --action user.login --outcome failure --since 24h
  hashtrail events --tenant acme --severity high --ip 203.0.113.0/24 --all --json
  hashtrail events --tenant acme -q 'target:role:admin action:role.* created:>=2026-11-22'
  hashtrail events --tenant acme -q 'actor:alice@example.com action:user.login -country:DE'
  hashtrail events --url http://127.0.0.1:8080 --api-key $KEY --tenant acme --order asc`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	ff.add(cmd)
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 0, "events per page (default 100, at most 1000; 1000 with --all)")
	f.StringVar(&order, "order", "desc", "desc (newest first) or asc (oldest first)")
	f.BoolVar(&all, "all", false, "follow next_cursor to the end of the listing")
	f.StringVar(&cursor, "cursor", "", "continue from the next_cursor of an earlier page")
	f.BoolVar(&asJSON, "json", false, "print JSON Lines, one event per line")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q, err := ff.query(time.Now())
		if err != nil {
			return readable(err)
		}
		switch hashtrail.Order(order) {
		case hashtrail.OrderAsc, hashtrail.OrderDesc:
			q.Order = hashtrail.Order(order)
		default:
			return readable(invalidFlag("--order", "must be asc or desc"))
		}
		if limit < 0 || limit > hashtrail.MaxLimit {
			return readable(invalidFlag("--limit", fmt.Sprintf("must be between 1 and %d", hashtrail.MaxLimit)))
		}
		q.Limit = limit
		if all && limit == 0 {
			q.Limit = hashtrail.MaxLimit
		}
		if _, err := nextPage(q, cursor); err != nil {
			return readable(err)
		}
		return rf.withService(cmd, func(svc service) error {
			out := newEventPrinter(cmd.OutOrStdout(), asJSON)
			for {
				list, err := svc.Events(cmd.Context(), q)
				if err != nil {
					return err
				}
				if err := out.print(list.Events); err != nil {
					return err
				}
				more, err := nextPage(q, list.NextCursor)
				if err != nil || !more {
					if err == nil && out.rows == 0 && !asJSON {
						fmt.Fprintln(cmd.ErrOrStderr(), "no events")
					}
					return err
				}
				if !all {
					fmt.Fprintf(cmd.ErrOrStderr(), "more events: --cursor %s (or --all)\n", list.NextCursor)
					return nil
				}
			}
		})
	}
	return cmd
}

// nextPage sets q to continue after a page whose next_cursor was cursor.
// It reports false at the end of the listing (an empty cursor).
func nextPage(q *hashtrail.Query, cursor string) (bool, error) {
	if cursor == "" {
		return false, nil
	}
	c, err := hashtrail.ParseCursor(cursor)
	if err != nil {
		return false, err
	}
	seq := c.Seq
	q.Order = c.Order
	if c.Order == hashtrail.OrderAsc {
		q.AfterSeq = &seq
	} else {
		q.BeforeSeq = &seq
	}
	return true, nil
}

// filterFlags are the event filters `events` and `tail` share.
type filterFlags struct {
	tenant     string
	actions    []string
	categories []string
	severity   string
	outcomes   []string
	actor      string
	target     string
	ip         string
	since      string
	until      string
	search     string
}

func (ff *filterFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&ff.tenant, "tenant", "", "the tenant whose log to read (required)")
	f.StringSliceVar(&ff.actions, "action", nil, "action, or prefix such as user.* (repeatable)")
	f.StringSliceVar(&ff.categories, "category", nil, "category such as authentication (repeatable)")
	f.StringVar(&ff.severity, "severity", "", "minimum severity: info, low, medium, high, critical")
	f.StringSliceVar(&ff.outcomes, "outcome", nil, "success, failure or unknown (repeatable)")
	f.StringVar(&ff.actor, "actor", "", "actor as type:id (user:42) or an email address")
	f.StringVar(&ff.target, "target", "", "target as type:id (project:7)")
	f.StringVar(&ff.ip, "ip", "", "client IP address or CIDR prefix (203.0.113.0/24)")
	f.StringVar(&ff.since, "since", "", "events at or after this time: RFC 3339, a date, or an age such as 24h or 7d")
	f.StringVar(&ff.until, "until", "", "events before this time (same forms as --since)")
	f.StringVarP(&ff.search, "q", "q", "", `a search, ANDed with the other filters (docs/search.md), e.g. 'action:user.* -outcome:success country:DE "new device"'`)
	_ = cmd.MarkFlagRequired("tenant")
}

// query checks the filters and builds the query they describe; now anchors
// ages such as --since 24h.
func (ff *filterFlags) query(now time.Time) (*hashtrail.Query, error) {
	q := &hashtrail.Query{Tenant: ff.tenant, Actions: ff.actions, Actor: ff.actor, Target: ff.target}
	var errs []hashtrail.FieldError
	bad := func(flag, msg string) { errs = append(errs, hashtrail.FieldError{Field: flag, Message: msg}) }
	if !hashtrail.ValidTenantID(ff.tenant) {
		bad("--tenant", "must match [a-z0-9][a-z0-9._-]{0,62}")
	}
	for _, a := range ff.actions {
		if prefix, ok := strings.CutSuffix(a, ".*"); !hashtrail.ValidAction(a) && !(ok && hashtrail.ValidAction(prefix+".x")) {
			bad("--action", fmt.Sprintf("%q is neither an action such as user.login nor a prefix such as user.*", a))
		}
	}
	for _, c := range ff.categories {
		if !hashtrail.Category(c).Valid() {
			bad("--category", fmt.Sprintf("%q is not a category (%s)", c, enumList(hashtrail.Categories)))
		}
		q.Categories = append(q.Categories, hashtrail.Category(c))
	}
	if ff.severity != "" && !hashtrail.Severity(ff.severity).Valid() {
		bad("--severity", fmt.Sprintf("%q is not a severity (%s)", ff.severity, enumList(hashtrail.Severities)))
	}
	q.MinSeverity = hashtrail.Severity(ff.severity)
	for _, o := range ff.outcomes {
		if !hashtrail.Outcome(o).Valid() {
			bad("--outcome", fmt.Sprintf("%q is not an outcome (%s)", o, enumList(hashtrail.Outcomes)))
		}
		q.Outcomes = append(q.Outcomes, hashtrail.Outcome(o))
	}
	if ff.actor != "" && !hashtrail.ValidActorFilter(ff.actor) {
		bad("--actor", "must be type:id such as user:42, or an email address")
	}
	if ff.target != "" {
		if typ, id, ok := strings.Cut(ff.target, ":"); !ok || typ == "" || id == "" {
			bad("--target", "must be type:id such as project:7")
		}
	}
	if ff.ip != "" {
		p, err := hashtrail.ParseIPFilter(ff.ip)
		if err != nil {
			bad("--ip", err.Error())
		}
		q.IP = p
	}
	var err error
	if q.Since, err = parseWhen(ff.since, now); err != nil {
		bad("--since", err.Error())
	}
	if q.Until, err = parseWhen(ff.until, now); err != nil {
		bad("--until", err.Error())
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until.Time) {
		bad("--until", "must be later than --since")
	}
	if ff.search != "" {
		s, err := query.ParseField("--q", ff.search)
		if e, ok := err.(*hashtrail.Error); ok {
			errs = append(errs, e.Fields...)
		} else {
			s.Apply(q)
		}
	}
	if len(errs) > 0 {
		return nil, flagErrors(errs)
	}
	return q, nil
}

// parseWhen reads an RFC 3339 time, a date (midnight UTC), or an age such as
// 90m, 24h or 7d before now; "" is no bound.
func parseWhen(s string, now time.Time) (hashtrail.Time, error) {
	if s == "" {
		return hashtrail.Time{}, nil
	}
	if t, err := hashtrail.ParseTime(s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return hashtrail.NewTime(t), nil
	}
	if d, err := parseDuration(s); err == nil && d > 0 {
		return hashtrail.NewTime(now.Add(-d)), nil
	}
	return hashtrail.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or an age (24h, 7d)", s)
}

// parseDuration reads a Go duration, or a whole number of days such as 30d.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}

// invalidFlag reports one wrong flag.
func invalidFlag(flag, msg string) error {
	return flagErrors([]hashtrail.FieldError{{Field: flag, Message: msg}})
}

// flagErrors reports wrong flags, one per line.
func flagErrors(errs []hashtrail.FieldError) error {
	msg := "invalid flags"
	if len(errs) == 1 {
		msg = "invalid flag"
	}
	return &hashtrail.Error{Code: hashtrail.EINVALID, Message: msg, Fields: errs}
}

func enumList[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// eventPrinter writes events as JSON Lines or as table rows whose columns
// widen as wider values arrive, so a streamed listing stays aligned without
// buffering it all. It prints the header before the first row.
type eventPrinter struct {
	w      io.Writer
	json   bool
	widths []int
	rows   int
}

var eventHeader = []string{"", "TIME", "SEQ", "ACTION", "OUTCOME", "ACTOR", "TARGETS", "IP"}

// Minimum column widths: the header, or a typical value for the time.
var eventMinWidths = []int{2, 20, 3, 16, 7, 12, 12, 2}

func newEventPrinter(w io.Writer, asJSON bool) *eventPrinter {
	return &eventPrinter{w: w, json: asJSON, widths: append([]int(nil), eventMinWidths...)}
}

// print writes events in order.
func (p *eventPrinter) print(events []*hashtrail.Event) error {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetEscapeHTML(false)
		for _, e := range events {
			if err := enc.Encode(e); err != nil {
				return err
			}
			p.rows++
		}
		return nil
	}
	rows := make([][]string, len(events))
	for i, e := range events {
		rows[i] = eventRow(e)
		for c, v := range rows[i] {
			p.widths[c] = max(p.widths[c], utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	if p.rows == 0 && len(rows) > 0 {
		p.line(&b, eventHeader)
	}
	for _, r := range rows {
		p.line(&b, r)
	}
	p.rows += len(rows)
	_, err := io.WriteString(p.w, b.String())
	return err
}

// line writes one row: text left-aligned, seq right-aligned, two spaces
// between columns, no trailing blanks.
func (p *eventPrinter) line(b *strings.Builder, cells []string) {
	var l strings.Builder
	for c, v := range cells {
		pad := strings.Repeat(" ", p.widths[c]-utf8.RuneCountInString(v))
		switch {
		case c == 0:
			l.WriteString(v + pad)
		case c == 2:
			l.WriteString(pad + v)
		default:
			l.WriteString(v + pad)
		}
		if c < len(cells)-1 {
			l.WriteString("  ")
		}
	}
	b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
}

// eventRow is the table cells of one event. The first cell marks what
// deserves a look: "!!" critical, "!" high severity, "x" a failure.
func eventRow(e *hashtrail.Event) []string {
	mark := ""
	switch e.Severity {
	case hashtrail.SeverityCritical:
		mark = "!!"
	case hashtrail.SeverityHigh:
		mark = "!"
	}
	outcome := string(e.Outcome)
	if e.Outcome == hashtrail.OutcomeFailure {
		if mark == "" {
			mark = "x"
		}
		outcome = "FAILURE"
	}
	actor := dash(e.ActorKey())
	if actor == "-" && e.Actor != nil {
		actor = string(e.Actor.Type)
	}
	targets := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		targets[i] = t.Key()
	}
	ip := ""
	if e.Context != nil {
		ip = e.Context.IP
	}
	return []string{
		mark,
		e.Time.UTC().Format("2006-01-02T15:04:05Z"),
		fmt.Sprint(e.Seq),
		e.Action,
		outcome,
		actor,
		dash(strings.Join(targets, ",")),
		dash(ip),
	}
}

// dash stands in for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
