package datadog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/datadog"
)

const apiKey = "0123456789abcdef0123456789abcdef"

func events(tenant string, first, n int) []*hashtrail.Event {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 123456000, time.UTC)
	out := make([]*hashtrail.Event, n)
	for i := range out {
		seq := int64(first + i)
		out[i] = &hashtrail.Event{
			ID: fmt.Sprintf("ev-%d", seq), Time: hashtrail.NewTime(t0.Add(time.Duration(seq) * time.Second)),
			Action: "user.login", Category: "authentication", Severity: "medium", Outcome: "failure",
			Actor:   &hashtrail.Actor{Type: "user", ID: "42", Name: "Alice", Email: "alice@example.com"},
			Targets: []hashtrail.Target{{Type: "project", ID: "7"}},
			Context: &hashtrail.Context{IP: "203.0.113.9"},
			Service: &hashtrail.Service{Name: "billing", Host: "web-1"},
			Tenant:  tenant, Seq: seq, ReceivedAt: hashtrail.NewTime(t0.Add(time.Duration(seq)*time.Second + time.Millisecond)),
			LeafHash: strings.Repeat("ab", 32),
		}
	}
	return out
}

func start(t testing.TB, f *fakeIntake, settings map[string]any) *datadog.Sink {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	settings["url"] = srv.URL
	if _, ok := settings["api_key"]; !ok {
		settings["api_key"] = apiKey
	}
	raw, _ := json.Marshal(settings)
	s, err := datadog.New(raw, datadog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEntries(t *testing.T) {
	f := &fakeIntake{key: apiKey}
	s := start(t, f, map[string]any{"tags": []string{"env:prod", "team:sec"}})
	batch := events("acme", 5, 2)
	batch[1].Service, batch[1].Actor, batch[1].Context, batch[1].Severity = nil, nil, nil, "critical"
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	got, _ := f.received()
	if len(got) != 2 {
		t.Fatalf("%d entries", len(got))
	}
	e := got[0]
	want := map[string]any{
		"ddsource": "hashtrail", "ddtags": "tenant:acme,env:prod,team:sec", "hostname": "web-1", "service": "billing",
		"status": "warning", "timestamp": float64(batch[0].Time.UnixMilli()),
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s = %v, want %v", k, e[k], v)
		}
	}
	evt := e["evt"].(map[string]any)
	usr := e["usr"].(map[string]any)
	ip := e["network"].(map[string]any)["client"].(map[string]any)["ip"]
	ht := e["hashtrail"].(map[string]any)
	if evt["name"] != "user.login" || evt["outcome"] != "failure" || evt["category"] != "authentication" ||
		usr["id"] != "42" || usr["email"] != "alice@example.com" || ip != "203.0.113.9" ||
		ht["tenant"] != "acme" || ht["seq"] != float64(5) || ht["id"] != "ev-5" {
		t.Errorf("attributes: %v", e)
	}
	var ev hashtrail.Event
	if err := json.Unmarshal([]byte(e["message"].(string)), &ev); err != nil || ev.Seq != 5 || ev.LeafHash != batch[0].LeafHash || ev.Actor.Email != "alice@example.com" {
		t.Errorf("message is not the event: %v %v", err, e["message"])
	}
	e1 := got[1]
	if e1["service"] != "hashtrail" || e1["hostname"] != nil || e1["usr"] != nil || e1["network"] != nil || e1["status"] != "critical" {
		t.Errorf("second entry: %v", e1)
	}
}

func TestLimits(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("gzip=", gz), func(t *testing.T) {
			f := &fakeIntake{key: apiKey}
			s := start(t, f, map[string]any{"gzip": gz})
			// 1,001 small events: two payloads of at most 1,000 entries.
			if err := s.Deliver(t.Context(), events("acme", 0, 1001)); err != nil {
				t.Fatal(err)
			}
			// 12 events of 450 KB: payloads under 5 MB (6 with gzip, which
			// changes nothing to the uncompressed limit).
			nbig := 12
			if gz {
				nbig = 6
			}
			big := events("acme", 1001, nbig)
			for _, e := range big {
				e.Output = &hashtrail.Output{Command: "deploy", Stdout: strings.Repeat("x", 450_000)}
			}
			if err := s.Deliver(t.Context(), big); err != nil {
				t.Fatal(err)
			}
			got, payloads := f.received()
			if len(got) != 1001+nbig {
				t.Fatalf("%d entries", len(got))
			}
			for i, e := range got {
				if e["hashtrail"].(map[string]any)["seq"] != float64(i) {
					t.Fatalf("entry %d: seq %v", i, e["hashtrail"])
				}
			}
			if want := 3 + nbig/12; len(payloads) != want {
				t.Errorf("%d payloads: %v", len(payloads), payloads)
			}
			for _, p := range payloads {
				if p.gzip != gz || p.entries > datadog.MaxEntries || p.bytes > datadog.MaxPayloadBytes {
					t.Errorf("payload %+v", p)
				}
			}
		})
	}
}

