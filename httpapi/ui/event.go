package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// change is one field's change as the event page shows it.
type change struct {
	Field    string
	Old, New string
	HasOld   bool
	HasNew   bool
	Redacted bool
	Block    bool // a multi-line value (JSON objects): shown as blocks
}

// receipt is the server's view of an event's inclusion in its log.
type receipt struct {
	Available  bool   // a checkpoint covers the event
	Reason     string // why not, when not
	Checkpoint int64  // its tree size
	Origin     string
	LeafIndex  int64
	ProofURL   string
	Note       string
}

// eventData is the event page's data.
type eventData struct {
	Row      eventRow
	Changes  []change
	Metadata string // pretty JSON, or ""
	Raw      string // the whole event, pretty JSON
	Receipt  receipt
	ExitOK   bool
	Location string
	Tenant   string
}

// eventPage serves GET /ui/t/{tenant}/events/{id}: every field, changes as
// a before/after diff, command output, the raw JSON and the integrity
// receipt, which static/verify.js checks in the browser.
func (h *Handler) eventPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !hashtrail.ValidEventID(id) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no event with that id.")
	}
	ev, err := h.svc.Event(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	d := &eventData{Row: rowOf(tenant, ev), Tenant: tenant, Changes: changesOf(ev.Changes)}
	if len(ev.Metadata) > 0 {
		d.Metadata = pretty(ev.Metadata)
	}
	raw, _ := json.Marshal(ev)
	d.Raw = pretty(raw)
	if ev.Output != nil && ev.Output.ExitCode != nil {
		d.ExitOK = *ev.Output.ExitCode == 0
	}
	if ev.Context != nil && ev.Context.Location != nil {
		l := ev.Context.Location
		d.Location = strings.Join(nonEmpty(l.City, l.Region, l.Country), ", ")
	}
	d.Receipt = h.receiptOf(r, tenant, ev)
	return h.render(w, http.StatusOK, "event", h.frame(r, "Event "+ev.Action, "feed", tenant, d))
}

// receiptOf finds the checkpoint that covers ev, without waiting.
func (h *Handler) receiptOf(r *http.Request, tenant string, ev *hashtrail.Event) receipt {
	rc := receipt{LeafIndex: ev.Seq, ProofURL: tenantBase(tenant) + "events/" + pathEscape(ev.ID) + "/proof.json"}
	ep, err := h.svc.EventProof(r.Context(), tenant, ev.ID, 0)
	switch {
	case err == nil:
		rc.Available = true
		rc.Checkpoint = ep.Proof.TreeSize
		rc.Note = ep.Checkpoint
		rc.Origin, _, _ = strings.Cut(ep.Checkpoint, "\n")
	case hashtrail.ErrorCode(err) == hashtrail.EFORBIDDEN:
		rc.Reason = "These credentials may not fetch proofs (viewer tokens and filtered keys cannot)."
	case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND, hashtrail.ErrorCode(err) == hashtrail.EUNAVAILABLE:
		rc.Reason = "No signed checkpoint covers this event yet; it is signed within a few seconds. Reload the page."
	default:
		h.log.Warn("ui: event proof", "err", err.Error())
		rc.Reason = "The proof could not be loaded."
	}
	return rc
}

// proofDoc is proof.json: the API's ?proof=true answer plus what a
// browser needs to check it without another request: the verifier keys
// and the checkpoint's origin.
type proofDoc struct {
	api.EventWithProof
	LogKeys []string `json:"log_keys"`
	Origin  string   `json:"origin"`
}

// proofJSON serves GET /ui/t/{tenant}/events/{id}/proof.json.
func (h *Handler) proofJSON(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !hashtrail.ValidEventID(id) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no event with that id.")
	}
	ep, err := h.svc.EventProof(r.Context(), tenant, id, 0)
	if err != nil {
		return h.jsonError(w, err)
	}
	keys, err := h.svc.LogKeys(r.Context())
	if err != nil {
		return h.jsonError(w, err)
	}
	origin, _, _ := strings.Cut(ep.Checkpoint, "\n")
	doc := proofDoc{
		EventWithProof: api.EventWithProof{Event: ep.Event, Leaf: ep.Leaf, Proof: ep.Proof, Checkpoint: ep.Checkpoint},
		LogKeys:        keys.All, Origin: origin,
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(doc)
}

// jsonError answers a script's request with a problem body.
func (h *Handler) jsonError(w http.ResponseWriter, err error) error {
	status := statusOf(hashtrail.ErrorCode(err))
	if status == http.StatusInternalServerError {
		return err
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(map[string]any{"status": status, "title": http.StatusText(status), "detail": hashtrail.ErrorMessage(err)})
}

// changesOf prepares changes for display: strings as they are, other
// values as indented JSON, secrets as redacted.
func changesOf(cs []hashtrail.Change) []change {
	var out []change
	for _, c := range cs {
		ch := change{Field: c.Field, Redacted: c.Redacted}
		if !c.Redacted {
			ch.Old, ch.HasOld = display(c.Old)
			ch.New, ch.HasNew = display(c.New)
			ch.Block = strings.Contains(ch.Old, "\n") || strings.Contains(ch.New, "\n")
		}
		out = append(out, ch)
	}
	return out
}

// display writes a JSON value for people.
func display(v json.RawMessage) (string, bool) {
	if len(v) == 0 || string(v) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return pretty(v), true
}

// pretty indents JSON.
func pretty(v []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, v, "", "  ") != nil {
		return string(v)
	}
	return b.String()
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fmtBool writes an optional bool.
func fmtBool(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}
