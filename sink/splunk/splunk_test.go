package splunk_test

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
	"github.com/hashtrail/hashtrail/sink/splunk"
)

const token = "11111111-2222-3333-4444-555555555555"

func events(tenant string, first, n int) []*hashtrail.Event {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 123456000, time.UTC)
	out := make([]*hashtrail.Event, n)
	for i := range out {
		seq := int64(first + i)
		out[i] = &hashtrail.Event{
			ID: fmt.Sprintf("ev-%d", seq), Time: hashtrail.NewTime(t0.Add(time.Duration(seq) * time.Second)),
			Action: "user.login", Category: "authentication", Severity: "info", Outcome: "success",
			Actor:   &hashtrail.Actor{Type: "user", ID: "42", Email: "alice@example.com"},
			Targets: []hashtrail.Target{{Type: "project", ID: "7"}},
			Context: &hashtrail.Context{IP: "203.0.113.9"},
			Service: &hashtrail.Service{Name: "app", Host: "web-1"},
			Tenant:  tenant, Seq: seq, ReceivedAt: hashtrail.NewTime(t0.Add(time.Duration(seq)*time.Second + time.Millisecond)),
			LeafHash: strings.Repeat("ab", 32),
		}
	}
	return out
}

func start(t testing.TB, h *fakeHEC, settings map[string]any) *splunk.Sink {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if _, ok := settings["url"]; !ok {
		settings["url"] = srv.URL
	}
	if _, ok := settings["token"]; !ok {
		settings["token"] = token
	}
	raw, _ := json.Marshal(settings)
	s, err := splunk.New(raw, splunk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEnvelope(t *testing.T) {
	h := &fakeHEC{token: token, indexes: map[string]bool{"audit": true}}
	s := start(t, h, map[string]any{"index": "audit"})
	batch := events("acme", 3, 3)
	batch[2].Service = nil
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	got := h.indexed()
	if len(got) != 3 {
		t.Fatalf("%d events indexed", len(got))
	}
	for i, e := range got {
		want := batch[i]
		if e.Event.Seq != want.Seq || e.Event.ID != want.ID || e.Event.Tenant != "acme" || e.Event.LeafHash != want.LeafHash {
			t.Errorf("event %d: %+v", i, e.Event)
		}
		if wt := fmt.Sprintf("%d.123456", want.Time.Unix()); string(e.Time) != wt {
			t.Errorf("time %s, want %s", e.Time, wt)
		}
		if e.Source != "hashtrail" || e.Sourcetype != "_json" || e.Index != "audit" {
			t.Errorf("envelope %+v", e)
		}
	}
	if got[0].Host != "web-1" || got[2].Host != "" {
		t.Errorf("hosts %q %q", got[0].Host, got[2].Host)
	}
	if !strings.HasPrefix(string(h.raw[0]), `{"time":`) || strings.Contains(string(h.raw[0]), "}\n{") {
		t.Errorf("body: %.200s", h.raw[0])
	}

	h2 := &fakeHEC{token: token}
	s2 := start(t, h2, map[string]any{"host": "hashtrail-1", "source": "audit", "sourcetype": "hashtrail:event"})
	if err := s2.Deliver(t.Context(), events("acme", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if e := h2.indexed()[0]; e.Host != "hashtrail-1" || e.Source != "audit" || e.Sourcetype != "hashtrail:event" || e.Index != "" {
		t.Errorf("envelope %+v", e)
	}
}

func TestAcknowledgement(t *testing.T) {
	h := &fakeHEC{token: token, ack: true, ackAfter: 3, maxBody: 3000}
	s := start(t, h, map[string]any{"ack": true, "ack_poll_interval": "20ms", "max_body_bytes": 3000})
	if !guidOK(s.Channel()) {
		t.Fatalf("channel %q", s.Channel())
	}
	if err := s.Deliver(t.Context(), events("acme", 0, 12)); err != nil {
		t.Fatal(err)
	}
	got := h.indexed()
	if len(got) != 12 {
		t.Fatalf("%d events acknowledged", len(got))
	}
	if len(h.raw) < 2 || h.polls < 3 {
		t.Errorf("%d requests, %d polls: want a split batch and polling", len(h.raw), h.polls)
	}
	seen := map[int64]bool{}
	for _, e := range got {
		seen[e.Event.Seq] = true
	}
	if len(seen) != 12 {
		t.Errorf("seqs %v", seen)
	}
}

func guidOK(s string) bool { return guidRE.MatchString(s) }

func TestAckTimeoutRetries(t *testing.T) {
	h := &fakeHEC{token: token, ack: true, ackAfter: 1 << 30}
	s := start(t, h, map[string]any{"ack": true, "channel": "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba", "ack_timeout": "150ms", "ack_poll_interval": "20ms"})
	err := s.Deliver(t.Context(), events("acme", 0, 2))
	var re *splunk.RetryError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not acknowledged") {
		t.Fatalf("got %v, want a RetryError about acknowledgement", err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hec       *fakeHEC
		settings  map[string]any
		permanent bool
		contains  string
	}{
		{"wrong token", &fakeHEC{token: "other"}, map[string]any{}, true, "Invalid token (code 4)"},
		{"wrong index", &fakeHEC{token: token, indexes: map[string]bool{"main": true}}, map[string]any{"index": "nope"}, true, "Incorrect index (code 7) (event acme seq 0)"},
		{"channel missing", &fakeHEC{token: token, ack: true}, map[string]any{}, true, "Data channel is missing (code 10)"},
		{"ack disabled on the token", &fakeHEC{token: token}, map[string]any{"ack": true}, true, "no ackId"},
		{"busy", &fakeHEC{token: token, busy: 1}, map[string]any{}, false, "Server is busy (code 9)"},
		{"wrong path", &fakeHEC{token: token}, map[string]any{"url": "PLACEHOLDER"}, true, "404"},
		{"one event too large", &fakeHEC{token: token, maxBody: 300}, map[string]any{}, true, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.settings["url"] == "PLACEHOLDER" {
				srv := httptest.NewServer(tc.hec)
				defer srv.Close()
				tc.settings["url"] = srv.URL + "/other"
			}
			s := start(t, tc.hec, tc.settings)
			err := s.Deliver(t.Context(), events("acme", 0, 1))
			if err == nil {
				t.Fatal("no error")
			}
			if hashtrail.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("got %v (permanent %v), want %q, permanent %v", err, hashtrail.IsPermanent(err), tc.contains, tc.permanent)
			}
		})
	}
}

func TestBusyThenAccepted(t *testing.T) {
	h := &fakeHEC{token: token, busy: 1}
	s := start(t, h, map[string]any{})
	if err := s.Deliver(t.Context(), events("acme", 0, 5)); err == nil || hashtrail.IsPermanent(err) {
		t.Fatalf("busy: %v", err)
	}
	if err := s.Deliver(t.Context(), events("acme", 0, 5)); err != nil {
		t.Fatal(err)
	}
	if n := len(h.indexed()); n != 5 {
		t.Errorf("%d events", n)
	}
}

func TestSplitOn413(t *testing.T) {
	h := &fakeHEC{token: token, maxBody: 3000}
	s := start(t, h, map[string]any{"max_body_bytes": 100000}) // the sink thinks more is allowed
	if err := s.Deliver(t.Context(), events("acme", 0, 16)); err != nil {
		t.Fatal(err)
	}
	got := h.indexed()
	for i, e := range got {
		if e.Event.Seq != int64(i) {
			t.Fatalf("event %d has seq %d", i, e.Event.Seq)
		}
	}
	if len(got) != 16 {
		t.Errorf("%d events", len(got))
	}
}

// TestFakeHECContract checks the receiver itself answers malformed input
// the way HEC does, so the tests above mean what they say.
func TestFakeHECContract(t *testing.T) {
	h := &fakeHEC{token: token}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for body, want := range map[string]string{
		``:                                   `"code":5`,
		`{"event":{"a":1}}{"event":`:         `"code":6,"invalid-event-number":1`,
		`{"event":{"a":1}}{"time":1}`:        `"code":12,"invalid-event-number":1`,
		`{"event":""}`:                       `"code":13,"invalid-event-number":0`,
		`{"event":{"a":1},"time":"x"}`:       `"code":6`,
		`{"event":{"a":1},"severity":"low"}`: `"code":6`,
	} {
		req, _ := http.NewRequest("POST", srv.URL+splunk.EventPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Splunk "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		enc, _ := json.Marshal(map[string]any{"code": m["code"], "invalid-event-number": m["invalid-event-number"]})
		b.Write(enc)
		if resp.StatusCode != 400 || !strings.Contains(b.String(), want) {
			t.Errorf("%q: %d %s, want 400 with %s", body, resp.StatusCode, b.String(), want)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for settings, field := range map[string]string{
		`{"token":"t"}`: "settings.url",
		`{"url":"https://h:8088?x=1","token":"t"}`:                      "settings.url",
		`{"url":"https://h:8088"}`:                                      "settings.token",
		`{"url":"https://h:8088","token":"a b"}`:                        "settings.token",
		`{"url":"https://h:8088","token":"t","channel":"x"}`:            "settings.channel",
		`{"url":"https://h:8088","token":"t","ack":"yes"}`:              "settings.ack",
		`{"url":"https://h:8088","token":"t","ack_timeout":"1 minute"}`: "settings.ack_timeout",
		`{"url":"https://h:8088","token":"t","index":"a\nb"}`:           "settings.index",
		`{"url":"https://h:8088","token":"t","idx":"a"}`:                "settings.idx",
	} {
		_, err := splunk.New(json.RawMessage(settings), splunk.Options{})
		var he *hashtrail.Error
		if !errors.As(err, &he) || he.Code != hashtrail.EINVALID || len(he.Fields) != 1 || he.Fields[0].Field != field {
			t.Errorf("%s: got %v, want EINVALID on %s", settings, err, field)
		}
	}
}
