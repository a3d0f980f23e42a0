package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

// exportBundle answers GET /v1/tenants/{tenant}/export?format=bundle: an
// evidence bundle (docs/integrity.md) of the events q selects, proved
// against the tenant's latest checkpoint, for `hashtrail verify --bundle`.
// personal lists the tenant's personal change fields (comma-separated)
// when not the default. Events newer than the checkpoint are left out; the
// X-Hashtrail-Bundle-Left trailer counts them.
func (s *Server) exportBundle(w http.ResponseWriter, r *http.Request, q *hashtrail.Query, personal, filter string) error {
	var pf []string
	if personal != "" {
		for _, f := range strings.Split(personal, ",") {
			if f = strings.TrimSpace(f); f != "" {
				pf = append(pf, f)
			}
		}
	}
	h := w.Header()
	h.Set("Content-Type", export.FormatBundle.ContentType())
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s%s"`, q.Tenant, s.now().UTC().Format("20060102T150405Z"), export.FormatBundle.Extension()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Trailer", "X-Hashtrail-Bundle-Entries, X-Hashtrail-Bundle-Left")
	cw := &countingWriter{w: w}
	n, left, err := export.WriteBundle(r.Context(), cw, s.svc, q, export.BundleOptions{
		PersonalFields: pf, Query: filter, Now: hashtrail.NewTime(s.now()),
	})
	if err != nil {
		if cw.n == 0 {
			for _, k := range []string{"Content-Type", "Content-Disposition", "Trailer"} {
				h.Del(k)
			}
			return err // nothing sent yet: an ordinary problem answer
		}
		s.log.Warn("bundle export aborted", "tenant", q.Tenant, "err", err)
		panic(http.ErrAbortHandler)
	}
	h.Set("X-Hashtrail-Bundle-Entries", fmt.Sprint(n))
	h.Set("X-Hashtrail-Bundle-Left", fmt.Sprint(left))
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
