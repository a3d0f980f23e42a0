package httpapi

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

// exportNotParams are the listing's paging parameters, which an export
// (GET /v1/tenants/{t}/export) does not take.
var exportNotParams = []string{"limit", "cursor", "order"}

// exportTenant serves GET /v1/tenants/{tenant}/export: every event that
// matches the listing filters (and q=), oldest first, in one of the export
// formats, streamed page by page so memory stays constant whatever the
// size. The export is authorized and recorded as data.export in the
// tenant's log before the first event is read (hashtrail.ExportService);
// it covers the log as of that moment.
//
// Once the first byte is sent the status cannot change: an error after it
// aborts the response, so the client sees a broken transfer (no final
// chunk), never a clean but short export.
func (s *Server) exportTenant(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
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
	}
	personal, hasPersonal := v.Get("personal_fields"), v.Has("personal_fields")
	if hasPersonal && format != export.FormatBundle {
		fields = append(fields, hashtrail.FieldError{Field: "personal_fields", Message: "applies to format=bundle only"})
	}
	v.Del("personal_fields")
	for _, k := range exportNotParams {
		if v.Has(k) {
			fields = append(fields, hashtrail.FieldError{Field: k, Message: "does not apply to an export, which returns every matching event, oldest first"})
		}
	}
	v.Del("format")
	// The listing filters, read exactly as GET .../events reads them.
	lr := r.Clone(r.Context())
	lr.URL.RawQuery = v.Encode()
	q, qerr := parseEventQuery(lr, tenant)
	if e, ok := qerr.(*hashtrail.Error); ok {
		fields = append(fields, e.Fields...)
	} else if qerr != nil {
		return qerr
	}
	if len(fields) > 0 {
		return hashtrail.InvalidFields(fields)
	}
	q.Order, q.Limit = hashtrail.OrderAsc, hashtrail.MaxLimit
	filter := readableFilter(v)

	if format == export.FormatBundle {
		// A bundle proves against the latest checkpoint: none yet, no
		// bundle (and no export recorded).
		if _, err := s.svc.Checkpoint(r.Context(), tenant); err != nil {
			return err
		}
	}
	if es, ok := s.svc.(hashtrail.ExportService); ok {
		seq, err := es.StartExport(r.Context(), q, string(format), filter)
		if err != nil {
			return err
		}
		if q.BeforeSeq == nil || *q.BeforeSeq > seq {
			q.BeforeSeq = &seq
		}
	}
	if format == export.FormatBundle {
		return s.exportBundle(w, r, q, personal, filter)
	}
	// The first page before any header, so an authorization or store
	// error is still an ordinary problem answer.
	list, err := s.svc.Events(r.Context(), q)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", format.ContentType())
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s%s"`, tenant, s.now().UTC().Format("20060102T150405Z"), format.Extension()))
	h.Set("X-Content-Type-Options", "nosniff")
	// Tenant catalogs carry no OCSF class yet: their actions take the fallback.
	enc, err := export.New(format, w, export.Options{})
	if err != nil {
		return err
	}
	fl, _ := w.(http.Flusher)
	abort := func(err error) error {
		s.log.Warn("export aborted", "tenant", tenant, "format", format, "err", err)
		panic(http.ErrAbortHandler)
	}
	if err := enc.Begin(); err != nil {
		return abort(err)
	}
	for {
		for _, e := range list.Events {
			if err := enc.Encode(e); err != nil {
				return abort(err)
			}
		}
		if list.NextCursor == "" || len(list.Events) == 0 {
			break
		}
		last := list.Events[len(list.Events)-1].Seq
		q.AfterSeq = &last
		if fl != nil {
			if err := enc.Flush(); err != nil {
				return abort(err)
			}
			fl.Flush()
		}
		if list, err = s.svc.Events(r.Context(), q); err != nil {
			return abort(err)
		}
	}
	if err := enc.End(); err != nil {
		return abort(err)
	}
	return nil
}

// readableFilter writes the filters as key=value pairs joined by "&", in
// key order, unescaped: what the data.export record shows a reader.
func readableFilter(v url.Values) string {
	keys := slices.Sorted(maps.Keys(v))
	var b strings.Builder
	for _, k := range keys {
		for _, x := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(k + "=" + x)
		}
	}
	return b.String()
}
