package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// maxWait bounds ?wait= on event proofs and receipts.
const maxWait = 30 * time.Second

// writeText answers body as text/plain.
func writeText(w http.ResponseWriter, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeText)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// logKey serves GET /v1/log/key: the current note verifier key.
func (s *Server) logKey(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	keys, err := s.svc.LogKeys(r.Context())
	if err != nil {
		return err
	}
	return writeText(w, []byte(keys.Current+"\n"))
}

// logKeys serves GET /v1/log/keys: every verifier key ever used, one a line.
func (s *Server) logKeys(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	keys, err := s.svc.LogKeys(r.Context())
	if err != nil {
		return err
	}
	// Public keys, for any page: the embeddable viewer checks checkpoint
	// signatures in the browser of another site.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	var b strings.Builder
	for _, k := range keys.All {
		b.WriteString(k)
		b.WriteByte('\n')
	}
	return writeText(w, []byte(b.String()))
}

// logCheckpoint serves GET /v1/tenants/{tenant}/log/checkpoint.
func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	cp, err := s.svc.Checkpoint(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeText(w, cp.Note)
}

// inclusionProof serves GET /v1/tenants/{tenant}/log/proof/inclusion.
func (s *Server) inclusionProof(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	p, err := queryParams(r, "seq", "size")
	if err != nil {
		return err
	}
	seq := p.int64("seq", 0, true)
	size := p.int64("size", 1, false)
	if err := p.err(); err != nil {
		return err
	}
	proof, err := s.svc.InclusionProof(r.Context(), tenant, seq, size)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, proof)
}

// consistencyProof serves GET /v1/tenants/{tenant}/log/proof/consistency.
func (s *Server) consistencyProof(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	p, err := queryParams(r, "from", "to")
	if err != nil {
		return err
	}
	from := p.int64("from", 1, true)
	to := p.int64("to", 1, false)
	if err := p.err(); err != nil {
		return err
	}
	proof, err := s.svc.ConsistencyProof(r.Context(), tenant, from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, proof)
}

// eventProof answers GET /v1/tenants/{tenant}/events/{id}?proof=true.
func (s *Server) eventProof(w http.ResponseWriter, r *http.Request, tenant, id string, wait time.Duration) error {
	ep, err := s.svc.EventProof(r.Context(), tenant, id, wait)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.EventWithProof{Event: ep.Event, Leaf: ep.Leaf, Proof: ep.Proof, Checkpoint: ep.Checkpoint})
}

// eventReceipt serves GET /v1/tenants/{tenant}/events/{id}/receipt.
func (s *Server) eventReceipt(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	p, err := queryParams(r, "wait")
	if err != nil {
		return err
	}
	wait := p.wait()
	if err := p.err(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !hashtrail.ValidEventID(id) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "no event with that id")
	}
	receipt, err := s.svc.Receipt(r.Context(), tenant, id, wait)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", id+".tlog-proof"))
	return writeText(w, receipt)
}

// logTile serves GET /v1/tenants/{tenant}/log/tile/{path...}: C2SP
// tlog-tiles hash tiles. Full tiles never change, so they may be cached.
func (s *Server) logTile(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	path := r.PathValue("path")
	tile, err := s.svc.Tile(r.Context(), tenant, path)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeTile)
	h.Set("Content-Length", strconv.Itoa(len(tile)))
	if !strings.Contains(path, ".p/") {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(tile)
	return nil
}

// int64 reads a whole number of at least lo; absent is 0, or an error when
// required.
func (p *params) int64(name string, lo int64, required bool) int64 {
	s := p.one(name)
	if s == "" {
		if required {
			p.fail(name, "is required")
		}
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo {
		p.fail(name, fmt.Sprintf("must be a whole number of at least %d", lo))
		return 0
	}
	return n
}

// wait reads ?wait=, a Go duration from 0 to maxWait.
func (p *params) wait() time.Duration {
	s := p.one("wait")
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxWait {
		p.fail("wait", fmt.Sprintf("must be a duration from 0s to %s, such as 2s", maxWait))
		return 0
	}
	return d
}
