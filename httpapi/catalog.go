package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// catalog serves GET /v1/catalog: the standard event catalog.
func (s *Server) catalog(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, api.Catalog{
		Version: hashtrail.CatalogVersion, OCSFVersion: hashtrail.OCSFVersion, Actions: hashtrail.Catalog,
	})
}

// getTenantCatalog serves GET /v1/tenants/{tenant}/catalog.
func (s *Server) getTenantCatalog(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	c, err := s.svc.TenantCatalog(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeCatalog(w, c)
}

// putTenantCatalog serves PUT /v1/tenants/{tenant}/catalog: the whole
// document, replacing the version named by If-Match or the body's version.
func (s *Server) putTenantCatalog(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var c hashtrail.TenantCatalog
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if v, ok, err := ifMatch(r); err != nil {
		return err
	} else if ok {
		c.Version = v
	}
	out, err := s.svc.PutTenantCatalog(r.Context(), tenant, &c)
	if err != nil {
		return err
	}
	return writeCatalog(w, out)
}

// putCatalogAction serves PUT /v1/tenants/{tenant}/catalog/actions/{action}.
func (s *Server) putCatalogAction(w http.ResponseWriter, r *http.Request) error {
	tenant, action, version, err := catalogActionRequest(r)
	if err != nil {
		return err
	}
	var a hashtrail.ActionSpec
	if err := decodeJSON(w, r, &a); err != nil {
		return err
	}
	switch {
	case a.Action == "":
		a.Action = action
	case a.Action != action:
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "action", Message: "must be the action of the path, " + action}})
	}
	out, err := s.svc.PutCatalogAction(r.Context(), tenant, &a, version)
	if err != nil {
		return err
	}
	return writeCatalog(w, out)
}

// deleteCatalogAction serves DELETE /v1/tenants/{tenant}/catalog/actions/{action}.
func (s *Server) deleteCatalogAction(w http.ResponseWriter, r *http.Request) error {
	tenant, action, version, err := catalogActionRequest(r)
	if err != nil {
		return err
	}
	out, err := s.svc.DeleteCatalogAction(r.Context(), tenant, action, version)
	if err != nil {
		return err
	}
	return writeCatalog(w, out)
}

func catalogActionRequest(r *http.Request) (tenant, action string, version int64, err error) {
	if tenant, err = pathTenant(r); err != nil {
		return
	}
	if err = noParams(r); err != nil {
		return
	}
	action = r.PathValue("action")
	if !hashtrail.ValidAction(action) {
		err = hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "action", Message: "must be dotted lowercase object.verb such as invoice.pay"}})
		return
	}
	version, _, err = ifMatch(r)
	return
}

// ifMatch reads an If-Match header naming a catalog version ("3" or 3, as
// the ETag of the answers); ok is false without one.
func ifMatch(r *http.Request) (version int64, ok bool, err error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, false, nil
	}
	v, perr := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if perr != nil || v < 0 {
		return 0, false, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "If-Match", Message: `must be a catalog version as the ETag gives it, such as "3"`}})
	}
	return v, true, nil
}

func writeCatalog(w http.ResponseWriter, c *hashtrail.TenantCatalog) error {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.Version, 10)))
	return writeJSON(w, http.StatusOK, c)
}
