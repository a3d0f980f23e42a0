package ui

import (
	"context"
	"net/http"

	hashtrail "github.com/hashtrail/hashtrail"
)

// alertsService is the part of hashtrail.AlertService the alerts page
// reads. A service without it (an installation built without alerts)
// gets a page that says so.
type alertsService interface {
	Alerts(ctx context.Context, tenant string) ([]*hashtrail.AlertRule, error)
	AlertFirings(ctx context.Context, tenant, id string, limit int) ([]*hashtrail.AlertFiring, error)
}

// alertRow is one rule with its latest firings.
type alertRow struct {
	Rule    *hashtrail.AlertRule
	Kind    string // "every event", "threshold", "novelty"
	Firings []*hashtrail.AlertFiring
}

// alertsData is the alerts page's data.
type alertsData struct {
	Available bool
	Rows      []alertRow
	Tenant    string
}

// alertsPage serves GET /ui/t/{tenant}/admin/alerts: the tenant's alert
// rules, what each watches, and its latest firings (linked to their
// system.alert_fired events).
func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := requireAdmin(r); err != nil {
		return err
	}
	d := &alertsData{Tenant: tenant}
	if h.alerts != nil {
		d.Available = true
		rules, err := h.alerts.Alerts(r.Context(), tenant)
		if err != nil {
			return err
		}
		for _, rule := range rules {
			row := alertRow{Rule: rule, Kind: "every matching event"}
			switch {
			case rule.Threshold != nil:
				row.Kind = "threshold"
			case rule.Novelty != nil:
				row.Kind = "novelty: new " + rule.Novelty.Field
			}
			if f, err := h.alerts.AlertFirings(r.Context(), tenant, rule.ID, 5); err == nil {
				row.Firings = f
			}
			d.Rows = append(d.Rows, row)
		}
	}
	return h.render(w, http.StatusOK, "alerts", h.frame(r, "Alerts", "alerts", tenant, d))
}
