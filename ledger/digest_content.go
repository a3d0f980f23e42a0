package ledger

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strings"
	texttemplate "text/template"

	hashtrail "github.com/hashtrail/hashtrail"
)

// What a digest says: counts by category, then sections of
// security-relevant events (authentication failures, credential and 2FA
// changes, role and permission changes, key changes, high-severity
// events, alerts fired), each with its count and its latest events linked
// to the web UI.

// Limits of one digest.
const (
	digestMaxScan     = 200000 // events read; past it the digest says so
	digestPerSection  = 10     // events listed per section
	digestPageEvents  = 1000
	digestTimeDisplay = "2006-01-02 15:04 UTC"
)

// digestSection is one section of a digest.
type digestSection struct {
	Title  string
	Count  int
	Events []digestLine
}

// digestLine is one listed event.
type digestLine struct {
	Time, Action, Actor, Outcome, Severity, ID, URL string
}

// digestSummary is the content of one digest.
type digestSummary struct {
	Total      int
	Truncated  bool
	Categories []digestCount
	Sections   []*digestSection
}

type digestCount struct {
	Key   string
	Count int
}

// digestKinds classify events into sections; an event may be in several.
var digestKinds = []struct {
	title string
	match func(e *hashtrail.Event) bool
}{
	{"Authentication failures", func(e *hashtrail.Event) bool {
		return e.Category == hashtrail.CategoryAuthentication && e.Outcome == hashtrail.OutcomeFailure
	}},
	{"Password and two-factor changes", func(e *hashtrail.Event) bool {
		return containsAny(e.Action, "password", "2fa", "mfa", "totp", "otp", "webauthn", "passkey", "recovery_code", "two_factor")
	}},
	{"Role and permission changes", func(e *hashtrail.Event) bool {
		return e.Category == hashtrail.CategoryAuthorization || containsAny(e.Action, "role", "permission", "member", "grant", "privilege")
	}},
	{"Key and token changes", func(e *hashtrail.Event) bool {
		return containsAny(e.Action, "api_key", "key.", "token", "secret", "credential", "ssh_key", "deploy_key")
	}},
	{"High and critical severity", func(e *hashtrail.Event) bool {
		return e.Severity == hashtrail.SeverityHigh || e.Severity == hashtrail.SeverityCritical
	}},
	{"Alerts fired", func(e *hashtrail.Event) bool { return e.Action == hashtrail.ActionAlertFired }},
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// summarise reads tenant's events with time in [from, until) and sums
// them up, keeping the latest events of each section.
func (l *Ledger) summarise(ctx context.Context, tenant string, from, until hashtrail.Time) (*digestSummary, error) {
	sum := &digestSummary{}
	cats := map[string]int{}
	secs := make([]*digestSection, len(digestKinds))
	for i, k := range digestKinds {
		secs[i] = &digestSection{Title: k.title}
	}
	var before *int64
	for sum.Total < digestMaxScan {
		q := &hashtrail.Query{Tenant: tenant, Since: from, Until: until, Order: hashtrail.OrderDesc, Limit: digestPageEvents, BeforeSeq: before}
		evs, err := l.store.Events(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			sum.Total++
			cats[string(e.Category)]++
			for i, k := range digestKinds {
				if !k.match(e) {
					continue
				}
				secs[i].Count++
				if len(secs[i].Events) < digestPerSection {
					secs[i].Events = append(secs[i].Events, l.digestLine(e))
				}
			}
		}
		if len(evs) < digestPageEvents {
			break
		}
		s := evs[len(evs)-1].Seq
		before = &s
		if sum.Total >= digestMaxScan {
			sum.Truncated = true
		}
	}
	for k, n := range cats {
		sum.Categories = append(sum.Categories, digestCount{k, n})
	}
	slices.SortFunc(sum.Categories, func(a, b digestCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Key, b.Key)
	})
	sum.Sections = secs
	return sum, nil
}

