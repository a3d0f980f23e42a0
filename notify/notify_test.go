package notify_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/notify"
	"github.com/hashtrail/hashtrail/notify/notifytest"
	"github.com/hashtrail/hashtrail/sink"
)

func secret(c byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(c), 32)))
}

// TestWebhookVerifiedByStandardWebhooks posts signed notifications that
// the npm standardwebhooks library verifies, through a secret rotation.
func TestWebhookVerifiedByStandardWebhooks(t *testing.T) {
	old, cur := secret('o'), secret('n')
	rcv := notifytest.StartReceiver(t, old, cur)
	n := notify.New(notify.Config{})
	for i, secrets := range [][]string{{old}, {old, cur}, {cur}} {
		body := []byte(`{"type":"alert.fired","tenant":"acme","n":` + string(rune('0'+i)) + `,"name":"Zoë 🎉"}`)
		if err := n.PostWebhook(t.Context(), &hashtrail.WebhookMessage{URL: rcv.URL + "/alerts", Secrets: secrets, ID: "alert:alr_1:" + string(rune('0'+i)), Body: body}); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	recs := rcv.Wait(t, 3, 10*time.Second)
	want := [][]bool{{true, false}, {true, true}, {false, true}}
	for i, r := range recs {
		if r.ID != "alert:alr_1:"+string(rune('0'+i)) || len(r.Verified) != 2 || r.Verified[0] != want[i][0] || r.Verified[1] != want[i][1] {
			t.Errorf("request %d: %+v, want verdicts %v", i, r, want[i])
		}
		if !strings.Contains(string(r.Payload), "Zoë 🎉") {
			t.Errorf("request %d: payload %s", i, r.Payload)
		}
	}
	// A secret the receiver does not know: 401, an error.
	err := n.PostWebhook(t.Context(), &hashtrail.WebhookMessage{URL: rcv.URL, Secrets: []string{secret('x')}, ID: "x", Body: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unknown secret: %v", err)
	}
}

func TestWebhookGuardAndAnswers(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		switch r.URL.Path {
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	msg := func(path string) *hashtrail.WebhookMessage {
		return &hashtrail.WebhookMessage{URL: srv.URL + path + "?token=s3cret", Secrets: []string{secret('a')}, ID: "alert:r:1", Body: []byte(`{}`)}
	}
	// The zero guard refuses loopback, as for tenants' sinks; the error
	// does not repeat the URL's query.
	guarded := notify.New(notify.Config{Guard: &sink.Guard{}})
	err := guarded.PostWebhook(t.Context(), msg("/"))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("guarded post to loopback: %v", err)
	}
	open := notify.New(notify.Config{Guard: &sink.Guard{AllowPrivate: true}, Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err := open.PostWebhook(t.Context(), msg("/")); err != nil {
		t.Fatal(err)
	}
	if got.Get("Webhook-Id") != "alert:r:1" || got.Get("Webhook-Timestamp") != "1700000000" || !strings.HasPrefix(got.Get("Webhook-Signature"), "v1,") {
		t.Errorf("headers %v", got)
	}
	for _, p := range []string{"/gone", "/redirect"} {
		err := open.PostWebhook(t.Context(), msg(p))
		if !hashtrail.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", p, err)
		}
		if gone := errors.Is(err, hashtrail.ErrWebhookGone); gone != (p == "/gone") {
			t.Errorf("%s: ErrWebhookGone %v", p, gone)
		}
	}
	// A server error is worth a retry.
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer fail.Close()
	if err := open.PostWebhook(t.Context(), &hashtrail.WebhookMessage{URL: fail.URL, Secrets: []string{secret('a')}, ID: "x", Body: []byte(`{}`)}); err == nil || hashtrail.IsPermanent(err) {
		t.Errorf("503: %v, want a transient error", err)
	}
	// Mail without a mailer is unavailable.
	if err := open.SendMail(t.Context(), &hashtrail.Mail{To: []string{"a@b.c"}}); hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Errorf("SendMail without a mailer: %v", err)
	}
}

func TestCheckWebhook(t *testing.T) {
	fields := func(w hashtrail.AlertWebhook) []string {
		var out []string
		for _, f := range notify.CheckWebhook("webhook", &w) {
			out = append(out, f.Field)
		}
		return out
	}
	if f := fields(hashtrail.AlertWebhook{URL: "https://hooks.example.com/x", Secrets: []string{secret('a')}}); len(f) != 0 {
		t.Errorf("valid webhook: %v", f)
	}
	f := fields(hashtrail.AlertWebhook{URL: "ftp://x", Secrets: []string{"nope"}})
	if strings.Join(f, ",") != "webhook.url,webhook.secrets[0]" {
		t.Errorf("invalid webhook: %v", f)
	}
	if f := fields(hashtrail.AlertWebhook{URL: "https://x"}); strings.Join(f, ",") != "webhook.secrets" {
		t.Errorf("no secrets: %v", f)
	}
}