func TestOversizedEventIsTruncated(t *testing.T) {
	f := &fakeIntake{key: apiKey}
	s := start(t, f, map[string]any{})
	batch := events("acme", 0, 3)
	// Quotes double in the message's encoding: the worst case for the cut.
	batch[1].Output = &hashtrail.Output{Command: "dump", Stdout: strings.Repeat(`"é`, 300_000)}
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	got, _ := f.received()
	if len(got) != 3 {
		t.Fatalf("%d entries", len(got))
	}
	msg := got[1]["message"].(string)
	if !strings.Contains(msg, "[truncated by Hashtrail") || !strings.Contains(msg, "/v1/tenants/acme/events/ev-1") || got[1]["hashtrail"].(map[string]any)["truncated"] != true {
		t.Errorf("truncated entry: %.200s ... %s", msg, msg[max(0, len(msg)-200):])
	}
	b, _ := json.Marshal(got[1])
	if len(b) > datadog.MaxEntryBytes || len(b) < datadog.MaxEntryBytes-20_000 {
		t.Errorf("entry of %d bytes", len(b))
	}
	if got[0]["hashtrail"].(map[string]any)["truncated"] != nil {
		t.Error("a small entry is marked truncated")
	}
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
		after     time.Duration
	}{
		{400, true, 0}, {403, true, 0}, {404, true, 0},
		{408, false, 0}, {429, false, 3 * time.Second}, {500, false, 0}, {503, false, 0},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := &fakeIntake{key: apiKey, next: []int{tc.status}}
			s := start(t, f, map[string]any{})
			err := s.Deliver(t.Context(), events("acme", 0, 3))
			if err == nil || hashtrail.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
				t.Fatalf("got %v, want permanent %v", err, tc.permanent)
			}
			var ra interface{ RetryAfter() time.Duration }
			if tc.after > 0 && (!errors.As(err, &ra) || ra.RetryAfter() != tc.after) {
				t.Errorf("%v: want Retry-After %v", err, tc.after)
			}
			if tc.permanent {
				return
			}
			if err := s.Deliver(t.Context(), events("acme", 0, 3)); err != nil {
				t.Fatal(err)
			}
		})
	}
	f := &fakeIntake{key: "another"}
	s := start(t, f, map[string]any{})
	if err := s.Deliver(t.Context(), events("acme", 0, 1)); !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "API key") {
		t.Errorf("bad key: %v", err)
	}
}

func TestSplitOn413(t *testing.T) {
	f := &fakeIntake{key: apiKey, next: []int{413, 413}}
	s := start(t, f, map[string]any{})
	if err := s.Deliver(t.Context(), events("acme", 0, 8)); err != nil {
		t.Fatal(err)
	}
	got, payloads := f.received()
	if len(got) != 8 || len(payloads) != 3 {
		t.Errorf("%d entries in %d payloads", len(got), len(payloads))
	}
	for i, e := range got {
		if e["hashtrail"].(map[string]any)["seq"] != float64(i) {
			t.Errorf("entry %d: %v", i, e["hashtrail"])
		}
	}
}

func TestSiteEndpoint(t *testing.T) {
	var host string
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		host = r.URL.String()
		return nil, errors.New("offline")
	})}
	s, err := datadog.New(json.RawMessage(`{"site":"datadoghq.eu","api_key":"k"}`), datadog.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	s.Deliver(t.Context(), events("acme", 0, 1))
	if host != "https://http-intake.logs.datadoghq.eu/api/v2/logs" {
		t.Errorf("posted to %s", host)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestConfigErrorsNameTheField(t *testing.T) {
	for settings, field := range map[string]string{
		`{}`:                                "settings.api_key",
		`{"api_key":"a b"}`:                 "settings.api_key",
		`{"api_key":"k","site":"Data dog"}`: "settings.site",
		`{"api_key":"k","site":"datadoghq.eu","url":"https://x"}`: "settings.url",
		`{"api_key":"k","url":"x"}`:                               "settings.url",
		`{"api_key":"k","tags":["a,b"]}`:                          "settings.tags[0]",
		`{"api_key":"k","gzip":1}`:                                "settings.gzip",
		`{"api_key":"k","service":"a\nb"}`:                        "settings.service",
		`{"api_key":"k","compress":true}`:                         "settings.compress",
	} {
		_, err := datadog.New(json.RawMessage(settings), datadog.Options{})
		var he *hashtrail.Error
		if !errors.As(err, &he) || he.Code != hashtrail.EINVALID || len(he.Fields) != 1 || he.Fields[0].Field != field {
			t.Errorf("%s: got %v, want EINVALID on %s", settings, err, field)
		}
	}
}
