package ui

import (
	"fmt"
	"net/http"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

// exportFormats are the formats the feed offers to download.
var exportFormats = []struct{ Key, Label string }{
	{"csv", "CSV"}, {"jsonl", "JSON Lines"}, {"ocsf", "OCSF"}, {"ecs", "ECS"}, {"cef", "CEF"},
}

// exportView serves GET /ui/t/{tenant}/export?format=F&q=...&range=...:
// the events of the feed's view, oldest first, as a download. It is the
// API's export under the session's credential: authorized and recorded as
// data.export in the tenant's log before any event is read (viewer tokens
// may not export), streamed page by page.
func (h *Handler) exportView(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	format, ferr := export.ParseFormat(v.Get("format"))
	if ferr != nil || format == export.FormatBundle {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "format", Message: "must be csv, jsonl, ocsf, ecs or cef"}})
	}
	fs, err := parseFeedSearch(v)
	if err != nil {
		return err
	}
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit}
	fs.apply(q, h.now())
	filter := "q=" + fs.q
	if fs.rng != "" {
		filter += "&range=" + fs.rng
	}
	if es, ok := h.svc.(hashtrail.ExportService); ok {
		seq, err := es.StartExport(r.Context(), q, string(format), filter)
		if err != nil {
			return err
		}
		if q.BeforeSeq == nil || *q.BeforeSeq > seq {
			q.BeforeSeq = &seq
		}
	}
	list, err := h.svc.Events(r.Context(), q)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", format.ContentType())
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s%s"`, tenant, h.now().UTC().Format("20060102T150405Z"), format.Extension()))
	hd.Set("Cache-Control", "no-store")
	enc, err := export.New(format, w, export.Options{})
	if err != nil {
		return err
	}
	abort := func(err error) error {
		h.log.Warn("ui: export aborted", "format", string(format), "err", err.Error())
		panic(http.ErrAbortHandler) // a broken transfer, never a clean but short file
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
		if err := enc.Flush(); err != nil {
			return abort(err)
		}
		if list, err = h.svc.Events(r.Context(), q); err != nil {
			return abort(err)
		}
	}
	if err := enc.End(); err != nil {
		return abort(err)
	}
	return nil
}
