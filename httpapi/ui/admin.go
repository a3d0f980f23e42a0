package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// The administrative pages. Every act goes through the service as the
// signed-in principal, so only admin credentials succeed, and the service
// records each one in the tenant's own log (as it does for the API).

// requireAdmin refuses viewer tokens and non-admin keys before a page
// reads anything.
func requireAdmin(r *http.Request) error {
	p := hashtrail.PrincipalFrom(r.Context())
	if p == nil || p.Role != hashtrail.RoleAdmin || p.Viewer != nil {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "This page is for admin keys only.")
	}
	return nil
}

// done returns to a page after a form, saying what happened.
func done(w http.ResponseWriter, r *http.Request, page, what string) error {
	http.Redirect(w, r, tenantBase(r.PathValue("tenant"))+page+"?done="+what, http.StatusSeeOther)
	return nil
}

// notices are the messages of ?done=.
var notices = map[string]string{
	"revoked": "The key was revoked. Requests with it now fail.",
	"hold":    "The legal hold is in force: nothing it matches will be purged or erased.",
	"lifted":  "The legal hold was lifted.",
	"paused":  "The sink is paused. It keeps its position.",
	"resumed": "The sink is delivering again.",
}

// keysData is the keys page's data.
type keysData struct {
	Keys   []*hashtrail.APIKey
	Notice string
	Now    hashtrail.Time
}

// keysPage serves GET /ui/t/{tenant}/admin/keys.
func (h *Handler) keysPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := requireAdmin(r); err != nil {
		return err
	}
	keys, err := h.svc.Keys(r.Context(), tenant)
	if err != nil {
		return err
	}
	d := &keysData{Keys: keys, Notice: notices[r.URL.Query().Get("done")], Now: hashtrail.NewTime(h.now())}
	return h.render(w, http.StatusOK, "keys", h.frame(r, "API keys", "keys", tenant, d))
}

// createKey serves POST /ui/t/{tenant}/admin/keys and shows the new
// secret once, on a page that is never cached.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := requireAdmin(r); err != nil {
		return err
	}
	req := &hashtrail.KeyRequest{Tenant: tenant, Role: hashtrail.Role(r.PostFormValue("role")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	if days := r.PostFormValue("expires_days"); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 3650 {
			return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "expires_days", Message: "must be a number of days from 1 to 3650"}})
		}
		req.ExpiresAt = hashtrail.NewTime(h.now().Add(time.Duration(n) * 24 * time.Hour))
	}
	k, err := h.svc.CreateKey(r.Context(), req)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusCreated, "keycreated", h.frame(r, "Key created", "keys", tenant, k))
}

// revokeKey serves POST /ui/t/{tenant}/admin/keys/{id}/revoke.
func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := h.svc.RevokeKey(r.Context(), tenant, r.PathValue("id")); err != nil {
		return err
	}
	return done(w, r, "admin/keys", "revoked")
}

// retentionData is the retention page's data.
type retentionData struct {
	Policy *hashtrail.RetentionPolicy
	Holds  *hashtrail.LegalHolds
	Notice string
}

// retentionPage serves GET /ui/t/{tenant}/admin/retention: the policy and
// the legal holds, with a form to add a hold.
func (h *Handler) retentionPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := requireAdmin(r); err != nil {
		return err
	}
	pol, err := h.svc.Retention(r.Context(), tenant)
	if err != nil {
		return err
	}
	holds, err := h.svc.Holds(r.Context(), tenant)
	if err != nil {
		return err
	}
	d := &retentionData{Policy: pol, Holds: holds, Notice: notices[r.URL.Query().Get("done")]}
	return h.render(w, http.StatusOK, "retention", h.frame(r, "Retention and legal holds", "retention", tenant, d))
}

// addHold serves POST /ui/t/{tenant}/admin/holds.
func (h *Handler) addHold(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	hold := &hashtrail.LegalHold{Filter: strings.TrimSpace(r.PostFormValue("filter")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if _, err := h.svc.AddHold(r.Context(), tenant, hold); err != nil {
		return err
	}
	return done(w, r, "admin/retention", "hold")
}

// removeHold serves POST /ui/t/{tenant}/admin/holds/{id}/remove.
func (h *Handler) removeHold(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveHold(r.Context(), tenant, r.PathValue("id")); err != nil {
		return err
	}
	return done(w, r, "admin/retention", "lifted")
}

// sinksData is the sinks page's data.
type sinksData struct {
	Sinks  []*hashtrail.SinkInfo
	Notice string
}

// sinksPage serves GET /ui/t/{tenant}/admin/sinks: each sink with its
// state and its lag in events and seconds.
func (h *Handler) sinksPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if err := requireAdmin(r); err != nil {
		return err
	}
	sinks, err := h.svc.Sinks(r.Context(), tenant)
	if err != nil {
		return err
	}
	d := &sinksData{Sinks: sinks, Notice: notices[r.URL.Query().Get("done")]}
	return h.render(w, http.StatusOK, "sinks", h.frame(r, "Sinks", "sinks", tenant, d))
}

// pauseSink serves POST /ui/t/{tenant}/admin/sinks/{id}/pause.
func (h *Handler) pauseSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "paused in the web UI"
	}
	if _, err := h.svc.PauseSink(r.Context(), tenant, r.PathValue("id"), reason); err != nil {
		return err
	}
	return done(w, r, "admin/sinks", "paused")
}

// resumeSink serves POST /ui/t/{tenant}/admin/sinks/{id}/resume.
func (h *Handler) resumeSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	if _, err := h.svc.ResumeSink(r.Context(), tenant, r.PathValue("id")); err != nil {
		return err
	}
	return done(w, r, "admin/sinks", "resumed")
}

// checkpointRow is one tenant's latest checkpoint.
type checkpointRow struct {
	Tenant string
	CP     *hashtrail.SignedCheckpoint
	Origin string
	Err    string
}

// integrityData is the integrity page's data.
type integrityData struct {
	Rows    []checkpointRow
	Current string
	All     []string
	Tenant  string
}

// integrityPage serves GET /ui/t/{tenant}/integrity: the latest checkpoint
// of every tenant the principal sees, the signing key, and how to verify
// with the CLI.
func (h *Handler) integrityPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	keys, err := h.svc.LogKeys(ctx)
	if err != nil {
		return err
	}
	d := &integrityData{Current: keys.Current, All: keys.All, Tenant: tenant}
	tenants := []string{tenant}
	if p := hashtrail.PrincipalFrom(ctx); p.Tenant == hashtrail.AllTenants {
		if ts, err := h.svc.Tenants(ctx); err == nil {
			tenants = tenants[:0]
			for _, t := range ts {
				tenants = append(tenants, t.ID)
			}
		}
	}
	for _, t := range tenants {
		row := checkpointRow{Tenant: t}
		cp, err := h.svc.Checkpoint(ctx, t)
		switch {
		case err == nil:
			row.CP = cp
			row.Origin, _, _ = strings.Cut(string(cp.Note), "\n")
		case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
			row.Err = "no checkpoint yet"
		case hashtrail.ErrorCode(err) == hashtrail.EFORBIDDEN:
			row.Err = "these credentials may not read checkpoints"
		default:
			return err
		}
		d.Rows = append(d.Rows, row)
	}
	return h.render(w, http.StatusOK, "integrity", h.frame(r, "Integrity", "integrity", tenant, d))
}
