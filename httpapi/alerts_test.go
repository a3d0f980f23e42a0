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
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestAlertRoutes drives the alert and digest routes against the real
// engine: create, problems naming the field, a patch that removes the
// threshold with null and keeps a redacted secret, firings, digest
// settings, and a send refused without a mail server.
func TestAlertRoutes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{})
	t.Cleanup(func() {
		l.Close(context.Background())
		st.Close()
	})
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	k, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(l, httpapi.Config{})
	call := func(method, path, body string, out any) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+k.Secret)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if out != nil && w.Code < 300 {
			if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, w.Body)
			}
		}
		return w
	}
	wantField := func(w *httptest.ResponseRecorder, field string) {
		t.Helper()
		var p api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 400 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, f := range p.Errors {
			if f.Field == field {
				return
			}
		}
		t.Errorf("no error naming %s: %s", field, w.Body)
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wantField(call("POST", "/v1/tenants/acme/alerts", `{"threshold":{"count":5,"window":"2d"},"email":["a@example.com"]}`, nil), "threshold.window")
	wantField(call("POST", "/v1/tenants/acme/alerts", `{"colour":"red"}`, nil), "colour")
	wantField(call("POST", "/v1/tenants/acme/alerts", `{"webhook":{"url":"https://h.example.com","secrets":["nope"]}}`, nil), "webhook.secrets[0]")

	var rule hashtrail.AlertRule
	w := call("POST", "/v1/tenants/acme/alerts", `{"name":"bf","filter":"action:user.login outcome:failure","threshold":{"count":5,"window":"10m","group_by":"actor"},"webhook":{"url":"https://h.example.com/a","secrets":["`+secret+`"]}}`, &rule)
	if w.Code != 201 || w.Header().Get("Location") != "/v1/tenants/acme/alerts/"+rule.ID || rule.Webhook.Secrets[0] != hashtrail.RedactedSecret {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var up hashtrail.AlertRule
	w = call("PATCH", "/v1/tenants/acme/alerts/"+rule.ID, `{"threshold":null,"novelty":{"field":"country","per":"actor"},"webhook":{"url":"https://h.example.com/b","secrets":["[redacted]"]}}`, &up)
	if w.Code != 200 || up.Threshold != nil || up.Novelty == nil || up.Webhook.URL != "https://h.example.com/b" || up.Name != "bf" {
		t.Fatalf("patch: %d %s", w.Code, w.Body)
	}
	// The stored rule kept the secret sent back redacted.
	doc, err := st.TenantConfig(ctx, "acme", "alerts")
	if err != nil || !strings.Contains(string(doc.Value), secret) || !strings.Contains(string(doc.Value), "h.example.com/b") {
		t.Fatalf("stored rules: %v %s", err, doc.Value)
	}
	wantField(call("PATCH", "/v1/tenants/acme/alerts/"+rule.ID, `{"novelty":{"field":"mood"}}`, nil), "novelty.field")
	wantField(call("PATCH", "/v1/tenants/acme/alerts/"+rule.ID, `{"webhook":{"url":1}}`, nil), "webhook.url")

	var list api.AlertList
	if w := call("GET", "/v1/tenants/acme/alerts", "", &list); w.Code != 200 || len(list.Alerts) != 1 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	var fs api.FiringList
	if w := call("GET", "/v1/tenants/acme/alerts/"+rule.ID+"/firings?limit=5", "", &fs); w.Code != 200 || fs.Firings == nil || len(fs.Firings) != 0 {
		t.Fatalf("firings: %d %s", w.Code, w.Body)
	}
	wantField(call("GET", "/v1/tenants/acme/alerts/"+rule.ID+"/firings?limit=0", "", nil), "limit")
	if w := call("GET", "/v1/tenants/acme/alerts/alr_nope/firings", "", nil); w.Code != 404 {
		t.Errorf("firings of an unknown rule: %d", w.Code)
	}

	var d hashtrail.DigestSettings
	if w := call("GET", "/v1/tenants/acme/digest", "", &d); w.Code != 200 || d.Schedule != "off" {
		t.Fatalf("digest: %d %s", w.Code, w.Body)
	}
	wantField(call("PUT", "/v1/tenants/acme/digest", `{"schedule":"daily","to":["x"],"hour":7}`, nil), "to[0]")
	wantField(call("PUT", "/v1/tenants/acme/digest", `{"schedule":"daily","to":["a@example.com"],"hour":25}`, nil), "hour")
	if w := call("PUT", "/v1/tenants/acme/digest", `{"schedule":"weekly","to":["a@example.com"],"hour":6}`, &d); w.Code != 200 || d.Schedule != "weekly" || d.Hour != 6 {
		t.Fatalf("put digest: %d %s", w.Code, w.Body)
	}
	if w := call("POST", "/v1/tenants/acme/digest/send", "", nil); w.Code != http.StatusConflict {
		t.Errorf("send without a mail server: %d %s", w.Code, w.Body)
	}
	if w := call("DELETE", "/v1/tenants/acme/alerts/"+rule.ID, "", nil); w.Code != 204 {
		t.Errorf("delete: %d", w.Code)
	}
	if w := call("GET", "/v1/tenants/acme/alerts/"+rule.ID, "", nil); w.Code != 404 {
		t.Errorf("get after delete: %d", w.Code)
	}
}
