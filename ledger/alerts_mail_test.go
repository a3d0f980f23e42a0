package ledger_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/notify"
	"github.com/hashtrail/hashtrail/notify/notifytest"
	"github.com/hashtrail/hashtrail/notify/smtp"
)

// realNotifier sends through a mailpit started for the test.
func realNotifier(t *testing.T) (*notify.Notifier, *notifytest.Server) {
	t.Helper()
	srv := notifytest.Start(t)
	sc, err := smtp.ParseURL(srv.URL, "Hashtrail <audit@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	sc.TLS = srv.TLS
	return notify.New(notify.Config{Mailer: smtp.New(*sc)}), srv
}

// TestAlertsArriveInARealMailboxAndWebhook fires a novelty rule whose
// notification goes to a real SMTP server and to a webhook receiver that
// verifies it with the npm standardwebhooks library.
func TestAlertsArriveInARealMailboxAndWebhook(t *testing.T) {
	n, mbox := realNotifier(t)
	rcv := notifytest.StartReceiver(t, testSecret)
	l, _ := MustOpen(t, ledger.Config{Notifier: n, AlertInterval: 20 * time.Millisecond, PublicURL: "https://audit.example.com"})
	if _, err := l.CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	rule, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Name: "login from a new country", Filter: "action:user.login outcome:success",
		Novelty: &hashtrail.AlertNovelty{Field: "country", Per: "actor"},
		Webhook: &hashtrail.AlertWebhook{URL: rcv.URL + "/alerts", Secrets: []string{testSecret}}, Email: []string{"sec@example.com", "ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	login := func(cc string) string {
		return `{"action":"user.login","actor":{"type":"user","id":"42","email":"zoe@example.com"},"context":{"ip":"198.51.100.4","location":{"country":"` + cc + `"}}}`
	}
	if _, err := ingest(t, admin, l, "acme", login("DE"), login("DE")); err != nil {
		t.Fatal(err)
	}
	rc, err := ingest(t, admin, l, "acme", login("BR"))
	if err != nil {
		t.Fatal(err)
	}
	fs := waitFirings(t, l, "acme", rule.ID, 1)
	if fs[0].GroupHash != "" || fs[0].Group != "user:42" || fs[0].LastEvent != rc[0].ID {
		t.Fatalf("firing %+v", fs[0])
	}

	msgs := mbox.Wait(t, 1, 15*time.Second)
	m := msgs[0]
	link := "https://audit.example.com/ui/t/acme/events/" + rc[0].ID
	if m.ContentType != "multipart/alternative" || m.Subject != "[Hashtrail] Alert: login from a new country (acme)" || len(m.To) != 2 {
		t.Errorf("mail %q %q to %v", m.ContentType, m.Subject, m.To)
	}
	if !strings.Contains(m.Text, "New value:  BR") || !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, "BR") {
		t.Errorf("text part:\n%s\nhtml part:\n%s", m.Text, m.HTML)
	}
	if len(m.Links) != 2 || m.Links[1] != link || m.Header.Get("X-Hashtrail-Firing") != fs[0].ID {
		t.Errorf("links %v, firing header %q", m.Links, m.Header.Get("X-Hashtrail-Firing"))
	}

	recs := rcv.Wait(t, 1, 15*time.Second)
	if len(recs) != 1 || !recs[0].Verified[0] || recs[0].ID != fs[0].ID {
		t.Fatalf("webhook %+v", recs)
	}
	var body ledger.AlertNotification
	if err := json.Unmarshal(recs[0].Payload, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "alert.fired" || body.Value != "BR" || body.Firing.Rule != rule.ID || body.LastEventURL != link {
		t.Errorf("payload %+v", body)
	}
}

// TestDigestsArriveOncePerPeriod sends a daily digest through a real SMTP
// server: once when asked (send now), and once per period on schedule, not
// again however many rounds run.
func TestDigestsArriveOncePerPeriod(t *testing.T) {
	n, mbox := realNotifier(t)
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	l, _ := MustOpen(t, ledger.Config{Notifier: n, Now: clk.now, AlertInterval: 20 * time.Millisecond, PublicURL: "https://audit.example.com"})
	if _, err := l.CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	_, err := l.SetDigest(admin, "acme", &hashtrail.DigestSettings{Schedule: "daily", Hour: 7})
	wantField(t, err, "to")
	_, err = l.SetDigest(admin, "acme", &hashtrail.DigestSettings{Schedule: "hourly", To: []string{"a@example.com"}})
	wantField(t, err, "schedule")
	if _, err := l.SetDigest(admin, "acme", &hashtrail.DigestSettings{Schedule: "daily", Hour: 7, To: []string{"sec@example.com"}}); err != nil {
		t.Fatal(err)
	}
	evs := []string{
		failedLogin("alice"), failedLogin("alice"),
		`{"action":"user.password_change","actor":{"type":"user","id":"7"}}`,
		`{"action":"user.2fa_disable","actor":{"type":"user","id":"7"},"severity":"high"}`,
		`{"action":"role.permission_grant","category":"authorization","actor":{"type":"user","id":"1","name":"Ada"},"targets":[{"type":"user","id":"7"}]}`,
		`{"action":"api_key.create","actor":{"type":"user","id":"1"}}`,
		`{"action":"project.view","actor":{"type":"user","id":"1"}}`,
	}
	rc, err := ingest(t, admin, l, "acme", evs...)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute) // the events were received at 12:00; the last day ends now
	rep, err := l.SendDigest(admin, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Sent || rep.Events < len(evs) {
		t.Fatalf("send now: %+v", rep)
	}
	m := mbox.Wait(t, 1, 15*time.Second)[0]
	if !strings.HasPrefix(m.Subject, "[Hashtrail] daily digest for acme: ") || m.ContentType != "multipart/alternative" {
		t.Errorf("subject %q type %q", m.Subject, m.ContentType)
	}
	for _, want := range []string{"Authentication failures: 2", "Password and two-factor changes: 2", "Role and permission changes: 1", "Key and token changes: 1", "High and critical severity: 1"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "Authentication failures: 2") || !strings.Contains(m.HTML, "Ada") {
		t.Errorf("html part:\n%s", m.HTML)
	}
	wantLink := "https://audit.example.com/ui/t/acme/events/" + rc[2].ID
	found := false
	for _, h := range m.Links {
		found = found || h == wantLink
	}
	if !found || !strings.Contains(m.Text, wantLink) {
		t.Errorf("no link to the password change %s in %v", wantLink, m.Links)
	}

	// The next morning after 07:00 UTC the scheduled digest of the 23rd is
	// due: it is sent once, whatever the number of rounds.
	clk.add(20 * time.Hour) // 2026-11-24 08:00
	msgs := mbox.Wait(t, 2, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if msgs = mbox.Messages(t); len(msgs) != 2 {
		t.Fatalf("%d messages after the period fell due, want 2", len(msgs))
	}
	if msgs[1].Header.Get("X-Hashtrail-Digest") != "daily:2026-11-23" || !strings.Contains(msgs[1].Text, "Authentication failures: 2") {
		t.Errorf("scheduled digest %q:\n%s", msgs[1].Header.Get("X-Hashtrail-Digest"), msgs[1].Text)
	}
	acts := strings.Join(logActions(t, l, "acme"), ",")
	if strings.Count(acts, "digest.send") != 2 || !strings.Contains(acts, "digest.update") {
		t.Errorf("acme's log: %s", acts)
	}
}
