package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/notify"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeNotifier records what it is asked to send.
type fakeNotifier struct {
	mu    sync.Mutex
	mails []*hashtrail.Mail
	hooks []*hashtrail.WebhookMessage
}

func (f *fakeNotifier) SendMail(_ context.Context, m *hashtrail.Mail) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mails = append(f.mails, m)
	return nil
}

func (f *fakeNotifier) PostWebhook(_ context.Context, w *hashtrail.WebhookMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks = append(f.hooks, w)
	return nil
}

func (f *fakeNotifier) CheckWebhook(prefix string, w *hashtrail.AlertWebhook) []hashtrail.FieldError {
	return notify.CheckWebhook(prefix, w)
}

func (f *fakeNotifier) counts() (mails, hooks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.mails), len(f.hooks)
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func failedLogin(actor string) string {
	return fmt.Sprintf(`{"action":"user.login","outcome":"failure","actor":{"type":"user","id":%q,"email":%q},"context":{"ip":"203.0.113.9"}}`, actor, actor+"@example.com")
}

// logActions lists the actions of tenant's log, oldest first.
func logActions(t *testing.T, l *ledger.Ledger, tenant string) []string {
	t.Helper()
	list, err := l.Events(as(t.Context(), tenant, hashtrail.RoleAdmin), &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Events {
		out = append(out, e.Action)
	}
	return out
}

func TestAlertRulesAreManagedAndAudited(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{Notifier: &fakeNotifier{}})
	root := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(root, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	r := &hashtrail.AlertRule{Tenant: "acme", Name: "brute force", Filter: "action:user.login outcome:failure",
		Threshold: &hashtrail.AlertThreshold{Count: 5, Window: "10m", GroupBy: "actor"},
		Webhook:   &hashtrail.AlertWebhook{URL: "https://hooks.example.com/a", Secrets: []string{testSecret}}, Email: []string{"sec@example.com"}}

	_, err := l.CreateAlert(as(t.Context(), "acme", hashtrail.RoleRead), r)
	wantCode(t, err, hashtrail.EFORBIDDEN)
	_, err = l.CreateAlert(as(t.Context(), "globex", hashtrail.RoleAdmin), r)
	wantCode(t, err, hashtrail.ENOTFOUND)
	for field, bad := range map[string]func(r *hashtrail.AlertRule){
		"filter":           func(r *hashtrail.AlertRule) { r.Filter = "action:" },
		"threshold.window": func(r *hashtrail.AlertRule) { r.Threshold = &hashtrail.AlertThreshold{Count: 5, Window: "48h"} },
		"threshold.group_by": func(r *hashtrail.AlertRule) {
			r.Threshold = &hashtrail.AlertThreshold{Count: 5, Window: "1m", GroupBy: "shoe"}
		},
		"novelty.field": func(r *hashtrail.AlertRule) { r.Threshold, r.Novelty = nil, &hashtrail.AlertNovelty{Field: "mood"} },
		"novelty":       func(r *hashtrail.AlertRule) { r.Novelty = &hashtrail.AlertNovelty{Field: "country"} },
		"cooldown":      func(r *hashtrail.AlertRule) { r.Cooldown = "soon" },
		"email[0]":      func(r *hashtrail.AlertRule) { r.Email = []string{"Eve <eve@example.com>"} },
		"webhook.url": func(r *hashtrail.AlertRule) {
			r.Webhook = &hashtrail.AlertWebhook{URL: "ftp://x", Secrets: []string{testSecret}}
		},
		"webhook": func(r *hashtrail.AlertRule) { r.Webhook, r.Email = nil, nil },
	} {
		c := *r
		bad(&c)
		_, err := l.CreateAlert(admin, &c)
		wantField(t, err, field)
	}

	got, err := l.CreateAlert(admin, r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, "alr_") || got.Webhook.Secrets[0] != hashtrail.RedactedSecret {
		t.Fatalf("created %+v", got)
	}
	list, err := l.Alerts(admin, "acme")
	if err != nil || len(list) != 1 || list[0].ID != got.ID || list[0].Webhook.Secrets[0] != hashtrail.RedactedSecret {
		t.Fatalf("list %+v %v", list, err)
	}
	// A patch that sends the redacted secret back keeps the stored one;
	// a new URL is taken.
	name, cooldown := "brute force (login)", "1h"
	wh := &hashtrail.AlertWebhook{URL: "https://hooks.example.com/b", Secrets: []string{hashtrail.RedactedSecret}}
	up, err := l.UpdateAlert(admin, "acme", got.ID, &hashtrail.AlertPatch{Name: &name, Cooldown: &cooldown, Webhook: &wh})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != name || up.Cooldown != "1h" || up.Webhook.URL != "https://hooks.example.com/b" || up.Threshold.Count != 5 {
		t.Fatalf("updated %+v", up)
	}
	_, err = l.UpdateAlert(admin, "acme", "alr_nope", &hashtrail.AlertPatch{Name: &name})
	wantCode(t, err, hashtrail.ENOTFOUND)
	if err := l.DeleteAlert(admin, "acme", got.ID); err != nil {
		t.Fatal(err)
	}
	_, err = l.Alert(admin, "acme", got.ID)
	wantCode(t, err, hashtrail.ENOTFOUND)
	acts := strings.Join(logActions(t, l, "acme"), ",")
	if !strings.Contains(acts, "alert.create,alert.update,alert.delete") {
		t.Errorf("acme's log: %s", acts)
	}
	// The secret is never in the log.
	all, _ := l.Events(admin, &hashtrail.Query{Tenant: "acme", Limit: 100})
	b, _ := json.Marshal(all)
	if strings.Contains(string(b), testSecret) {
		t.Error("the webhook secret reached the log")
	}
}

// waitFirings waits until tenant's log holds n firings of rule.
func waitFirings(t *testing.T, l *ledger.Ledger, tenant, rule string, n int) []*hashtrail.AlertFiring {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		fs, err := l.AlertFirings(as(t.Context(), tenant, hashtrail.RoleAdmin), tenant, rule, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) >= n {
			return fs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d firings after 15s, want %d", len(fs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAlertsFireAfterCommitOnceAcrossRestarts(t *testing.T) {
	fn := &fakeNotifier{}
	cfg := ledger.Config{AutoCreateTenants: true, Notifier: fn, AlertInterval: 20 * time.Millisecond, PublicURL: "https://audit.example.com/"}
	l, st := MustOpen(t, cfg)
	if _, err := l.CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	if _, err := ingest(t, admin, l, "acme", failedLogin("alice"), failedLogin("alice")); err != nil {
		t.Fatal(err) // history before the rule: never counted
	}
	rule, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Name: "brute force", Filter: "action:user.login outcome:failure",
		Threshold: &hashtrail.AlertThreshold{Count: 3, Window: "10m", GroupBy: "actor"}, Cooldown: "1h",
		Webhook: &hashtrail.AlertWebhook{URL: "https://hooks.example.com/a", Secrets: []string{testSecret}}, Email: []string{"sec@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := ingest(t, admin, l, "acme", failedLogin("alice"), failedLogin("bob"), failedLogin("alice")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if fs, _ := l.AlertFirings(admin, "acme", rule.ID, 10); len(fs) != 0 {
		t.Fatalf("fired on 2 new failures plus history: %+v", fs[0])
	}
	rcpts, err := ingest(t, admin, l, "acme", failedLogin("alice"))
	if err != nil {
		t.Fatal(err)
	}
	fs := waitFirings(t, l, "acme", rule.ID, 1)
	f := fs[0]
	if !f.Notified || f.Count != 3 || f.Group != "user:alice" || f.LastEvent != rcpts[0].ID || strings.Join(f.Channels, ",") != "webhook,email" {
		t.Fatalf("firing %+v", f)
	}
	mails, hooks := fn.counts()
	if mails != 1 || hooks != 1 {
		t.Fatalf("notifications: %d mails, %d webhooks", mails, hooks)
	}
	fn.mu.Lock()
	var body ledger.AlertNotification
	if err := json.Unmarshal(fn.hooks[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	mail := fn.mails[0]
	fn.mu.Unlock()
	if body.Firing.ID != f.ID || body.Rule.Name != "brute force" || body.LastEventURL != "https://audit.example.com/ui/t/acme/events/"+rcpts[0].ID {
		t.Errorf("webhook body %+v", body)
	}
	if !strings.Contains(mail.Subject, "brute force") || !strings.Contains(mail.Text, body.LastEventURL) || !strings.Contains(mail.HTML, `href="`+body.LastEventURL+`"`) {
		t.Errorf("mail %q\n%s\n%s", mail.Subject, mail.Text, mail.HTML)
	}

	// Three more within the cooldown: recorded, suppressed, not notified.
	if _, err := ingest(t, admin, l, "acme", failedLogin("alice"), failedLogin("alice"), failedLogin("alice")); err != nil {
		t.Fatal(err)
	}
	fs = waitFirings(t, l, "acme", rule.ID, 2)
	if fs[0].Notified {
		t.Fatalf("a firing within the cooldown was notified: %+v", fs[0])
	}
	if m, h := fn.counts(); m != 1 || h != 1 {
		t.Fatalf("notifications after a suppressed firing: %d, %d", m, h)
	}

	// The metrics count them (once the recording commit has returned).
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				key := mf.GetName()
				for _, lp := range m.GetLabel() {
					key += "," + lp.GetName() + "=" + lp.GetValue()
				}
				got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		if got["hashtrail_alert_firings_total,notified=true"] == 1 && got["hashtrail_alert_firings_total,notified=false"] == 1 &&
			got["hashtrail_alert_evaluated_events_total"] >= 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics: %v", got)
		}
	}

	// A restart over the same store resumes: nothing fires twice, and the
	// count in the window goes on (one more failure and one after it).
	l.Close(t.Context())
	l2 := ledger.New(st, cfg)
	t.Cleanup(func() { l2.Close(context.Background()) })
	if _, err := ingest(t, admin, l2, "acme", failedLogin("alice"), failedLogin("alice")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	fs, err = l2.AlertFirings(admin, "acme", rule.ID, 10)
	if err != nil || len(fs) != 2 {
		t.Fatalf("after restart: %d firings (%v), want 2", len(fs), err)
	}
	if _, err := ingest(t, admin, l2, "acme", failedLogin("alice")); err != nil {
		t.Fatal(err)
	}
	fs = waitFirings(t, l2, "acme", rule.ID, 3)
	if fs[0].Notified || fs[0].Count != 3 {
		t.Fatalf("third firing %+v", fs[0])
	}
	time.Sleep(200 * time.Millisecond)
	acts := logActions(t, l2, "acme")
	n := 0
	for _, a := range acts {
		if a == hashtrail.ActionAlertFired {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d alert_fired events, want 3: %v", n, acts)
	}
}

// BenchmarkAlertsCatchUp measures evaluation after commit end to end on
// SQLite: b.N batches of 1,000 logins are committed with three rules in
// place, then the time until the rules have looked at all of them (a
// marker event's firing is recorded) is reported as events/s.
func BenchmarkAlertsCatchUp(b *testing.B) {
	l, _ := MustOpen(b, ledger.Config{Notifier: &fakeNotifier{}, AlertInterval: 10 * time.Millisecond})
	root := as(context.Background(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(root, &hashtrail.Tenant{ID: "acme"}); err != nil {
		b.Fatal(err)
	}
	admin := as(context.Background(), "acme", hashtrail.RoleAdmin)
	for _, r := range []*hashtrail.AlertRule{
		{Filter: "action:user.login outcome:failure", Threshold: &hashtrail.AlertThreshold{Count: 5, Window: "10m", GroupBy: "actor"}},
		{Filter: "action:user.login", Novelty: &hashtrail.AlertNovelty{Field: "ip_range", Per: "actor"}},
	} {
		r.Tenant, r.Email = "acme", []string{"sec@example.com"}
		if _, err := l.CreateAlert(admin, r); err != nil {
			b.Fatal(err)
		}
	}
	marker, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Filter: "action:bench.done", Email: []string{"sec@example.com"}, Cooldown: "0s"})
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	b.ResetTimer()
	for i := range b.N {
		raws := make([]string, 1000)
		for j := range raws {
			raws[j] = fmt.Sprintf(`{"action":"user.login","outcome":%q,"actor":{"type":"user","id":"u%d"},"context":{"ip":"198.51.%d.%d"}}`,
				[]string{"success", "failure"}[j%2], (i*1000+j)%2000, j%200, j%250)
		}
		if _, err := ingest(b, admin, l, "acme", raws...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := ingest(b, admin, l, "acme", `{"action":"bench.done","actor":{"type":"system"}}`); err != nil {
		b.Fatal(err)
	}
	for {
		fs, err := l.AlertFirings(admin, "acme", marker.ID, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(fs) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
}

// goneNotifier answers every webhook with 410 Gone.
type goneNotifier struct{ fakeNotifier }

func (g *goneNotifier) PostWebhook(ctx context.Context, w *hashtrail.WebhookMessage) error {
	g.fakeNotifier.PostWebhook(ctx, w)
	return &hashtrail.PermanentError{Err: fmt.Errorf("webhook: https://hooks.example.com: %w", hashtrail.ErrWebhookGone)}
}

// TestWebhookGoneSwitchesTheRuleOff: a receiver that answers 410 asked to
// stop: no retry, the firing is recorded with the failure, and the rule is
// switched off, recorded as alert.disable by the system.
func TestWebhookGoneSwitchesTheRuleOff(t *testing.T) {
	gn := &goneNotifier{}
	l, _ := MustOpen(t, ledger.Config{Notifier: gn, AlertInterval: 20 * time.Millisecond})
	if _, err := l.CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	rule, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Filter: "action:user.login",
		Webhook: &hashtrail.AlertWebhook{URL: "https://hooks.example.com/a", Secrets: []string{testSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := ingest(t, admin, l, "acme", failedLogin("a")); err != nil {
		t.Fatal(err)
	}
	fs := waitFirings(t, l, "acme", rule.ID, 1)
	list, err := l.Events(admin, &hashtrail.Query{Tenant: "acme", Actions: []string{hashtrail.ActionAlertFired}, Limit: 1})
	if err != nil || len(list.Events) != 1 || list.Events[0].Outcome != hashtrail.OutcomeFailure || !strings.Contains(list.Events[0].Error, "410 Gone") {
		t.Fatalf("firing %+v event %+v (%v)", fs[0], list.Events, err)
	}
	if _, hooks := gn.counts(); hooks != 1 {
		t.Errorf("%d webhook attempts, want 1 (no retry after 410)", hooks)
	}
	r, err := l.Alert(admin, "acme", rule.ID)
	if err != nil || !r.Disabled {
		t.Fatalf("rule after 410: %+v %v", r, err)
	}
	dis, err := l.Events(admin, &hashtrail.Query{Tenant: "acme", Actions: []string{"alert.disable"}, Limit: 1})
	if err != nil || len(dis.Events) != 1 || dis.Events[0].Actor.Type != hashtrail.ActorSystem || dis.Events[0].Targets[0].ID != rule.ID {
		t.Fatalf("alert.disable: %+v %v", dis.Events, err)
	}
}
