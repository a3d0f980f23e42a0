package smtp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/notify/notifytest"
	"github.com/hashtrail/hashtrail/notify/smtp"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, from string
		want      smtp.Config
		bad       string
	}{
		{url: "smtp://mail.example.com", from: "audit@example.com", want: smtp.Config{Host: "mail.example.com", Port: "587", StartTLS: "opportunistic", From: "audit@example.com"}},
		{url: "smtps://u:p%40ss@mail.example.com", from: "Audit <audit@example.com>", want: smtp.Config{Host: "mail.example.com", Port: "465", Implicit: true, StartTLS: "opportunistic", User: "u", Password: "p@ss", From: "audit@example.com"}},
		{url: "smtp://127.0.0.1:2525?starttls=required", from: "a@b.c", want: smtp.Config{Host: "127.0.0.1", Port: "2525", StartTLS: "required", From: "a@b.c"}},
		{url: "http://mail.example.com", from: "a@b.c", bad: "scheme"},
		{url: "smtp://mail.example.com?starttls=maybe", from: "a@b.c", bad: "starttls"},
		{url: "smtp://mail.example.com", from: "not an address", bad: "from"},
		{url: "smtp://", from: "a@b.c", bad: "host"},
		{url: "smtp://user:p%zzsecret@mail.example.com", from: "a@b.c", bad: "percent-encoded"},
	} {
		c, err := smtp.ParseURL(tc.url, tc.from)
		if tc.bad != "" {
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%s: the error shows the password: %v", tc.url, err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%s: err = %v, want one naming %s", tc.url, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if c.Host != tc.want.Host || c.Port != tc.want.Port || c.Implicit != tc.want.Implicit || c.StartTLS != tc.want.StartTLS ||
			c.User != tc.want.User || c.Password != tc.want.Password || c.From != tc.want.From {
			t.Errorf("%s: %+v, want %+v", tc.url, *c, tc.want)
		}
	}
}

func TestComposeIsMultipartAlternative(t *testing.T) {
	m := &hashtrail.Mail{
		To: []string{"a@example.com", "b@example.com"}, Subject: "Alerte: connexion échouée ✓",
		Text:    "line one\nline two with a very long line " + strings.Repeat("x", 120),
		HTML:    `<p>Voir <a href="https://audit.example.com/ui/t/acme/events/ev1?x=1&amp;y=2">l'événement</a></p>`,
		Headers: map[string]string{"X-Hashtrail-Alert": "alr_1"},
	}
	raw, err := smtp.Compose("audit@example.com", m, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
	got, err := notifytest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentType != "multipart/alternative" || got.Subject != m.Subject || len(got.To) != 2 {
		t.Errorf("parsed %+v", got)
	}
	if strings.ReplaceAll(got.Text, "\r\n", "\n") != m.Text || got.HTML != m.HTML {
		t.Errorf("parts: text %q html %q", got.Text, got.HTML)
	}
	if got.Header.Get("X-Hashtrail-Alert") != "alr_1" || len(got.Links) != 1 || got.Links[0] != "https://audit.example.com/ui/t/acme/events/ev1?x=1&y=2" {
		t.Errorf("header %q links %q", got.Header.Get("X-Hashtrail-Alert"), got.Links)
	}
	if id := got.Header.Get("Message-Id"); !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q is not of the sender's domain", id)
	}
	// Twenty long addresses: the To header is folded, every line stays
	// short, and all twenty parse back.
	many := *m
	many.To = nil
	for i := range 20 {
		many.To = append(many.To, fmt.Sprintf("security-team-number-%02d@subsidiary.example.com", i))
	}
	raw, err = smtp.Compose("audit@example.com", &many, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78*2 {
			t.Errorf("a header line of %d bytes: %.80s", len(line), line)
		}
	}
	if got, err := notifytest.Parse(raw); err != nil || len(got.To) != 20 {
		t.Errorf("folded To: %v, %d recipients", err, len(got.To))
	}
	// Header injection is refused.
	m.Headers = map[string]string{"X-A": "v\r\nBcc: evil@example.com"}
	if _, err := smtp.Compose("audit@example.com", m, time.Now()); err == nil {
		t.Error("a header value with a line break was accepted")
	}
	m.Headers, m.To = nil, []string{"a@example.com\r\nBcc: evil@example.com"}
	if _, err := smtp.Compose("audit@example.com", m, time.Now()); err == nil {
		t.Error("a recipient with a line break was accepted")
	}
}

// TestSendThroughMailpit sends through a real SMTP server that requires
// STARTTLS and authentication, and reads the message back.
func TestSendThroughMailpit(t *testing.T) {
	srv := notifytest.Start(t)
	cfg, err := smtp.ParseURL(srv.URL, "Hashtrail <audit@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = srv.TLS
	m := smtp.New(*cfg)
	msg := &hashtrail.Mail{To: []string{"sec@example.com"}, Subject: "Digest ✓", Text: "plain body", HTML: "<p>html body</p>"}
	if err := m.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 10*time.Second)
	if got[0].Subject != "Digest ✓" || got[0].To[0] != "sec@example.com" || !strings.Contains(got[0].From, "audit@example.com") ||
		strings.TrimSpace(got[0].Text) != "plain body" || strings.TrimSpace(got[0].HTML) != "<p>html body</p>" {
		t.Errorf("received %+v", got[0])
	}

	// A wrong password is refused, and so is a server without STARTTLS
	// when the URL requires it (plain connection, starttls=off: the
	// server requires STARTTLS and refuses MAIL).
	bad := *cfg
	bad.Password = "wrong"
	if err := smtp.New(bad).Send(t.Context(), msg); err == nil {
		t.Error("a wrong password was accepted")
	}
	off := *cfg
	off.StartTLS, off.User = "off", ""
	if err := smtp.New(off).Send(t.Context(), msg); err == nil {
		t.Error("the server took a message without STARTTLS")
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("mailbox holds %d messages, want 1", n)
	}
}
