package httpapi

import (
	"net/http"

	hashtrail "github.com/hashtrail/hashtrail"
)

// savedSearchRequest is the body of POST and PUT .../searches: the
// definition of a saved search.
type savedSearchRequest struct {
	Name    string                `json:"name"`
	Query   string                `json:"query"`
	Range   string                `json:"range"`
	GroupBy hashtrail.StatsField  `json:"group_by"`
	Bucket  hashtrail.StatsBucket `json:"bucket"`
	Columns []string              `json:"columns"`
}

func (q *savedSearchRequest) search() *hashtrail.SavedSearch {
	return &hashtrail.SavedSearch{Name: q.Name, Query: q.Query, Range: q.Range, GroupBy: q.GroupBy, Bucket: q.Bucket, Columns: q.Columns}
}

// listSearches serves GET /v1/tenants/{tenant}/searches.
func (s *Server) listSearches(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	ss, err := s.svc.SavedSearches(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ss)
}

// createSearch serves POST /v1/tenants/{tenant}/searches.
func (s *Server) createSearch(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req savedSearchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ss, err := s.svc.CreateSavedSearch(r.Context(), tenant, req.search())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ss)
}

// getSearch serves GET /v1/tenants/{tenant}/searches/{search}.
func (s *Server) getSearch(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	ss, err := s.svc.SavedSearch(r.Context(), tenant, r.PathValue("search"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ss)
}

// putSearch serves PUT /v1/tenants/{tenant}/searches/{search}: the whole
// definition is replaced.
func (s *Server) putSearch(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req savedSearchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ss, err := s.svc.UpdateSavedSearch(r.Context(), tenant, r.PathValue("search"), req.search())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ss)
}

// deleteSearch serves DELETE /v1/tenants/{tenant}/searches/{search}.
func (s *Server) deleteSearch(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	if err := s.svc.DeleteSavedSearch(r.Context(), tenant, r.PathValue("search")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
