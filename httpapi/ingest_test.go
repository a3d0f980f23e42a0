package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

const goodEvent = `{"id":"ev-1","action":"user.login","actor":{"type":"user","id":"42"}}`

func TestIngestOneEvent(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: goodEvent})
	var out api.IngestResponse
	decodeJSON(t, rec, 200, &out)
	if len(out.Events) != 1 || out.Events[0].ID != "ev-1" || out.Events[0].Tenant != "acme" || out.Rejected != nil {
		t.Errorf("answer = %+v", out)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}
	r := s.svc.last(t, "Ingest").args[0].(*hashtrail.IngestRequest)
	if r.Tenant != "acme" || len(r.Submissions) != 1 {
		t.Fatalf("request = %+v", r)
	}
	sub := r.Submissions[0]
	if sub.Index != 0 || sub.Event.Action != "user.login" || len(sub.ContentHash) != 32 {
		t.Errorf("submission = %+v", sub)
	}
}

func TestIngestSingleEventErrorsHaveNoPrefix(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: `{"action":"user.login","severity":"bad"}`})
	p := decodeProblem(t, rec, 400)
	if _, ok := fieldSet(p)["severity"]; !ok {
		t.Errorf("errors = %+v", p.Errors)
	}
}

// batch builds {"events":[...]} from event bodies.
func batch(events ...string) string {
	return `{"events":[` + strings.Join(events, ",") + `]}`
}

func TestIngestBatchNamesEveryError(t *testing.T) {
	s := newServer(t)
	body := batch(
		`{"action":"user.login"}`,
		`{"action":"Not An Action"}`,
		`{"action":"user.login"}`,
		`{"action":"user.login","severity":"extreme","outcome":"maybe"}`,
		`{"action":"user.login","bogus":1}`,
	)
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: body})
	p := decodeProblem(t, rec, 400)
	fields := fieldSet(p)
	for _, want := range []string{"events[1].action", "events[3].severity", "events[3].outcome", "events[4].bogus"} {
		if _, ok := fields[want]; !ok {
			t.Errorf("no error for %s in %+v", want, p.Errors)
		}
	}
	if !strings.Contains(p.Detail, "3 of 5") {
		t.Errorf("detail = %q", p.Detail)
	}
	if s.svc.called("Ingest") {
		t.Error("an invalid batch reached the service")
	}
}

func TestIngestPartial(t *testing.T) {
	s := newServer(t)
	body := batch(`{"id":"a","action":"user.login"}`, `{"action":"x"}`, `{"id":"c","action":"user.logout"}`)
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events?partial=true", body: body})
	var out api.IngestResponse
	decodeJSON(t, rec, 200, &out)
	if len(out.Events) != 2 || out.Events[0].Index != 0 || out.Events[1].Index != 2 {
		t.Errorf("receipts = %+v", out.Events)
	}
	if len(out.Rejected) != 1 || out.Rejected[0].Index != 1 || out.Rejected[0].Errors[0].Field != "events[1].action" {
		t.Errorf("rejected = %+v", out.Rejected)
	}
	subs := s.svc.last(t, "Ingest").args[0].(*hashtrail.IngestRequest).Submissions
	if len(subs) != 2 || subs[0].Index != 0 || subs[1].Index != 2 {
		t.Errorf("submissions = %+v", subs)
	}

	// All invalid: 400 even with partial=true.
	s = newServer(t)
	rec = s.do(t, req{method: "POST", target: "/v1/tenants/acme/events?partial=true", body: batch(`{"action":"x"}`, `{}`)})
	p := decodeProblem(t, rec, 400)
	if len(p.Errors) != 2 || s.svc.called("Ingest") {
		t.Errorf("errors = %+v", p.Errors)
	}
}

func TestIngestInstallation(t *testing.T) {
	s := newServer(t)
	body := batch(`{"action":"user.login","tenant":"acme"}`, `{"action":"user.login","tenants":["a","b"]}`, `{"action":"user.login"}`)
	rec := s.do(t, req{method: "POST", target: "/v1/events", body: body, headers: []string{"Authorization", "Bearer " + installSecret}})
	p := decodeProblem(t, rec, 400)
	if _, ok := fieldSet(p)["events[2].tenant"]; !ok || len(p.Errors) != 1 {
		t.Errorf("errors = %+v", p.Errors)
	}
	rec = s.do(t, req{method: "POST", target: "/v1/events", body: batch(`{"action":"user.login","tenants":["a","b"]}`),
		headers: []string{"Authorization", "Bearer " + installSecret}})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	r := s.svc.last(t, "Ingest").args[0].(*hashtrail.IngestRequest)
	if r.Tenant != "" || len(r.Submissions[0].Tenants) != 2 {
		t.Errorf("request = %+v", r)
	}
}

func TestIngestTenantMismatch(t *testing.T) {
	s := newServer(t)
	p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: `{"action":"user.login","tenant":"other"}`}), 400)
	if _, ok := fieldSet(p)["tenant"]; !ok {
		t.Errorf("errors = %+v", p.Errors)
	}
}

