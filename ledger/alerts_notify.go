package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	texttemplate "text/template"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Notifications of firings: a Standard Webhooks request (webhook-id = the
// firing's id, stable across retries and re-evaluations) and an email with
// a text and an HTML part, both linking to the events in the web UI.

// AlertNotification is the JSON body a rule's webhook receives.
type AlertNotification struct {
	Type   string                `json:"type"` // "alert.fired"
	Tenant string                `json:"tenant"`
	Rule   AlertNotificationRule `json:"rule"`
	Firing hashtrail.AlertFiring `json:"firing"`
	// Group is the group's key in clear (the recorded firing may carry
	// only its hash); Value the new value of a novelty rule.
	Group string `json:"group,omitempty"`
	Value string `json:"value,omitempty"`
	// FirstEventURL and LastEventURL link to the events in the web UI
	// (empty without a public URL).
	FirstEventURL string `json:"first_event_url,omitempty"`
	LastEventURL  string `json:"last_event_url,omitempty"`
}

// AlertNotificationRule names the rule that fired.
type AlertNotificationRule struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Filter string `json:"filter,omitempty"`
}

// eventURL links to one event in the web UI, "" without a public URL.
func (l *Ledger) eventURL(tenant, id string) string {
	if l.cfg.PublicURL == "" || id == "" {
		return ""
	}
	return strings.TrimRight(l.cfg.PublicURL, "/") + "/ui/t/" + url.PathEscape(tenant) + "/events/" + url.PathEscape(id)
}

// notifyFiring sends p to r's webhook and email recipients; it fails if
// any channel fails (both are tried).
func (l *Ledger) notifyFiring(ctx context.Context, r *hashtrail.AlertRule, p *pendingFiring) error {
	if l.cfg.Notifier == nil {
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "no notifier is configured")
	}
	n := AlertNotification{
		Type: "alert.fired", Tenant: p.Firing.Tenant, Firing: p.Firing, Group: p.Group, Value: p.Value,
		Rule:          AlertNotificationRule{ID: r.ID, Name: r.Name, Filter: r.Filter},
		FirstEventURL: l.eventURL(p.Firing.Tenant, p.Firing.FirstEvent),
		LastEventURL:  l.eventURL(p.Firing.Tenant, p.Firing.LastEvent),
	}
	var errs []error
	var channels []string
	if r.Webhook != nil {
		channels = append(channels, "webhook")
		n.Firing.Channels = channels
		body, err := json.Marshal(n)
		if err == nil {
			err = l.cfg.Notifier.PostWebhook(ctx, &hashtrail.WebhookMessage{URL: r.Webhook.URL, Secrets: r.Webhook.Secrets, ID: p.Firing.ID, Body: body})
		}
		if err != nil {
			l.alertMetrics.notifyErrors.WithLabelValues("webhook").Inc()
			errs = append(errs, fmt.Errorf("webhook: %w", err))
		}
	}
	if len(r.Email) > 0 {
		channels = append(channels, "email")
		m, err := alertMail(r, &n)
		if err == nil {
			err = l.cfg.Notifier.SendMail(ctx, m)
		}
		if err != nil {
			l.alertMetrics.notifyErrors.WithLabelValues("email").Inc()
			errs = append(errs, fmt.Errorf("email: %w", err))
		}
	}
	p.Firing.Channels = channels
	return errors.Join(errs...)
}

var alertText = texttemplate.Must(texttemplate.New("alert").Parse(`Alert "{{.Name}}" fired in tenant {{.N.Tenant}}.

Why:        {{.N.Firing.Reason}}
{{- if .N.Group}}
Group:      {{.N.Group}}{{end}}
{{- if .N.Value}}
New value:  {{.N.Value}}{{end}}
Events:     {{.N.Firing.Count}} (seq {{.N.Firing.FirstSeq}} to {{.N.Firing.LastSeq}})
{{- if .N.Firing.Suppressed}}
Suppressed: {{.N.Firing.Suppressed}} firing(s) within the cooldown since the last notification{{end}}
Filter:     {{.N.Rule.Filter}}
First event: {{.N.Firing.FirstEvent}}{{if .N.FirstEventURL}} {{.N.FirstEventURL}}{{end}}
Last event:  {{.N.Firing.LastEvent}}{{if .N.LastEventURL}} {{.N.LastEventURL}}{{end}}

Rule {{.N.Rule.ID}}; firing {{.N.Firing.ID}}.
`))

var alertHTML = template.Must(template.New("alert").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<h2>Alert &ldquo;{{.Name}}&rdquo; fired in tenant {{.N.Tenant}}</h2>
<table>
<tr><th align="left">Why</th><td>{{.N.Firing.Reason}}</td></tr>
{{if .N.Group}}<tr><th align="left">Group</th><td>{{.N.Group}}</td></tr>{{end}}
{{if .N.Value}}<tr><th align="left">New value</th><td>{{.N.Value}}</td></tr>{{end}}
<tr><th align="left">Events</th><td>{{.N.Firing.Count}} (seq {{.N.Firing.FirstSeq}} to {{.N.Firing.LastSeq}})</td></tr>
{{if .N.Firing.Suppressed}}<tr><th align="left">Suppressed</th><td>{{.N.Firing.Suppressed}} firing(s) within the cooldown</td></tr>{{end}}
<tr><th align="left">Filter</th><td><code>{{.N.Rule.Filter}}</code></td></tr>
<tr><th align="left">First event</th><td>{{if .N.FirstEventURL}}<a href="{{.N.FirstEventURL}}">{{.N.Firing.FirstEvent}}</a>{{else}}{{.N.Firing.FirstEvent}}{{end}}</td></tr>
<tr><th align="left">Last event</th><td>{{if .N.LastEventURL}}<a href="{{.N.LastEventURL}}">{{.N.Firing.LastEvent}}</a>{{else}}{{.N.Firing.LastEvent}}{{end}}</td></tr>
</table>
<p style="color:#666">Rule {{.N.Rule.ID}}; firing {{.N.Firing.ID}}.</p>
</body></html>
`))

// alertMail renders the email of a firing.
func alertMail(r *hashtrail.AlertRule, n *AlertNotification) (*hashtrail.Mail, error) {
	name := r.Name
	if name == "" {
		name = r.ID
	}
	data := struct {
		Name string
		N    *AlertNotification
	}{name, n}
	var text, html strings.Builder
	if err := alertText.Execute(&text, data); err != nil {
		return nil, err
	}
	if err := alertHTML.Execute(&html, data); err != nil {
		return nil, err
	}
	return &hashtrail.Mail{
		To:      r.Email,
		Subject: fmt.Sprintf("[Hashtrail] Alert: %s (%s)", name, n.Tenant),
		Text:    text.String(), HTML: html.String(),
		Headers: map[string]string{"X-Hashtrail-Alert": r.ID, "X-Hashtrail-Firing": n.Firing.ID},
	}, nil
}
