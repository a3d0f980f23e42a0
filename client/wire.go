package client

import (
	"bytes"
	"encoding/json"
	"fmt"

	hashtrail "github.com/hashtrail/hashtrail"
)

// wireEvent is an event as a client submits it (DESIGN §1 client fields,
// plus "tenant" or the fan-out "tenants"): no server-assigned member, and
// nothing empty, so what was sent is exactly what was set.
type wireEvent struct {
	ID          string             `json:"id"`
	Time        hashtrail.Time     `json:"time,omitzero"`
	Action      string             `json:"action"`
	Category    hashtrail.Category `json:"category,omitempty"`
	Severity    hashtrail.Severity `json:"severity,omitempty"`
	Outcome     hashtrail.Outcome  `json:"outcome,omitempty"`
	Reason      string             `json:"reason,omitempty"`
	Error       string             `json:"error,omitempty"`
	Description string             `json:"description,omitempty"`
	Actor       *hashtrail.Actor   `json:"actor,omitempty"`
	Targets     []hashtrail.Target `json:"targets,omitempty"`
	Context     *hashtrail.Context `json:"context,omitempty"`
	Service     *hashtrail.Service `json:"service,omitempty"`
	Changes     []hashtrail.Change `json:"changes,omitempty"`
	Metadata    json.RawMessage    `json:"metadata,omitempty"`
	Tags        []string           `json:"tags,omitempty"`
	Output      *hashtrail.Output  `json:"output,omitempty"`
	Tenant      string             `json:"tenant,omitempty"`
	Tenants     []string           `json:"tenants,omitempty"`
}

// pending is one encoded event on its way: its wire bytes never change, so
// every try sends the same content under the same id.
type pending struct {
	body []byte
	wait *waiter
	num  uint64 // its number in the spool, when it came from there

	id, tenant, action string // for reports; parsed from body when empty
	tenants            []string
}

// marshalEvent returns the wire bytes of ev for tenant (or the fan-out
// tenants). ev must have its id.
func marshalEvent(ev *hashtrail.Event, tenant string, tenants []string) ([]byte, error) {
	w := wireEvent{
		ID: ev.ID, Time: ev.Time, Action: ev.Action, Category: ev.Category, Severity: ev.Severity,
		Outcome: ev.Outcome, Reason: ev.Reason, Error: ev.Error, Description: ev.Description,
		Actor: ev.Actor, Targets: ev.Targets, Context: ev.Context, Service: ev.Service,
		Changes: ev.Changes, Metadata: ev.Metadata, Tags: ev.Tags, Output: ev.Output,
		Tenant: tenant, Tenants: tenants,
	}
	if w.Context != nil && *w.Context == (hashtrail.Context{}) {
		w.Context = nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) > hashtrail.MaxEventBytes {
		return nil, fmt.Errorf("the event is %d bytes encoded; the limit is %d", len(b), hashtrail.MaxEventBytes)
	}
	return b, nil
}

// encode turns a queued event into a pending one, giving it an id.
func (c *Client) encode(e entry) (*pending, error) {
	ev := e.ev
	id := ev.ID
	if id == "" {
		id = hashtrail.NewEventID()
	}
	tenant := ev.Tenant
	if tenant == "" && len(e.tenants) == 0 {
		tenant = c.cfg.tenant
	}
	cp := *ev
	cp.ID = id
	body, err := marshalEvent(&cp, tenant, e.tenants)
	return &pending{body: body, wait: e.wait, id: id, tenant: tenant, tenants: e.tenants, action: ev.Action}, err
}

// describe fills the report fields of a pending read back from the spool.
func (p *pending) describe() {
	if p.id != "" {
		return
	}
	var w struct {
		ID      string   `json:"id"`
		Action  string   `json:"action"`
		Tenant  string   `json:"tenant"`
		Tenants []string `json:"tenants"`
	}
	_ = json.Unmarshal(p.body, &w)
	p.id, p.action, p.tenant, p.tenants = w.ID, w.Action, w.Tenant, w.Tenants
}

// eventError builds the report of a pending the client gives up on.
func (p *pending) eventError(status int, fields []hashtrail.FieldError, err error) *EventError {
	p.describe()
	return &EventError{ID: p.id, Tenant: p.tenant, Tenants: p.tenants, Action: p.action, Status: status, Fields: fields, Err: err}
}