func TestIngestMediaType(t *testing.T) {
	s := newServer(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx", ";;"} {
		rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: goodEvent, headers: []string{"Content-Type", ct}})
		if p := decodeProblem(t, rec, 415); p.Code != hashtrail.EUNSUPPORTED {
			t.Errorf("%s: code %q", ct, p.Code)
		}
	}
	hr := httptest.NewRequest("POST", "/v1/tenants/acme/events", strings.NewReader(goodEvent))
	hr.Header.Set("Authorization", "Bearer "+adminSecret)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, hr)
	decodeProblem(t, rec, 415)

	rec = s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: goodEvent, headers: []string{"Content-Encoding", "gzip"}})
	decodeProblem(t, rec, 415)
	rec = s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: goodEvent, headers: []string{"Content-Type", "application/json; charset=UTF-8"}})
	if rec.Code != 200 {
		t.Errorf("charset=UTF-8: %d %s", rec.Code, rec.Body)
	}
}

func TestIngestTooLarge(t *testing.T) {
	s := newServer(t)
	big := `{"action":"user.login","metadata":{"x":"` + strings.Repeat("a", hashtrail.MaxBatchBytes) + `"}}`
	p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: big}), 413)
	if p.Code != hashtrail.ETOOLARGE {
		t.Errorf("code = %q", p.Code)
	}
	// Without a Content-Length the limit still holds while reading.
	hr := httptest.NewRequest("POST", "/v1/tenants/acme/events", struct{ *strings.Reader }{strings.NewReader(big)})
	hr.ContentLength = -1
	hr.Header.Set("Authorization", "Bearer "+adminSecret)
	hr.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, hr)
	decodeProblem(t, rec, 413)

	// Too many events.
	many := make([]string, hashtrail.MaxBatchEvents+1)
	for i := range many {
		many[i] = `{"action":"user.login"}`
	}
	decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: batch(many...)}), 413)
	if s.svc.called("Ingest") {
		t.Error("an oversize body reached the service")
	}
}

func TestIngestBadBodies(t *testing.T) {
	s := newServer(t)
	for _, body := range []string{`[]`, `{"events":[]}`, `{"events":{}}`, `{"events":[1]}`, `nope`, `{"events":[],"x":1}`, "\xff\xfe"} {
		rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: body})
		decodeProblem(t, rec, 400)
	}
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/events?partial=maybe", body: goodEvent})
	if p := decodeProblem(t, rec, 400); fieldSet(p)["partial"] == "" {
		t.Errorf("errors = %+v", p.Errors)
	}
	rec = s.do(t, req{method: "POST", target: "/v1/tenants/acme/events?dry_run=1", body: goodEvent})
	if p := decodeProblem(t, rec, 400); fieldSet(p)["dry_run"] == "" {
		t.Errorf("errors = %+v", p.Errors)
	}
}

func TestIngestServiceError(t *testing.T) {
	s := newServer(t)
	s.svc.err = hashtrail.Errorf(hashtrail.ECONFLICT, "event ev-1 exists with other content")
	p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: goodEvent}), 409)
	if p.Detail != "event ev-1 exists with other content" {
		t.Errorf("detail = %q", p.Detail)
	}
}

// FuzzIngestBody feeds arbitrary bodies to the ingest handler: it must never
// panic and must answer 200, 400, 413 or 415, always with valid JSON.
func FuzzIngestBody(f *testing.F) {
	for _, seed := range []string{
		goodEvent,
		batch(goodEvent, `{"action":"x"}`),
		`{"events":[{"action":"user.login","metadata":{"n":1e400}}]}`,
		`{"action":"user.login","time":"0000-01-01T00:00:00Z"}`,
		`{"action":"user.login","changes":[{"field":"email","old":null,"new":[1,{"a":9007199254740993}]}]}`,
		`{"action":"user.login","actor":{"type":"user","auth":{"mfa":"yes"}}}`,
		`{"events":[null]}`, `null`, `""`, `{`, "\x00", `{"action":"a.b","tenants":["x"]}`,
	} {
		f.Add(seed, "application/json", false)
	}
	f.Add(goodEvent, "text/plain", true)
	s := newServer(f)
	f.Fuzz(func(t *testing.T, body, contentType string, partial bool) {
		target := "/v1/tenants/acme/events"
		if partial {
			target += "?partial=true"
		}
		rec := s.do(t, req{method: "POST", target: target, body: body, headers: []string{"Content-Type", contentType}})
		s.svc.reset()
		switch rec.Code {
		case 200, 400, 413, 415:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON answer %q", rec.Body)
		}
		if rec.Code != 200 {
			var p api.Problem
			if err := json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&p); err != nil || p.Status != rec.Code {
				t.Fatalf("bad problem %s: %v", rec.Body, err)
			}
		}
	})
}