func (l *Ledger) digestLine(e *hashtrail.Event) digestLine {
	actor := ""
	if e.Actor != nil {
		switch {
		case e.Actor.Name != "":
			actor = e.Actor.Name
		case e.Actor.Email != "":
			actor = e.Actor.Email
		default:
			actor = string(e.Actor.Type) + ":" + e.Actor.ID
		}
	}
	return digestLine{
		Time: e.Time.UTC().Format(digestTimeDisplay), Action: e.Action, Actor: actor,
		Outcome: string(e.Outcome), Severity: string(e.Severity), ID: e.ID, URL: l.eventURL(e.Tenant, e.ID),
	}
}

var digestText = texttemplate.Must(texttemplate.New("digest").Parse(`Hashtrail {{.Kind}} digest for tenant {{.Tenant}}
{{.From}} to {{.Until}}

{{.Sum.Total}} events{{if .Sum.Truncated}} (at least; the digest stopped counting){{end}}.
{{range .Sum.Categories}}  {{printf "%-16s" .Key}} {{.Count}}
{{end}}
{{- range .Sum.Sections}}
{{.Title}}: {{.Count}}
{{- range .Events}}
  {{.Time}}  {{.Action}}  {{.Actor}}  {{.Outcome}}/{{.Severity}}
    {{if .URL}}{{.URL}}{{else}}event {{.ID}}{{end}}
{{- end}}
{{end}}{{if .All}}
All events: {{.All}}
{{end}}`))

var digestHTML = template.Must(template.New("digest").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<h2>Hashtrail {{.Kind}} digest for tenant {{.Tenant}}</h2>
<p>{{.From}} to {{.Until}}: <strong>{{.Sum.Total}}</strong> events{{if .Sum.Truncated}} (at least){{end}}.</p>
<table>{{range .Sum.Categories}}<tr><td>{{.Key}}</td><td align="right">{{.Count}}</td></tr>{{end}}</table>
{{range .Sum.Sections}}
<h3>{{.Title}}: {{.Count}}</h3>
{{if .Events}}<table cellpadding="3">
{{range .Events}}<tr><td>{{.Time}}</td><td>{{if .URL}}<a href="{{.URL}}">{{.Action}}</a>{{else}}{{.Action}}{{end}}</td><td>{{.Actor}}</td><td>{{.Outcome}}</td><td>{{.Severity}}</td></tr>
{{end}}</table>{{end}}
{{end}}
{{if .All}}<p><a href="{{.All}}">All events</a></p>{{end}}
</body></html>
`))

// digestMail renders a digest.
func (l *Ledger) digestMail(rep *hashtrail.DigestReport, sum *digestSummary) (*hashtrail.Mail, error) {
	kind, _, _ := strings.Cut(rep.Period, ":")
	all := ""
	if l.cfg.PublicURL != "" {
		all = strings.TrimRight(l.cfg.PublicURL, "/") + "/ui/t/" + url.PathEscape(rep.Tenant) + "/"
	}
	data := struct {
		Kind, Tenant, From, Until, All string
		Sum                            *digestSummary
	}{kind, rep.Tenant, rep.From.UTC().Format(digestTimeDisplay), rep.Until.UTC().Format(digestTimeDisplay), all, sum}
	var text, html strings.Builder
	if err := digestText.Execute(&text, data); err != nil {
		return nil, err
	}
	if err := digestHTML.Execute(&html, data); err != nil {
		return nil, err
	}
	notable := 0
	for _, s := range sum.Sections {
		notable += s.Count
	}
	return &hashtrail.Mail{
		To:      rep.To,
		Subject: fmt.Sprintf("[Hashtrail] %s digest for %s: %d events, %d notable", kind, rep.Tenant, sum.Total, notable),
		Text:    text.String(), HTML: html.String(),
		Headers: map[string]string{"X-Hashtrail-Digest": rep.Period},
	}, nil
}
