package webhook_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/webhook"
)

// secret returns a whsec_ secret of 32 bytes of b.
func secret(b byte) string {
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
}

func events(tenant string, first, n int) []*hashtrail.Event {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	out := make([]*hashtrail.Event, n)
	for i := range out {
		seq := int64(first + i)
		out[i] = &hashtrail.Event{
			ID: fmt.Sprintf("ev-%d", seq), Time: hashtrail.NewTime(t0.Add(time.Duration(seq) * time.Second)),
			Action: "user.login", Category: "authentication", Severity: "info", Outcome: "success",
			Actor:   &hashtrail.Actor{Type: "user", ID: "42", Email: "alice@example.com"},
			Targets: []hashtrail.Target{{Type: "project", ID: "7"}},
			Context: &hashtrail.Context{IP: "203.0.113.9", UserAgent: "Mozilla/5.0 <test> & co"},
			Tenant:  tenant, Seq: seq, ReceivedAt: hashtrail.NewTime(t0.Add(time.Duration(seq) * time.Second)),
			LeafHash: strings.Repeat("ab", 32),
		}
	}
	return out
}

type request struct {
	header http.Header
	body   []byte
}

// receiver records requests and answers with answer(n), n counting from 0.
type receiver struct {
	mu     sync.Mutex
	reqs   []request
	answer func(n int, w http.ResponseWriter)
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, request{req.Header.Clone(), b})
	r.mu.Unlock()
	if r.answer != nil {
		r.answer(n, w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func newSink(t testing.TB, settings map[string]any) *webhook.Sink {
	t.Helper()
	raw, _ := json.Marshal(settings)
	s, err := webhook.New(raw, webhook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDeliverSignsAndRetriesWithTheSameID(t *testing.T) {
	rec := &receiver{answer: func(n int, w http.ResponseWriter) {
		if n == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	old, cur := secret('o'), secret('n')
	s := newSink(t, map[string]any{"url": srv.URL + "/hook?x=1", "secrets": []string{old, cur}, "headers": map[string]string{"X-Env": "test"}})
	batch := events("acme", 10, 3)
	err := s.Deliver(t.Context(), batch)
	var re *webhook.RetryError
	if !errors.As(err, &re) || hashtrail.IsPermanent(err) {
		t.Fatalf("503: got %v, want a RetryError", err)
	}
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(rec.reqs))
	}
	for i, r := range rec.reqs {
		if got := r.header.Get("webhook-id"); got != "acme:10-12" {
			t.Errorf("request %d: webhook-id %q, want acme:10-12", i, got)
		}
		if got := len(strings.Fields(r.header.Get("webhook-signature"))); got != 2 {
			t.Errorf("request %d: %d signatures, want 2", i, got)
		}
		for _, sec := range []string{old, cur} {
			if err := webhook.Verify(sec, r.header, r.body, time.Now(), webhook.DefaultTolerance); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if err := webhook.Verify(secret('x'), r.header, r.body, time.Now(), webhook.DefaultTolerance); !errors.Is(err, webhook.ErrNoSignature) {
			t.Errorf("request %d verified with a wrong secret: %v", i, err)
		}
		if r.header.Get("X-Env") != "test" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d headers: %v", i, r.header)
		}
		var got []*hashtrail.Event
		if err := json.Unmarshal(r.body, &got); err != nil || len(got) != 3 || got[0].Seq != 10 || got[2].ID != "ev-12" || got[1].Tenant != "acme" {
			t.Errorf("request %d body %s: %v", i, r.body, err)
		}
	}
	if !strings.Contains(string(rec.reqs[0].body), "<test> & co") {
		t.Errorf("body escapes HTML: %s", rec.reqs[0].body)
	}
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		body       string
		permanent  bool
		after      time.Duration
		contains   string
	}{
		{status: 410, permanent: true, contains: "410"},
		{status: 400, body: `{"error":"bad field \"x\""}`, permanent: true, contains: `bad field`},
		{status: 401, permanent: true, contains: "401"},
		{status: 404, permanent: true, contains: "404"},
		{status: 302, permanent: true, contains: "redirects"},
		{status: 429, retryAfter: "7", after: 7 * time.Second, contains: "429"},
		{status: 503, retryAfter: time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), after: 90 * time.Second, contains: "503"},
		{status: 500, contains: "500"},
		{status: 408, contains: "408"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			s := newSink(t, map[string]any{"url": srv.URL + "/secret-path-token", "secrets": []string{secret('a')}})
			err := s.Deliver(t.Context(), events("acme", 0, 2))
			if err == nil {
				t.Fatal("no error")
			}
			if hashtrail.IsPermanent(err) != tc.permanent {
				t.Errorf("%v: permanent %v, want %v", err, !tc.permanent, tc.permanent)
			}
			if !strings.Contains(err.Error(), tc.contains) || strings.Contains(err.Error(), "secret-path-token") {
				t.Errorf("error %q: want %q in it and no URL path", err, tc.contains)
			}
			var ra interface{ RetryAfter() time.Duration }
			if tc.after > 0 {
				if !errors.As(err, &ra) || ra.RetryAfter() < tc.after-2*time.Second || ra.RetryAfter() > tc.after {
					t.Errorf("%v: want Retry-After about %v", err, tc.after)
				}
			}
		})
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := newSink(t, map[string]any{"url": url, "secrets": []string{secret('a')}, "timeout": "2s"})
	err := s.Deliver(t.Context(), events("acme", 0, 1))
	var re *webhook.RetryError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RetryError", err)
	}
}

func TestSplitsUnderMaxBody(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSink(t, map[string]any{"url": srv.URL, "secrets": []string{secret('a')}, "max_body_bytes": 2048})
	if err := s.Deliver(t.Context(), events("acme", 0, 20)); err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	for _, r := range rec.reqs {
		if len(r.body) > 2048 {
			t.Errorf("body of %d bytes", len(r.body))
		}
		var got []*hashtrail.Event
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if want := webhook.MessageID("acme", got[0].Seq, got[len(got)-1].Seq); r.header.Get("webhook-id") != want {
			t.Errorf("webhook-id %q, want %q", r.header.Get("webhook-id"), want)
		}
		for _, e := range got {
			if e.Seq != next {
				t.Fatalf("seq %d, want %d", e.Seq, next)
			}
			next++
		}
	}
	if next != 20 || len(rec.reqs) < 2 {
		t.Errorf("%d events in %d requests", next, len(rec.reqs))
	}
}

func TestSplitsOn413(t *testing.T) {
	rec := &receiver{}
	rec.answer = func(n int, w http.ResponseWriter) {
		rec.mu.Lock()
		body := rec.reqs[n].body
		rec.mu.Unlock()
		var got []json.RawMessage
		json.Unmarshal(body, &got)
		if len(got) > 2 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSink(t, map[string]any{"url": srv.URL, "secrets": []string{secret('a')}})
	if err := s.Deliver(t.Context(), events("acme", 0, 7)); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, r := range rec.reqs {
		var got []*hashtrail.Event
		json.Unmarshal(r.body, &got)
		if len(got) <= 2 {
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
		}
	}
	if fmt.Sprint(seqs) != "[0 1 2 3 4 5 6]" {
		t.Errorf("accepted %v", seqs)
	}

	one := &receiver{answer: func(int, http.ResponseWriter) {}}
	one.answer = func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusRequestEntityTooLarge) }
	srv1 := httptest.NewServer(one)
	defer srv1.Close()
	s1 := newSink(t, map[string]any{"url": srv1.URL, "secrets": []string{secret('a')}})
	if err := s1.Deliver(t.Context(), events("acme", 0, 1)); !hashtrail.IsPermanent(err) {
		t.Errorf("one event too large: %v, want permanent", err)
	}
}

