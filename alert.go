package hashtrail

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
)

// Alerts and digests (issue 7 items 4-5). An alert rule watches one
// tenant's log after commit: every event its filter selects counts, and
// the rule fires on each such event, or when Threshold events of one group
// arrive within a window, or when an event shows a value its group has not
// shown before (Novelty). Each firing is recorded as a system.alert_fired
// event in the tenant's own log and notified by webhook and/or email, at
// most once per rule and group per cooldown. A digest is a daily or weekly
// email per tenant summarising security-relevant events.

// AlertRule is one alert rule of a tenant.
type AlertRule struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Name   string `json:"name,omitempty"`
	// Filter selects the events the rule looks at, in the search syntax
	// (DESIGN §4). Events of category system are never seen unless the
	// filter asks for them (category:system or action:system.*), and
	// firings (system.alert_fired) never, so no rule feeds on firings.
	Filter string `json:"filter,omitempty"`
	// Threshold, if set, fires when Count matching events of one group
	// arrive within Window; nil fires on every matching event (or on
	// novelty).
	Threshold *AlertThreshold `json:"threshold,omitempty"`
	// Novelty, if set, fires when an event shows a value of Field that its
	// group has not shown before. Threshold and Novelty exclude each other.
	Novelty *AlertNovelty `json:"novelty,omitempty"`
	// Cooldown is the least time between two notifications of one rule and
	// group (Go duration, default "15m"); firings within it are recorded as
	// suppressed and counted in the next notification.
	Cooldown string `json:"cooldown,omitempty"`
	// Webhook and Email are where firings are notified; at least one.
	Webhook *AlertWebhook `json:"webhook,omitempty"`
	Email   []string      `json:"email,omitempty"`
	// Disabled rules are kept but not evaluated.
	Disabled  bool   `json:"disabled,omitempty"`
	CreatedAt Time   `json:"created_at"`
	UpdatedAt Time   `json:"updated_at"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// AlertThreshold is "Count events in Window, per GroupBy".
type AlertThreshold struct {
	Count int `json:"count"`
	// Window is a Go duration ("10m"), at most 24h.
	Window string `json:"window"`
	// GroupBy is one of AlertGroupFields; "" counts all events together.
	GroupBy string `json:"group_by,omitempty"`
}

// AlertNovelty is "a value of Field that the group Per has not shown".
type AlertNovelty struct {
	// Field is one of AlertNoveltyFields.
	Field string `json:"field"`
	// Per is one of AlertGroupFields; "" remembers values tenant-wide
	// (every new API key, say).
	Per string `json:"per,omitempty"`
	// FirstSeen also fires for the first value of a group that has shown
	// none yet (a user's first login ever); by default that value is
	// learned silently.
	FirstSeen bool `json:"first_seen,omitempty"`
}

// AlertWebhook is a Standard Webhooks endpoint that receives firings.
type AlertWebhook struct {
	URL string `json:"url"`
	// Secrets are whsec_ secrets, one signature each (rotation).
	Secrets []string `json:"secrets"`
}

// AlertGroupFields are the fields a threshold groups by and a novelty
// remembers per: actor ("type:id"), actor.email, ip, target (the first
// target "type:id"), action, api_key (the credential used), country and
// service (service.name).
var AlertGroupFields = []string{"actor", "actor.email", "ip", "target", "action", "api_key", "country", "service"}

// AlertNoveltyFields are the values a novelty condition remembers: country
// (context.location.country), ip_range (the /24 of an IPv4 address, the /48
// of an IPv6 one), ip, api_key (actor.auth.credential_id, or the actor's id
// when the actor is an API key), user_agent.
var AlertNoveltyFields = []string{"country", "ip_range", "ip", "api_key", "user_agent"}

// AlertPatch changes some of a rule's fields; nil members stay.
type AlertPatch struct {
	Name      *string          `json:"name,omitempty"`
	Filter    *string          `json:"filter,omitempty"`
	Threshold **AlertThreshold `json:"threshold,omitempty"`
	Novelty   **AlertNovelty   `json:"novelty,omitempty"`
	Cooldown  *string          `json:"cooldown,omitempty"`
	Webhook   **AlertWebhook   `json:"webhook,omitempty"`
	Email     *[]string        `json:"email,omitempty"`
	Disabled  *bool            `json:"disabled,omitempty"`
}

// AlertFiring is one firing of a rule, as recorded in the tenant's log
// (action system.alert_fired, target alert:<rule id>).
type AlertFiring struct {
	// ID is the id of its system.alert_fired event: stable, so that
	// re-evaluating after a crash records and notifies the same firing.
	ID     string `json:"id"`
	Rule   string `json:"rule"`
	Tenant string `json:"tenant"`
	// Group is the group's key; GroupHash replaces it when the key is
	// personal data (an address, an email, a country), which must not be
	// committed in the log.
	Group     string `json:"group,omitempty"`
	GroupHash string `json:"group_hash,omitempty"`
	// Reason says why it fired, e.g. "5 events in 10m0s" or "new country".
	Reason     string `json:"reason"`
	Count      int    `json:"count"`
	FirstEvent string `json:"first_event"`
	LastEvent  string `json:"last_event"`
	FirstSeq   int64  `json:"first_seq"`
	LastSeq    int64  `json:"last_seq"`
	// Notified is false for a firing within the cooldown (suppressed);
	// Suppressed counts the firings suppressed since the last notified one.
	Notified   bool     `json:"notified"`
	Suppressed int      `json:"suppressed,omitempty"`
	Channels   []string `json:"channels,omitempty"`
	FiredAt    Time     `json:"fired_at"`
	// Seq is the seq of the firing's event in the log (when read back).
	Seq int64 `json:"seq"`
}

// ActionAlertFired is the action of a firing's event.
const ActionAlertFired = "system.alert_fired"

// ErrWebhookGone is wrapped by the error of a webhook whose receiver
// answered 410 Gone: it asked to stop, so the rule is switched off (as a
// sink is paused).
var ErrWebhookGone = errors.New("the webhook receiver answered 410 Gone: it asked to stop")

// DigestSettings are a tenant's digest email settings.
type DigestSettings struct {
	// Schedule is "daily" or "weekly" (periods in UTC; a week starts on
	// Monday); "" or "off" sends none.
	Schedule string   `json:"schedule"`
	To       []string `json:"to"`
	// Hour is the UTC hour (0-23) after which a period's digest is sent.
	Hour      int    `json:"hour"`
	UpdatedAt Time   `json:"updated_at"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// DigestReport is the outcome of sending one digest.
