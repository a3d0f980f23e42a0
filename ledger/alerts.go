package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

// Alert rules (alert.go in the root): kept as one tenant configuration
// document (kind "alerts") so that every node sees the same rules and two
// concurrent changes cannot both win; each change is audited into the
// tenant's log (alert.create, alert.update, alert.delete) without the
// rule's settings, which hold webhook secrets.

// Configuration document kinds of alerts and digests.
const (
	configAlerts      = "alerts"
	configAlertState  = "alert-state"
	configDigest      = "digest"
	configDigestSent  = "digest-sent"
	defaultCooldown   = 15 * time.Minute
	maxAlertWindow    = 24 * time.Hour
	maxAlertRules     = 100
	maxAlertEmails    = 20
	maxAlertThreshold = 10000
)

var _ hashtrail.AlertService = (*Ledger)(nil)

// alertDoc is the stored document of kind "alerts".
type alertDoc struct {
	Rules []*hashtrail.AlertRule `json:"rules"`
}

// alertAuthz checks that the caller may manage tenant's alerts: admins of
// the tenant, or installation-wide admins. Alerts belong to one tenant.
func (l *Ledger) alertAuthz(ctx context.Context, tenant string) error {
	if tenant == hashtrail.AllTenants || tenant == "" {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "alerts belong to one tenant")
	}
	if err := l.keyAuthz(hashtrail.PrincipalFrom(ctx), tenant); err != nil {
		return err
	}
	_, err := l.store.Tenant(ctx, tenant)
	return err
}

// loadAlerts returns tenant's rules and the document's version (0: none).
func (l *Ledger) loadAlerts(ctx context.Context, tenant string) (*alertDoc, int64, error) {
	c, err := l.store.TenantConfig(ctx, tenant, configAlerts)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return &alertDoc{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var d alertDoc
	if err := json.Unmarshal(c.Value, &d); err != nil {
		return nil, 0, fmt.Errorf("alerts of %s: %w", tenant, err)
	}
	return &d, c.Version, nil
}

// changeAlerts applies change to tenant's rules and stores them,
// retrying when another node changed them meanwhile.
func (l *Ledger) changeAlerts(ctx context.Context, tenant string, change func(d *alertDoc) error) error {
	for range 5 {
		d, v, err := l.loadAlerts(ctx, tenant)
		if err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: tenant, Kind: configAlerts, Version: v, Value: b,
			UpdatedAt: l.clock(), UpdatedBy: keyID(hashtrail.PrincipalFrom(ctx))})
		if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
			return err
		}
	}
	return hashtrail.Errorf(hashtrail.ECONFLICT, "the alert rules of %q changed too often meanwhile; try again", tenant)
}

