package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// asset is one embedded static file with its content hash.
type asset struct {
	body []byte
	etag string // quoted
	hash string // the first 12 hex digits of its SHA-256
	mime string
}

// assets are the files of static/, by name.
type assets struct{ files map[string]*asset }

func loadAssets() (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		typ := mime.TypeByExtension(path.Ext(p))
		if typ == "" {
			typ = "application/octet-stream"
		}
		a.files[strings.TrimPrefix(p, "static/")] = &asset{body: body, etag: `"` + h[:32] + `"`, hash: h[:12], mime: typ}
		return nil
	})
	return a, err
}

// url returns the versioned URL of a static file, or "" if there is none
// (so a page can leave out a script another part of the project has not
// shipped).
func (a *assets) url(name string) string {
	f, ok := a.files[name]
	if !ok {
		return ""
	}
	return "/ui/static/" + name + "?v=" + f.hash
}

// static serves GET /ui/static/{file}: with ?v= equal to the content hash
// it is cacheable for a year; otherwise it is revalidated by ETag. Static
// files are public (the embed is loaded by other sites), so any origin may
// load them.
func (h *Handler) static(w http.ResponseWriter, r *http.Request) error {
	f, ok := h.assets.files[r.PathValue("file")]
	if !ok {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no such file.")
	}
	hd := w.Header()
	hd.Set("Content-Type", f.mime)
	hd.Set("ETag", f.etag)
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if r.URL.Query().Get("v") == f.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	w.Write(f.body)
	return nil
}

// pageNames are the templates of whole pages; each is parsed with the
// layout and the shared partials.
var pageNames = []string{
	"signin", "error", "tenants", "feed", "event", "person", "object", "dashboard",
	"integrity", "keys", "keycreated", "retention", "sinks", "alerts",
}

// parsePages parses every page with the layout.
func parsePages(a *assets, now func() time.Time) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs(a, now)).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	// Fragments that scripts fetch: the feed's rows.
	rows, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/feed.html")
	if err != nil {
		return nil, err
	}
	pages["rows"] = rows
	return pages, nil
}

// view is what every page template gets: the frame (who is signed in, the
// tenant, the navigation) and the page's own Data.
type view struct {
	Title   string
	Section string // the navigation entry to highlight
	Tenant  string
	// Tenants are the tenants an installation-wide key may switch to.
	Tenants []string
	Signed  bool
	Role    hashtrail.Role
	Viewer  bool
	Admin   bool
	Install bool // an installation-wide key
	KeyID   string
	CSRF    string
	Data    any
}

// frame fills the parts of a view every page shares.
func (h *Handler) frame(r *http.Request, title, section, tenant string, data any) *view {
	v := &view{Title: title, Section: section, Tenant: tenant, Data: data}
	p := hashtrail.PrincipalFrom(r.Context())
	if p == nil {
		return v
	}
	v.Signed, v.Role, v.Viewer, v.KeyID = true, p.Role, p.Viewer != nil, p.KeyID
	v.Admin = p.Role == hashtrail.RoleAdmin && p.Viewer == nil
	v.Install = p.Tenant == hashtrail.AllTenants
	if s := sessionFrom(r); s != nil {
		v.CSRF = s.CSRF
	}
	if v.Install {
		if ts, err := h.svc.Tenants(r.Context()); err == nil {
			for _, t := range ts {
				v.Tenants = append(v.Tenants, t.ID)
			}
		}
	}
	return v
}

// render writes a page.
func (h *Handler) render(w http.ResponseWriter, status int, page string, v *view) error {
	t, ok := h.pages[page]
	if !ok {
		return fmt.Errorf("ui: no template %q", page)
	}
	var buf bytes.Buffer
	name := "layout.html"
	if page == "rows" {
		name = "rows"
	}
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("ui: rendering %s: %w", page, err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// errorData is the error page's data.
type errorData struct {
	Status  int
	Heading string
	Message string
	Fields  []hashtrail.FieldError
}

// statusOf maps an error code to an HTTP status, as the API does.
func statusOf(code string) int {
	switch code {
	case hashtrail.EINVALID:
		return http.StatusBadRequest
	case hashtrail.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case hashtrail.EFORBIDDEN:
		return http.StatusForbidden
	case hashtrail.ENOTFOUND:
		return http.StatusNotFound
	case hashtrail.ECONFLICT:
		return http.StatusConflict
	case hashtrail.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case hashtrail.ERATELIMIT:
		return http.StatusTooManyRequests
	case hashtrail.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var headings = map[int]string{
	400: "That request is not valid", 401: "Sign in needed", 403: "Not allowed", 404: "Not found",
	409: "Conflict", 413: "Too large", 429: "Slow down", 503: "Unavailable", 500: "Something went wrong",
}

// renderError writes the error page for err. Internal errors are logged
// (without the path, which may name people) and shown without details.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	code := hashtrail.ErrorCode(err)
	status := statusOf(code)
	d := &errorData{Status: status, Heading: headings[status], Message: hashtrail.ErrorMessage(err)}
	if e, ok := err.(*hashtrail.Error); ok {
		d.Fields = e.Fields
	}
	if status == http.StatusInternalServerError {
		h.log.LogAttrs(r.Context(), slog.LevelError, "ui: internal error", slog.String("method", r.Method), slog.String("err", err.Error()))
		d.Message = "The server could not answer. The details are in its log."
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if rerr := h.render(w, status, "error", h.frame(r, d.Heading, "", r.PathValue("tenant"), d)); rerr != nil {
		http.Error(w, http.StatusText(status), status)
	}
}

// funcs are the template functions.
func funcs(a *assets, now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"asset":    a.url,
		"exact":    exactTime,
		"iso":      func(t hashtrail.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":      func(t hashtrail.Time) string { return ago(now().Sub(t.Time)) },
		"icon":     categoryIcon,
		"sevrank":  func(s hashtrail.Severity) int { return s.Rank() },
		"pathesc":  pathEscape,
		"comma":    comma,
		"add":      func(a, b int) int { return a + b },
		"join":     strings.Join,
		"truncate": truncate,
		"deref":    deref,
		"cell":     cell,
		"top": func(caption, head string, rows []topRow) map[string]any {
			return map[string]any{"Caption": caption, "Head": head, "Rows": rows}
		},
	}
}

// exactTime writes a time for people: "2026-11-23 11:27:50 UTC".
func exactTime(t hashtrail.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ago writes a duration as "5 minutes ago".
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return plural(int(d/(30*24*time.Hour)), "month") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// comma writes an integer with thousands separators.
func comma(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// categoryIcon is the sprite symbol of a category.
func categoryIcon(c hashtrail.Category) string {
	if c.Valid() {
		return "i-" + string(c)
	}
	return "i-resource"
}

// deref returns the value an optional field points to.
func deref(v any) any {
	switch p := v.(type) {
	case *bool:
		if p != nil {
			return *p
		}
		return false
	case *int:
		if p != nil {
			return *p
		}
		return 0
	}
	return v
}
