package httpapi

import (
	"fmt"
	"net/http"
	"net/url"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

// subjectService returns the service's SubjectService.
func (s *Server) subjectService() (hashtrail.SubjectService, error) {
	ss, ok := s.svc.(hashtrail.SubjectService)
	if !ok {
		return nil, hashtrail.Errorf(hashtrail.EUNAVAILABLE, "this server does not answer data subject requests")
	}
	return ss, nil
}

// pathSubject returns the {subject} of the path as given: the engine checks
// it after authorization. It is never logged (personal data).
func pathSubject(r *http.Request) (string, error) { return r.PathValue("subject"), nil }

// erasedAnswer is the answer of a tenant's erasure.
type erasedAnswer struct {
	RedactedEvents int64 `json:"redacted_events"`
}

// eraseSubject serves POST /v1/tenants/{tenant}/subjects/{subject}/erase.
func (s *Server) eraseSubject(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	subject, err := pathSubject(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	ss, err := s.subjectService()
	if err != nil {
		return err
	}
	n, err := ss.EraseSubject(r.Context(), tenant, subject)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, erasedAnswer{RedactedEvents: n})
}

// eraseSubjectEverywhere serves POST /v1/subjects/{subject}/erase.
func (s *Server) eraseSubjectEverywhere(w http.ResponseWriter, r *http.Request) error {
	subject, err := pathSubject(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	ss, err := s.subjectService()
	if err != nil {
		return err
	}
	per, err := ss.EraseSubjectEverywhere(r.Context(), subject)
	if err != nil {
		return err
	}
	out := struct {
		RedactedEvents int64                   `json:"redacted_events"`
		Tenants        map[string]erasedAnswer `json:"tenants"`
	}{Tenants: map[string]erasedAnswer{}}
	for t, n := range per {
		out.RedactedEvents += n
		out.Tenants[t] = erasedAnswer{RedactedEvents: n}
	}
	return writeJSON(w, http.StatusOK, out)
}

// subjectEvents serves GET /v1/tenants/{tenant}/subjects/{subject}/events:
// every event in which the subject has a role, streamed as an export
// (?format=, JSON Lines by default).
func (s *Server) subjectEvents(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	subject, err := pathSubject(r)
	if err != nil {
		return err
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "", Message: "the query string is malformed"}})
	}
	var fields []hashtrail.FieldError
	format, ferr := export.ParseFormat(v.Get("format"))
	if ferr != nil {
		fields = append(fields, hashtrail.FieldError{Field: "format", Message: ferr.Error()})
	} else if format == export.FormatBundle {
		fields = append(fields, hashtrail.FieldError{Field: "format", Message: "an evidence bundle is not offered for a subject's events"})
	}
	for k := range v {
		if k != "format" {
			fields = append(fields, hashtrail.FieldError{Field: k, Message: "is not a parameter of this route"})
		}
	}
	if len(fields) > 0 {
		return hashtrail.InvalidFields(fields)
	}
	ss, err := s.subjectService()
	if err != nil {
		return err
	}
	var enc export.Encoder
	start := func() error {
		h := w.Header()
		h.Set("Content-Type", format.ContentType())
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-subject-%s%s"`, tenant, s.now().UTC().Format("20060102T150405Z"), format.Extension()))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		var err error
		if enc, err = export.New(format, w, export.Options{}); err != nil {
			return err
		}
		return enc.Begin()
	}
	// Headers go out with the first event, so that an authorization or
	// store error before it is an ordinary problem answer.
	err = ss.SubjectEvents(r.Context(), tenant, subject, func(e *hashtrail.Event) error {
		if enc == nil {
			if err := start(); err != nil {
				return err
			}
		}
		return enc.Encode(e)
	})
	if err != nil {
		if enc == nil {
			return err
		}
		s.log.Warn("subject export aborted", "tenant", tenant, "err", err) // no subject: personal data
		panic(http.ErrAbortHandler)
	}
	if enc == nil {
		if err := start(); err != nil {
			return err
		}
	}
	if err := enc.End(); err != nil {
		s.log.Warn("subject export aborted", "tenant", tenant, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
