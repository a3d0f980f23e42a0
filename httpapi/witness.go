package httpapi

import (
	"net/http"

	"github.com/hashtrail/hashtrail/api"
)

// installationCheckpoint serves GET /v1/log/installation/checkpoint: the
// installation log's latest checkpoint, a signed note with the witnesses'
// cosignatures. It needs no credentials.
func (s *Server) installationCheckpoint(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	note, err := s.svc.InstallationCheckpoint(r.Context())
	if err != nil {
		return err
	}
	return writeText(w, note)
}

// witnessed serves GET /v1/tenants/{tenant}/log/witnessed.
func (s *Server) witnessed(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	wc, err := s.svc.Witnessed(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.Witnessed{
		Checkpoint: string(wc.Checkpoint), Index: wc.Index,
		Installation: string(wc.Installation), Proof: wc.Proof,
	})
}
