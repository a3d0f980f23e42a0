package ledger_test

import (
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// TestErasureForgetsWhatRulesRemember: erasing a subject removes its
// groups from the alert rules' memory (here the countries user 42 logged in
// from), so after the erasure the user's next country is a new baseline,
// not "new"; another user's memory stays.
func TestErasureForgetsWhatRulesRemember(t *testing.T) {
	l, st := MustOpenLog(t, ledger.Config{Notifier: &fakeNotifier{}, AlertInterval: 20 * time.Millisecond})
	if _, err := l.CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	rule, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Filter: "action:user.login",
		Novelty: &hashtrail.AlertNovelty{Field: "country", Per: "actor"}, Email: []string{"sec@example.com"}, Cooldown: "0s"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	login := func(user, cc string) {
		t.Helper()
		raw := `{"action":"user.login","actor":{"type":"user","id":"` + user + `","email":"` + user + `@example.com"},"context":{"location":{"country":"` + cc + `"}}}`
		if _, err := ingest(t, admin, l, "acme", raw); err != nil {
			t.Fatal(err)
		}
	}
	login("42", "DE")
	login("7", "NL")
	login("42", "FR") // new for 42: fires
	waitFirings(t, l, "acme", rule.ID, 1)
	state := func() string {
		c, err := st.TenantConfig(t.Context(), "acme", "alert-state")
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Value)
	}
	if s := state(); !strings.Contains(s, `"user:42"`) || !strings.Contains(s, `"user:7"`) {
		t.Fatalf("state before: %s", s)
	}
	if _, err := l.EraseSubject(admin, "acme", "user:42"); err != nil {
		t.Fatal(err)
	}
	if s := state(); strings.Contains(s, `"user:42"`) || !strings.Contains(s, `"user:7"`) {
		t.Fatalf("state after the erasure: %s", s)
	}
	login("42", "US") // a baseline again, not a new country
	login("7", "BE")  // new for 7: fires
	fs := waitFirings(t, l, "acme", rule.ID, 2)
	time.Sleep(200 * time.Millisecond)
	if fs, _ = l.AlertFirings(admin, "acme", rule.ID, 10); len(fs) != 2 || fs[0].Group != "user:7" {
		t.Fatalf("firings after the erasure: %d, newest %+v", len(fs), fs[0])
	}
}
