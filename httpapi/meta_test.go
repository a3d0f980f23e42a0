package httpapi_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/httpapi"
)

func TestHealthAndReady(t *testing.T) {
	s := newServer(t)
	var st api.Status
	decodeJSON(t, s.do(t, req{method: "GET", target: "/healthz"}), 200, &st)
	if st.Status != "ok" {
		t.Errorf("healthz = %+v", st)
	}
	decodeJSON(t, s.do(t, req{method: "GET", target: "/readyz"}), 200, &st)
	if st.Status != "ready" {
		t.Errorf("readyz = %+v", st)
	}
	s.svc.readyErr = errors.New("store unreachable: dial tcp 10.0.0.1:5432")
	rec := s.do(t, req{method: "GET", target: "/readyz"})
	p := decodeProblem(t, rec, 503)
	if p.Code != hashtrail.EUNAVAILABLE || rec.Header().Get("Retry-After") == "" || strings.Contains(p.Detail, "dial") {
		t.Errorf("readyz problem = %+v, Retry-After %q", p, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(s.logs.String(), "store unreachable") {
		t.Error("the readiness failure is not logged")
	}
	// Liveness does not depend on the service.
	decodeJSON(t, s.do(t, req{method: "GET", target: "/healthz"}), 200, &st)
}

func TestCatalog(t *testing.T) {
	s := newServer(t)
	var c api.Catalog
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/catalog"}), 200, &c)
	if len(c.Actions) != len(hashtrail.Catalog) || c.Actions[0].Action != hashtrail.Catalog[0].Action {
		t.Errorf("catalog = %+v", c)
	}
}

func TestMetrics(t *testing.T) {
	s := newServer(t)
	decodeProblem(t, s.do(t, req{method: "GET", target: "/metrics"}), 404) // none configured

	reg := prometheus.NewRegistry()
	s = newServer(t, func(c *httpapi.Config) {
		c.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
	reg.MustRegister(s.Collectors()...)
	s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: batch(goodEvent, goodEvent, goodEvent)})
	s.do(t, req{method: "GET", target: "/v1/tenants/acme/events?limit=x"})
	s.do(t, req{method: "GET", target: "/no/such/thing"})
	rec := s.do(t, req{method: "GET", target: "/metrics", headers: []string{"Authorization", ""}})
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`hashtrail_http_request_duration_seconds_count{code="200",method="POST",route="/v1/tenants/{tenant}/events"} 1`,
		`hashtrail_http_request_duration_seconds_count{code="400",method="GET",route="/v1/tenants/{tenant}/events"} 1`,
		`hashtrail_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`hashtrail_ingest_batch_events_sum 3`,
		`hashtrail_ingest_batch_events_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// openAPIDoc is the parts of the OpenAPI document the tests look at.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) (openAPIDoc, []byte) {
	t.Helper()
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/openapi.json", headers: []string{"Authorization", ""}})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc openAPIDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	return doc, rec.Body.Bytes()
}

// TestOpenAPICoversRoutes fails when a route is registered without being
// documented, or documented without being registered.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	registered := map[string]bool{}
	for _, p := range httpapi.Patterns(newServer(t).Server) {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("pattern %q has no method", p)
			continue
		}
		// OpenAPI has no "rest of the path" parameter: {path...} is
		// documented as {path}, whose value may hold slashes.
		path = strings.ReplaceAll(path, "...}", "}")
		registered[strings.ToLower(method)+" "+path] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				documented[method+" "+path] = true
			}
		}
	}
	for op := range registered {
		if !documented[op] {
			t.Errorf("route %s is not in the OpenAPI document", op)
		}
	}
	for op := range documented {
		if !registered[op] {
			t.Errorf("the OpenAPI document describes %s, which is not a route", op)
		}
	}
	if len(registered) < 20 {
		t.Errorf("only %d routes registered", len(registered))
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at a component.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, raw := loadOpenAPI(t)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "$ref" {
					ref, _ := e.(string)
					if !resolves(doc, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
}

func resolves(doc map[string]any, ref string) bool {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for part := range strings.SplitSeq(rest, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPISchemasMatchTypes checks that the documented schemas name every
// JSON field of the Go types they describe.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	types := map[string]any{
		"Event": hashtrail.Event{}, "Actor": hashtrail.Actor{}, "Auth": hashtrail.Auth{},
		"Impersonator": hashtrail.Impersonator{}, "Target": hashtrail.Target{}, "Context": hashtrail.Context{},
		"Location": hashtrail.Location{}, "Service": hashtrail.Service{}, "Change": hashtrail.Change{},
		"Output": hashtrail.Output{}, "Receipt": hashtrail.Receipt{}, "Tenant": hashtrail.Tenant{},
		"APIKey": hashtrail.APIKey{}, "NewKey": hashtrail.NewKey{}, "Problem": api.Problem{},
		"IngestResponse": api.IngestResponse{}, "Rejection": api.Rejection{}, "EventList": api.EventList{},
		"TenantList": api.TenantList{}, "TenantRequest": api.TenantRequest{}, "TenantPatch": api.TenantPatch{},
		"KeyRequest": api.KeyRequest{}, "KeyList": api.KeyList{}, "Catalog": api.Catalog{},
		"CatalogEntry": hashtrail.CatalogEntry{}, "FieldError": hashtrail.FieldError{}, "Status": api.Status{},
		"InclusionProof": api.InclusionProof{}, "ConsistencyProof": api.ConsistencyProof{},
		"TenantCatalog": hashtrail.TenantCatalog{}, "ActionSpec": hashtrail.ActionSpec{}, "OCSFClass": hashtrail.OCSFClass{},
		"Sink": hashtrail.SinkInfo{}, "SinkTenantStatus": hashtrail.SinkTenantStatus{}, "SinkList": api.SinkList{},
		"SinkRequest": api.SinkRequest{}, "SinkPatch": hashtrail.SinkPatch{}, "SinkPause": api.SinkPause{},
		"SinkReplay": api.SinkReplay{}, "RetentionPolicy": hashtrail.RetentionPolicy{},
		"RetentionRule": hashtrail.RetentionRule{}, "LegalHold": hashtrail.LegalHold{}, "LegalHolds": hashtrail.LegalHolds{},
		"RetentionFloor": hashtrail.RetentionFloor{},
		"AlertRule":      hashtrail.AlertRule{}, "AlertRequest": api.AlertRequest{}, "AlertPatch": api.AlertPatch{},
		"AlertThreshold": hashtrail.AlertThreshold{}, "AlertNovelty": hashtrail.AlertNovelty{}, "AlertWebhook": hashtrail.AlertWebhook{},
		"AlertList": api.AlertList{}, "AlertFiring": hashtrail.AlertFiring{}, "FiringList": api.FiringList{},
		"DigestRequest": api.DigestRequest{}, "DigestSettings": hashtrail.DigestSettings{}, "DigestReport": hashtrail.DigestReport{},
	}
	for name, v := range types {
		schema, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		fields := jsonFieldNames(reflect.TypeOf(v))
		for _, f := range fields {
			if _, ok := schema.Properties[f]; !ok {
				t.Errorf("schema %s lacks %s", name, f)
			}
		}
		for p := range schema.Properties {
			if !slices.Contains(fields, p) {
				t.Errorf("schema %s has %s, which %T does not", name, p, v)
			}
		}
	}
	// The submission schema has every client field of an event.
	sub := doc.Components.Schemas["EventSubmission"].Properties
	for _, f := range jsonFieldNames(reflect.TypeOf(hashtrail.Event{})) {
		switch f {
		case "seq", "received_at", "leaf_hash", "key_id", "pii":
			if _, ok := sub[f]; ok {
				t.Errorf("EventSubmission offers the server field %s", f)
			}
		default:
			if _, ok := sub[f]; !ok {
				t.Errorf("EventSubmission lacks %s", f)
			}
		}
	}
}

// jsonFieldNames lists the JSON member names of a struct type, following
// embedded structs.
func jsonFieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Pointer:
			out = append(out, jsonFieldNames(f.Type.Elem())...)
		case f.Anonymous && name == "":
			out = append(out, jsonFieldNames(f.Type)...)
		case name == "-" || !f.IsExported():
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

func TestOpenAPIAccessor(t *testing.T) {
	a := httpapi.OpenAPI()
	a[0] = 'X'
	if httpapi.OpenAPI()[0] == 'X' {
		t.Error("OpenAPI returns the shared document")
	}
	if !json.Valid(httpapi.OpenAPI()) {
		t.Error("invalid JSON")
	}
}
