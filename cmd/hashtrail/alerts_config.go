package main

import (
	"context"
	"fmt"
	"log/slog"

	hashtrail "github.com/hashtrail/hashtrail"
)

// alertsKey is the YAML key of the alert rules declared in the config file.
const alertsKey = "alerts"

// alertDecl is one alert rule declared in the config file. serve creates
// it on start, or updates the rule of the same name and tenant to match; it
// never deletes rules (docs/alerts.md).
//
//	alerts:
//	  - name: brute force
//	    tenant: acme
//	    filter: "action:user.login outcome:failure"
//	    threshold: {count: 5, window: 10m, group-by: actor}
//	    cooldown: 30m
//	    email: [security@acme.example]
//	  - name: new country
//	    tenant: acme
//	    filter: "action:user.login outcome:success"
//	    novelty: {field: country, per: actor}
//	    webhook: {url: "https://hooks.acme.example/audit", secrets: ["whsec_..."]}
type alertDecl struct {
	Name      string `yaml:"name"`
	Tenant    string `yaml:"tenant"`
	Filter    string `yaml:"filter"`
	Threshold *struct {
		Count   int    `yaml:"count"`
		Window  string `yaml:"window"`
		GroupBy string `yaml:"group-by"`
	} `yaml:"threshold"`
	Novelty *struct {
		Field     string `yaml:"field"`
		Per       string `yaml:"per"`
		FirstSeen bool   `yaml:"first-seen"`
	} `yaml:"novelty"`
	Cooldown string `yaml:"cooldown"`
	Webhook  *struct {
		URL     string   `yaml:"url"`
		Secrets []string `yaml:"secrets"`
	} `yaml:"webhook"`
	Email    []string `yaml:"email"`
	Disabled bool     `yaml:"disabled"`
}

// rule returns the declared rule.
func (d *alertDecl) rule() *hashtrail.AlertRule {
	r := &hashtrail.AlertRule{Tenant: d.Tenant, Name: d.Name, Filter: d.Filter, Cooldown: d.Cooldown, Email: d.Email, Disabled: d.Disabled}
	if t := d.Threshold; t != nil {
		r.Threshold = &hashtrail.AlertThreshold{Count: t.Count, Window: t.Window, GroupBy: t.GroupBy}
	}
	if n := d.Novelty; n != nil {
		r.Novelty = &hashtrail.AlertNovelty{Field: n.Field, Per: n.Per, FirstSeen: n.FirstSeen}
	}
	if w := d.Webhook; w != nil {
		r.Webhook = &hashtrail.AlertWebhook{URL: w.URL, Secrets: w.Secrets}
	}
	return r
}

// checkAlerts checks the declared rules' names and tenants (the engine
// checks the rest when serve applies them).
func (c *Config) checkAlerts() []error {
	var errs []error
	seen := map[string]bool{}
	for i, d := range c.Alerts {
		at := fmt.Sprintf("[%d]", i)
		switch {
		case d.Name == "":
			errs = append(errs, fmt.Errorf("%s: a declared alert rule needs a name (serve finds it again by name)", at))
		case seen[d.Tenant+"/"+d.Name]:
			errs = append(errs, fmt.Errorf("%s: a second alert rule named %q for the same tenant", at, d.Name))
		}
		seen[d.Tenant+"/"+d.Name] = true
		if !hashtrail.ValidTenantID(d.Tenant) {
			errs = append(errs, fmt.Errorf("%s: tenant %q is not a tenant id (an alert rule belongs to one tenant)", at, d.Tenant))
		}
	}
	return errs
}

// applyDeclaredAlerts creates or updates the alert rules of the config
// file, as the local operator, creating a rule's tenant if missing.
func applyDeclaredAlerts(ctx context.Context, cfg *Config, svc hashtrail.LogService, log *slog.Logger) error {
	as, ok := svc.(hashtrail.AlertService)
	if !ok || len(cfg.Alerts) == 0 {
		return nil
	}
	for _, d := range cfg.Alerts {
		want := d.rule()
		if _, err := svc.Tenant(ctx, want.Tenant); hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			if _, err := svc.CreateTenant(ctx, &hashtrail.Tenant{ID: want.Tenant}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
				return fmt.Errorf("alert rule %q: creating its tenant: %w", d.Name, err)
			}
		}
		list, err := as.Alerts(ctx, want.Tenant)
		if err != nil {
			return fmt.Errorf("alert rule %q: %w", d.Name, err)
		}
		var have *hashtrail.AlertRule
		for _, r := range list {
			if r.Name == d.Name {
				have = r
			}
		}
		if have == nil {
			got, err := as.CreateAlert(ctx, want)
			if err != nil {
				return fmt.Errorf("config file alert rule %q: %w", d.Name, readable(err))
			}
			log.Info("created an alert rule declared in the config file", "alert", got.ID, "name", d.Name, "tenant", want.Tenant)
			continue
		}
		if sameRule(have, want) {
			continue
		}
		p := &hashtrail.AlertPatch{Filter: &want.Filter, Threshold: &want.Threshold, Novelty: &want.Novelty,
			Cooldown: &want.Cooldown, Webhook: &want.Webhook, Email: &want.Email, Disabled: &want.Disabled}
		if _, err := as.UpdateAlert(ctx, want.Tenant, have.ID, p); err != nil {
			return fmt.Errorf("config file alert rule %q: %w", d.Name, readable(err))
		}
		log.Info("updated an alert rule declared in the config file", "alert", have.ID, "name", d.Name, "tenant", want.Tenant)
	}
	return nil
}

// sameRule reports whether the stored rule have is the declared want. A
// rule with a webhook reads back with its secrets redacted and is always
// updated (keeping it in line with the file); an update that keeps the
// filter, threshold and novelty keeps what the rule remembers.
func sameRule(have, want *hashtrail.AlertRule) bool {
	if have.Filter != want.Filter || have.Cooldown != want.Cooldown || have.Disabled != want.Disabled ||
		have.Webhook != nil || want.Webhook != nil || fmt.Sprint(have.Email) != fmt.Sprint(want.Email) {
		return false
	}
	switch {
	case (have.Threshold == nil) != (want.Threshold == nil), (have.Novelty == nil) != (want.Novelty == nil):
		return false
	case have.Threshold != nil && *have.Threshold != *want.Threshold, have.Novelty != nil && *have.Novelty != *want.Novelty:
		return false
	}
	return true
}
