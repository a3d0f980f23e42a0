package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestViewerTokenOverHTTP mints a viewer token through the API and uses it
// as a browser would: CORS only for its allowed origin, the filter kept,
// hidden fields gone.
func TestViewerTokenOverHTTP(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{})
	t.Cleanup(func() { l.Close(context.Background()); st.Close() })
	admin, err := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	s := httpapi.New(l, httpapi.Config{})
	do := func(method, target, auth, origin, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if auth != "" {
			r.Header.Set("Authorization", "Bearer "+auth)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		return rec
	}
	if rec := do("POST", "/v1/tenants", admin.Secret, "", `{"id":"acme"}`); rec.Code != 201 {
		t.Fatalf("create tenant: %d %s", rec.Code, rec.Body)
	}
	rec := do("POST", "/v1/tenants/acme/events", admin.Secret, "", `{"events":[
		{"id":"in","action":"project.update","actor":{"type":"user","id":"1"},"targets":[{"type":"project","id":"7"}],"context":{"ip":"203.0.113.5","user_agent":"ua"}},
		{"id":"out","action":"project.update","actor":{"type":"user","id":"1"},"targets":[{"type":"project","id":"8"}]}]}`)
	if rec.Code != 200 {
		t.Fatalf("ingest: %d %s", rec.Code, rec.Body)
	}
	rec = do("POST", "/v1/tenants/acme/viewer-tokens", admin.Secret, "", `{"filter":"target:project:7","allowed_origins":["https://app.example.com"]}`)
	if rec.Code != 201 {
		t.Fatalf("mint: %d %s", rec.Code, rec.Body)
	}
	var tok hashtrail.ViewerToken
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}

	rec = do("GET", "/v1/tenants/acme/events?target=project:8", tok.Token, "https://app.example.com", "")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), `"out"`) {
		t.Fatalf("widened by a parameter: %d %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Errorf("allowed origin got ACAO %q", got)
	}
	rec = do("GET", "/v1/tenants/acme/events", tok.Token, "https://evil.example", "")
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin: %d ACAO %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if !strings.Contains(rec.Body.String(), `"in"`) || strings.Contains(rec.Body.String(), "203.0.113.5") || strings.Contains(rec.Body.String(), `"ua"`) {
		t.Errorf("list: %s", rec.Body)
	}
	if rec := do("GET", "/v1/tenants/acme/events", admin.Secret, "https://app.example.com", ""); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("an API key got CORS headers")
	}
	if rec := do("GET", "/v1/tenants/acme/events?q=ip:203.0.113.0/24", tok.Token, "", ""); rec.Code != 400 {
		t.Errorf("search by a hidden field: %d %s", rec.Code, rec.Body)
	}
	if rec := do("GET", "/v1/tenants/acme/events/out", tok.Token, "", ""); rec.Code != 404 {
		t.Errorf("event outside the filter: %d", rec.Code)
	}
	// Proofs are scoped like reads (this server signs nothing, hence 503
	// for the event the token sees; ledger's TestViewerEventProof checks
	// the proofs themselves).
	if rec := do("GET", "/v1/tenants/acme/events/out?proof=true", tok.Token, "", ""); rec.Code != 404 {
		t.Errorf("proof outside the filter with a viewer token: %d %s", rec.Code, rec.Body)
	}
	if rec := do("GET", "/v1/tenants/acme/events/in?proof=true", tok.Token, "", ""); rec.Code != 503 {
		t.Errorf("proof with a viewer token: %d %s", rec.Code, rec.Body)
	}
	// A preflight names no token: GET and Authorization are allowed.
	r := httptest.NewRequest("OPTIONS", "/v1/tenants/acme/events", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "GET")
	r.Header.Set("Access-Control-Request-Headers", "authorization")
	pre := httptest.NewRecorder()
	s.ServeHTTP(pre, r)
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Headers") != "Authorization" {
		t.Errorf("preflight: %d %v", pre.Code, pre.Header())
	}
	if rec := do("DELETE", "/v1/tenants/acme/viewer-tokens/"+tok.TokenID, admin.Secret, "", ""); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := do("GET", "/v1/tenants/acme/events", tok.Token, "", ""); rec.Code != 401 {
		t.Errorf("revoked token: %d", rec.Code)
	}
}
