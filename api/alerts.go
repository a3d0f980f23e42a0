package api

import (
	"encoding/json"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Routes of alert rules and digests (docs/alerts.md).
const (
	PathTenantAlerts       = "/v1/tenants/{tenant}/alerts"
	PathTenantAlert        = "/v1/tenants/{tenant}/alerts/{alert}"
	PathTenantAlertFirings = "/v1/tenants/{tenant}/alerts/{alert}/firings"
	PathTenantDigest       = "/v1/tenants/{tenant}/digest"
	PathTenantDigestSend   = "/v1/tenants/{tenant}/digest/send"
)

// AlertRequest creates an alert rule (POST .../alerts).
type AlertRequest struct {
	Name      string                    `json:"name,omitempty"`
	Filter    string                    `json:"filter,omitempty"`
	Threshold *hashtrail.AlertThreshold `json:"threshold,omitempty"`
	Novelty   *hashtrail.AlertNovelty   `json:"novelty,omitempty"`
	Cooldown  string                    `json:"cooldown,omitempty"`
	Webhook   *hashtrail.AlertWebhook   `json:"webhook,omitempty"`
	Email     []string                  `json:"email,omitempty"`
	Disabled  bool                      `json:"disabled,omitempty"`
}

// AlertPatch changes a rule (PATCH .../alerts/{alert}): members left out
// stay; threshold, novelty and webhook may be null to remove them. Webhook
// secrets given as "[redacted]" keep their stored values.
type AlertPatch struct {
	Name      *string         `json:"name,omitempty"`
	Filter    *string         `json:"filter,omitempty"`
	Threshold json.RawMessage `json:"threshold,omitempty"`
	Novelty   json.RawMessage `json:"novelty,omitempty"`
	Cooldown  *string         `json:"cooldown,omitempty"`
	Webhook   json.RawMessage `json:"webhook,omitempty"`
	Email     *[]string       `json:"email,omitempty"`
	Disabled  *bool           `json:"disabled,omitempty"`
}

// AlertList answers GET .../alerts.
type AlertList struct {
	Alerts []*hashtrail.AlertRule `json:"alerts"`
}

// FiringList answers GET .../alerts/{alert}/firings, newest first.
type FiringList struct {
	Firings []*hashtrail.AlertFiring `json:"firings"`
}

// DigestRequest sets a tenant's digest (PUT .../digest).
type DigestRequest struct {
	Schedule string   `json:"schedule"`
	To       []string `json:"to"`
	Hour     int      `json:"hour"`
}
