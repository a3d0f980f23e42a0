package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// pathTenant returns the {tenant} of the path. An id that cannot name a
// tenant is answered like an unknown tenant.
func pathTenant(r *http.Request) (string, error) {
	t := r.PathValue("tenant")
	if !hashtrail.ValidTenantID(t) {
		return "", errNoTenant
	}
	return t, nil
}

var errNoTenant = hashtrail.Errorf(hashtrail.ENOTFOUND, "the tenant does not exist or these credentials cannot see it")

// ingestTenant serves POST /v1/tenants/{tenant}/events.
func (s *Server) ingestTenant(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	return s.ingest(w, r, tenant)
}

// ingestInstallation serves POST /v1/events, where every event names its
// tenant or tenants.
func (s *Server) ingestInstallation(w http.ResponseWriter, r *http.Request) error {
	return s.ingest(w, r, "")
}

// ingest decodes and validates every event of the body, then hands the valid
// ones to the service. tenant is "" for POST /v1/events. Without
// ?partial=true one invalid event fails the whole request and nothing is
// written; with it the valid events are written and the others listed in
// "rejected", unless none is valid.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, tenant string) error {
	p, err := queryParams(r, "partial")
	if err != nil {
		return err
	}
	partial := p.bool("partial")
	if err := p.err(); err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(w, r, hashtrail.MaxBatchBytes)
	if err != nil {
		return err
	}
	raws, err := hashtrail.SplitBatch(body)
	if err != nil {
		return err
	}
	s.stats.batchEvents.Observe(float64(len(raws)))

	// A body that is one event has field paths without "events[i]".
	single := len(raws) == 1 && bytes.Equal(raws[0], body)
	opt := hashtrail.DecodeOptions{Installation: tenant == "", PathTenant: tenant}
	subs, rejected := decodeBatch(raws, single, opt, hashtrail.NewTime(s.now()))
	if len(rejected) > 0 && (!partial || len(subs) == 0) {
		return invalidBatch(rejected, len(raws), single)
	}
	ireq := &hashtrail.IngestRequest{Tenant: tenant, Submissions: subs, Single: single, Partial: partial}
	receipts, err := s.svc.Ingest(r.Context(), ireq)
	if len(ireq.Rejected) > 0 { // left out by the tenant's catalog
		rejected = append(rejected, ireq.Rejected...)
		slices.SortFunc(rejected, func(a, b api.Rejection) int { return a.Index - b.Index })
		if err != nil && hashtrail.ErrorCode(err) == hashtrail.EINVALID {
			return invalidBatch(rejected, len(raws), single) // none was left
		}
	}
	if err != nil {
		return err
	}
	if receipts == nil {
		receipts = []hashtrail.Receipt{}
	}
	return writeJSON(w, http.StatusOK, api.IngestResponse{Events: receipts, Rejected: rejected})
}

// decodeBatch decodes every raw event and sorts them into the valid
// submissions and the rejected ones.
func decodeBatch(raws []json.RawMessage, single bool, opt hashtrail.DecodeOptions, now hashtrail.Time) ([]*hashtrail.Submission, []api.Rejection) {
	var (
		subs     []*hashtrail.Submission
		rejected []api.Rejection
	)
	for i, raw := range raws {
		prefix := fmt.Sprintf("events[%d]", i)
		if single {
			prefix = ""
		}
		sub, errs := hashtrail.DecodeEvent(raw, prefix, opt, now)
		if len(errs) > 0 {
			rejected = append(rejected, api.Rejection{Index: i, Errors: errs})
			continue
		}
		sub.Index = i
		subs = append(subs, sub)
	}
	return subs, rejected
}

// invalidBatch is the 400 for a batch with invalid events: every error of
// every event.
func invalidBatch(rejected []api.Rejection, total int, single bool) error {
	var fields []hashtrail.FieldError
	for _, rj := range rejected {
		fields = append(fields, rj.Errors...)
	}
	msg := "the event is invalid; nothing was written"
	if !single {
		msg = fmt.Sprintf("%d of %d events are invalid; nothing was written", len(rejected), total)
	}
	return &hashtrail.Error{Code: hashtrail.EINVALID, Message: msg, Fields: fields}
}

// listEvents serves GET /v1/tenants/{tenant}/events.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	q, err := parseEventQuery(r, tenant)
	if err != nil {
		return err
	}
	list, err := s.svc.Events(r.Context(), q)
	if err != nil {
		return err
	}
	out := api.EventList{Events: []*hashtrail.Event{}}
	if list != nil {
		out.NextCursor = list.NextCursor
		if list.Events != nil {
			out.Events = list.Events
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// getEvent serves GET /v1/tenants/{tenant}/events/{id}.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	p, err := queryParams(r, "proof", "wait")
	if err != nil {
		return err
	}
	proof := p.bool("proof")
	wait := p.wait()
	if wait > 0 && !proof {
		p.fail("wait", "applies only with proof=true")
	}
	if err := p.err(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !hashtrail.ValidEventID(id) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "no event with that id")
	}
	if proof {
		return s.eventProof(w, r, tenant, id, wait)
	}
	ev, err := s.svc.Event(r.Context(), tenant, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ev)
}