func TestPerEvent(t *testing.T) {
	rec := &receiver{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := newSink(t, map[string]any{"url": srv.URL, "secrets": []string{secret('a')}, "per_event": true})
	if err := s.Deliver(t.Context(), events("globex", 5, 3)); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) != 3 {
		t.Fatalf("%d requests", len(rec.reqs))
	}
	for i, r := range rec.reqs {
		var e hashtrail.Event
		if err := json.Unmarshal(r.body, &e); err != nil || e.Seq != int64(5+i) {
			t.Errorf("request %d: %s %v", i, r.body, err)
		}
		if id := r.header.Get("webhook-id"); id != fmt.Sprintf("globex:%d-%d", 5+i, 5+i) {
			t.Errorf("webhook-id %q", id)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	good := secret('a')
	for settings, field := range map[string]string{
		`[]`:                           "settings",
		`{"secrets":["` + good + `"]}`: "settings.url",
		`{"url":"ftp://x","secrets":["` + good + `"]}`:                                "settings.url",
		`{"url":"https://u:p@x","secrets":["` + good + `"]}`:                          "settings.url",
		`{"url":"https://x"}`:                                                         "settings.secrets",
		`{"url":"https://x","secrets":["abc"]}`:                                       "settings.secrets[0]",
		`{"url":"https://x","secrets":["` + good + `","whsec_AAAA"]}`:                 "settings.secrets[1]",
		`{"url":"https://x","secrets":"` + good + `"}`:                                "settings.secrets",
		`{"url":"https://x","secrets":["` + good + `"],"tiemout":"1s"}`:               "settings.tiemout",
		`{"url":"https://x","secrets":["` + good + `"],"timeout":"soon"}`:             "settings.timeout",
		`{"url":"https://x","secrets":["` + good + `"],"max_body_bytes":10}`:          "settings.max_body_bytes",
		`{"url":"https://x","secrets":["` + good + `"],"headers":{"webhook-id":"x"}}`: "settings.headers.webhook-id",
		`{"url":"https://x","secrets":["` + good + `"],"headers":{"X-A":"a\r\nb"}}`:   "settings.headers.X-A",
	} {
		_, err := webhook.New(json.RawMessage(settings), webhook.Options{})
		var he *hashtrail.Error
		if !errors.As(err, &he) || he.Code != hashtrail.EINVALID || len(he.Fields) != 1 || he.Fields[0].Field != field {
			t.Errorf("%s: got %v, want EINVALID on %s", settings, err, field)
		}
	}
	if _, err := webhook.New(json.RawMessage(`{"url":"https://x","secrets":["`+good+`"],"timeout":"5s","per_event":true,"max_body_bytes":100000,"headers":{"Authorization":"Bearer x"}}`), webhook.Options{}); err != nil {
		t.Error(err)
	}
}

func TestVerifyRejectsOldTimestamps(t *testing.T) {
	sec := secret('a')
	key, _ := webhook.DecodeSecret(sec)
	h := http.Header{}
	ts := time.Now().Add(-10 * time.Minute).Unix()
	h.Set("webhook-id", "m")
	h.Set("webhook-timestamp", fmt.Sprint(ts))
	h.Set("webhook-signature", webhook.Sign([][]byte{key}, "m", ts, []byte("{}")))
	if err := webhook.Verify(sec, h, []byte("{}"), time.Now(), webhook.DefaultTolerance); !errors.Is(err, webhook.ErrTimestamp) {
		t.Errorf("got %v", err)
	}
	if err := webhook.Verify(sec, h, []byte("{}"), time.Unix(ts, 0), webhook.DefaultTolerance); err != nil {
		t.Error(err)
	}
}

// TestSignatureVector checks Sign against the Standard Webhooks spec's
// published example: secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id
// msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, body {"test": 2432232314}.
func TestSignatureVector(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