type DigestReport struct {
	Tenant  string   `json:"tenant"`
	Period  string   `json:"period"` // "daily:2026-11-22" or "weekly:2026-11-16"
	From    Time     `json:"from"`
	Until   Time     `json:"until"`
	To      []string `json:"to"`
	Events  int      `json:"events"`
	Subject string   `json:"subject"`
	Sent    bool     `json:"sent"`
	// Skipped says why nothing was sent (already sent for the period).
	Skipped string `json:"skipped,omitempty"`
}

// AlertService manages alert rules and digests (admin role). The ledger
// implements it.
type AlertService interface {
	CreateAlert(ctx context.Context, r *AlertRule) (*AlertRule, error)
	Alerts(ctx context.Context, tenant string) ([]*AlertRule, error)
	// Alert returns one rule; ENOTFOUND for an unknown id.
	Alert(ctx context.Context, tenant, id string) (*AlertRule, error)
	UpdateAlert(ctx context.Context, tenant, id string, p *AlertPatch) (*AlertRule, error)
	DeleteAlert(ctx context.Context, tenant, id string) error
	// AlertFirings lists a rule's firings, newest first, at most limit.
	AlertFirings(ctx context.Context, tenant, id string, limit int) ([]*AlertFiring, error)
	// Digest returns the tenant's digest settings (zero when none).
	Digest(ctx context.Context, tenant string) (*DigestSettings, error)
	SetDigest(ctx context.Context, tenant string, d *DigestSettings) (*DigestSettings, error)
	// SendDigest sends the digest of the period that ends now (the last
	// 24 hours or 7 days) at once, whether or not one was sent.
	SendDigest(ctx context.Context, tenant string) (*DigestReport, error)
}

// Mail is one email message with a text and an HTML part.
type Mail struct {
	To      []string `json:"to"`
	Subject string
	Text    string
	HTML    string
	// Headers are extra headers, such as X-Hashtrail-Alert.
	Headers map[string]string
}

// WebhookMessage is one signed webhook request.
type WebhookMessage struct {
	URL     string
	Secrets []string
	// ID is the webhook-id, stable across retries.
	ID   string
	Body []byte
}

// Notifier delivers alert notifications and digests (package notify; cmd
// wires it). Methods are safe for concurrent use and return EUNAVAILABLE
// when their channel is not configured.
type Notifier interface {
	// SendMail sends m through the installation's SMTP server.
	SendMail(ctx context.Context, m *Mail) error
	// PostWebhook posts a Standard Webhooks signed request, guarded
	// against server-side request forgery like sinks. An answer retrying
	// cannot fix (a 4xx but 408 and 429) is a *PermanentError, wrapping
	// ErrWebhookGone for 410.
	PostWebhook(ctx context.Context, w *WebhookMessage) error
	// CheckWebhook validates a webhook's URL and secrets for a rule,
	// naming the wrong field under prefix ("webhook").
	CheckWebhook(prefix string, w *AlertWebhook) []FieldError
}

// NewAlertID returns a new random alert rule id, "alr_" and 12 characters.
func NewAlertID() string {
	return "alr_" + strings.ToLower(base64.RawURLEncoding.EncodeToString(randomBytes(9)))
}