// CreateAlert adds an alert rule, which looks at events committed from
// now on.
func (l *Ledger) CreateAlert(ctx context.Context, r *hashtrail.AlertRule) (*hashtrail.AlertRule, error) {
	if err := l.alertAuthz(ctx, r.Tenant); err != nil {
		return nil, err
	}
	n := *r
	n.ID, n.CreatedAt, n.UpdatedAt = hashtrail.NewAlertID(), l.clock(), l.clock()
	n.UpdatedBy = keyID(hashtrail.PrincipalFrom(ctx))
	if err := l.checkAlert(&n); err != nil {
		return nil, err
	}
	err := l.changeAlerts(ctx, n.Tenant, func(d *alertDoc) error {
		if len(d.Rules) >= maxAlertRules {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "a tenant has at most %d alert rules", maxAlertRules)
		}
		d.Rules = append(d.Rules, &n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := l.audit(ctx, n.Tenant, "alert.create", alertTarget(&n)); err != nil {
		return nil, err
	}
	return l.redactAlert(&n), nil
}

// Alerts lists tenant's rules, secrets redacted.
func (l *Ledger) Alerts(ctx context.Context, tenant string) ([]*hashtrail.AlertRule, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	d, _, err := l.loadAlerts(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]*hashtrail.AlertRule, 0, len(d.Rules))
	for _, r := range d.Rules {
		out = append(out, l.redactAlert(r))
	}
	return out, nil
}

// Alert returns one rule, secrets redacted.
func (l *Ledger) Alert(ctx context.Context, tenant, id string) (*hashtrail.AlertRule, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	d, _, err := l.loadAlerts(ctx, tenant)
	if err != nil {
		return nil, err
	}
	r, err := findAlert(d, id)
	if err != nil {
		return nil, err
	}
	return l.redactAlert(r), nil
}

func findAlert(d *alertDoc, id string) (*hashtrail.AlertRule, error) {
	for _, r := range d.Rules {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "alert rule %q not found", id)
}

// UpdateAlert changes some of a rule's fields. Webhook secrets sent back
// as hashtrail.RedactedSecret keep their stored values.
func (l *Ledger) UpdateAlert(ctx context.Context, tenant, id string, p *hashtrail.AlertPatch) (*hashtrail.AlertRule, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	var out *hashtrail.AlertRule
	err := l.changeAlerts(ctx, tenant, func(d *alertDoc) error {
		r, err := findAlert(d, id)
		if err != nil {
			return err
		}
		n := *r
		applyAlertPatch(&n, r, p)
		n.UpdatedAt, n.UpdatedBy = l.clock(), keyID(hashtrail.PrincipalFrom(ctx))
		if err := l.checkAlert(&n); err != nil {
			return err
		}
		*r = n
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := l.audit(ctx, tenant, "alert.update", alertTarget(out)); err != nil {
		return nil, err
	}
	return l.redactAlert(out), nil
}

func applyAlertPatch(n, old *hashtrail.AlertRule, p *hashtrail.AlertPatch) {
	if p.Name != nil {
		n.Name = *p.Name
	}
	if p.Filter != nil {
		n.Filter = *p.Filter
	}
	if p.Threshold != nil {
		n.Threshold = *p.Threshold
	}
	if p.Novelty != nil {
		n.Novelty = *p.Novelty
	}
	if p.Cooldown != nil {
		n.Cooldown = *p.Cooldown
	}
	if p.Email != nil {
		n.Email = *p.Email
	}
	if p.Disabled != nil {
		n.Disabled = *p.Disabled
	}
	if p.Webhook != nil {
		n.Webhook = *p.Webhook
		if n.Webhook != nil && old.Webhook != nil {
			w := *n.Webhook
			w.Secrets = slices.Clone(w.Secrets)
			for i, s := range w.Secrets {
				if s == hashtrail.RedactedSecret && i < len(old.Webhook.Secrets) {
					w.Secrets[i] = old.Webhook.Secrets[i]
				}
			}
			n.Webhook = &w
		}
	}
}

// DeleteAlert removes a rule; its recorded firings stay in the log.
func (l *Ledger) DeleteAlert(ctx context.Context, tenant, id string) error {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return err
	}
	var gone *hashtrail.AlertRule
	err := l.changeAlerts(ctx, tenant, func(d *alertDoc) error {
		r, err := findAlert(d, id)
		if err != nil {
			return err
		}
		gone = r
		d.Rules = slices.DeleteFunc(d.Rules, func(x *hashtrail.AlertRule) bool { return x.ID == id })
		return nil
	})
	if err != nil {
		return err
	}
	return l.audit(ctx, tenant, "alert.delete", alertTarget(gone))
}

// AlertFirings reads a rule's firings back from the tenant's log.
func (l *Ledger) AlertFirings(ctx context.Context, tenant, id string, limit int) ([]*hashtrail.AlertFiring, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > hashtrail.MaxLimit {
		limit = 100
	}
	evs, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Actions: []string{hashtrail.ActionAlertFired},
		Target: "alert:" + id, Order: hashtrail.OrderDesc, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]*hashtrail.AlertFiring, 0, len(evs))
	for _, e := range evs {
		var f hashtrail.AlertFiring
		if err := json.Unmarshal(e.Metadata, &f); err != nil {
			continue // purged or foreign: not a firing we can read
		}
		f.ID, f.Tenant, f.Seq, f.FiredAt = e.ID, e.Tenant, e.Seq, e.Time
		out = append(out, &f)
	}
	return out, nil
}

func alertTarget(r *hashtrail.AlertRule) hashtrail.Target {
	return hashtrail.Target{Type: "alert", ID: r.ID, Name: r.Name}
}

// redactAlert returns a copy of r with its webhook secrets redacted.
func (l *Ledger) redactAlert(r *hashtrail.AlertRule) *hashtrail.AlertRule {
	c := *r
	if r.Webhook != nil {
		w := *r.Webhook
		w.Secrets = make([]string, len(r.Webhook.Secrets))
		for i := range w.Secrets {
			w.Secrets[i] = hashtrail.RedactedSecret
		}
		c.Webhook = &w
	}
	return &c
}

// checkAlert validates r, naming each wrong field.
func (l *Ledger) checkAlert(r *hashtrail.AlertRule) error {
	var errs []hashtrail.FieldError
	add := func(f, m string) { errs = append(errs, hashtrail.FieldError{Field: f, Message: m}) }
	if len(r.Name) > 256 || !utf8.ValidString(r.Name) || strings.ContainsFunc(r.Name, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		add("name", "must be UTF-8 text without control characters, at most 256 bytes")
	}
	if _, err := compileAlertFilter(r.Filter); err != nil {
		if e, ok := err.(*hashtrail.Error); ok && len(e.Fields) > 0 {
			errs = append(errs, e.Fields...)
		} else {
			add("filter", err.Error())
		}
	}
	if r.Threshold != nil && r.Novelty != nil {
		add("novelty", "give threshold or novelty, not both")
	}
	if t := r.Threshold; t != nil {
		if t.Count < 1 || t.Count > maxAlertThreshold {
			add("threshold.count", fmt.Sprintf("must be between 1 and %d", maxAlertThreshold))
		}
		if d, err := time.ParseDuration(t.Window); err != nil || d <= 0 || d > maxAlertWindow {
			add("threshold.window", "must be a duration such as \"10m\", above 0 and at most 24h")
		}
		if t.GroupBy != "" && !slices.Contains(hashtrail.AlertGroupFields, t.GroupBy) {
			add("threshold.group_by", "must be one of "+strings.Join(hashtrail.AlertGroupFields, ", "))
		}
	}
	if n := r.Novelty; n != nil {
		if !slices.Contains(hashtrail.AlertNoveltyFields, n.Field) {
			add("novelty.field", "must be one of "+strings.Join(hashtrail.AlertNoveltyFields, ", "))
		}
		if n.Per != "" && !slices.Contains(hashtrail.AlertGroupFields, n.Per) {
			add("novelty.per", "must be one of "+strings.Join(hashtrail.AlertGroupFields, ", "))
		}
	}
	if r.Cooldown != "" {
		if d, err := time.ParseDuration(r.Cooldown); err != nil || d < 0 || d > 7*24*time.Hour {
			add("cooldown", "must be a duration such as \"15m\", from 0 to 168h")
		}
	}
	if r.Webhook == nil && len(r.Email) == 0 {
		add("webhook", "a rule needs a webhook or email recipients to notify")
	}
	if r.Webhook != nil {
		if l.cfg.Notifier != nil {
			errs = append(errs, l.cfg.Notifier.CheckWebhook("webhook", r.Webhook)...)
		} else {
			errs = append(errs, checkWebhookShape(r.Webhook)...)
		}
	}
	errs = append(errs, checkEmails("email", r.Email)...)
	if len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	return nil
}

// checkEmails validates a list of recipient addresses.
func checkEmails(field string, list []string) []hashtrail.FieldError {
	var errs []hashtrail.FieldError
	if len(list) > maxAlertEmails {
		errs = append(errs, hashtrail.FieldError{Field: field, Message: fmt.Sprintf("holds at most %d addresses", maxAlertEmails)})
	}
	for i, a := range list {
		if p, err := mail.ParseAddress(a); err != nil || p.Address != a {
			errs = append(errs, hashtrail.FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Message: "must be a plain email address (name@example.com)"})
		}
	}
	return errs
}

// compileAlertFilter turns a rule's filter into a query; nil matches all.
func compileAlertFilter(filter string) (*hashtrail.Query, error) {
	if filter == "" {
		return nil, nil
	}
	s, err := query.ParseField("filter", filter)
	if err != nil {
		return nil, err
	}
	q := &hashtrail.Query{}
	s.Apply(q)
	return q, nil
}

// checkWebhookShape validates a webhook without a notifier (offline
// tools): an http(s) URL with a host, and 1 to 4 whsec_ secrets of
// standard base64. The notifier's CheckWebhook is the full check.
func checkWebhookShape(w *hashtrail.AlertWebhook) []hashtrail.FieldError {
	var errs []hashtrail.FieldError
	if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, hashtrail.FieldError{Field: "webhook.url", Message: "must be an http or https URL with a host"})
	}
	if len(w.Secrets) == 0 || len(w.Secrets) > 4 {
		errs = append(errs, hashtrail.FieldError{Field: "webhook.secrets", Message: "needs 1 to 4 whsec_ secrets"})
	}
	for i, s := range w.Secrets {
		b64, ok := strings.CutPrefix(s, "whsec_")
		if k, err := base64.StdEncoding.DecodeString(b64); !ok || err != nil || len(k) < 24 || len(k) > 64 {
			errs = append(errs, hashtrail.FieldError{Field: fmt.Sprintf("webhook.secrets[%d]", i), Message: "must be whsec_ followed by 24 to 64 bytes in standard base64"})
		}
	}
	return errs
}
