package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// TestDeleteTenantLeavesNoTrace deletes a tenant with personal data and
// greps the data directory (database, WAL, full-text index) for it: none
// of its values may remain, and another tenant's must.
func TestDeleteTenantLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenAt(t, filepath.Join(dir, "hashtrail.db"))
	defer s.Close()
	now := hashtrail.NewTime(time.Now())
	var groups []*hashtrail.AppendGroup
	for _, tenant := range []string{"acme", "keep"} {
		g := &hashtrail.AppendGroup{CreateTenants: true}
		for i := range 400 {
			e := &hashtrail.Event{
				ID: fmt.Sprintf("%s-%03d", tenant, i), Tenant: tenant, Action: "user.login",
				Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
				Time: now, ReceivedAt: now, Tags: []string{tenant + "tagqwerty"},
				Actor:       &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(i), Name: tenant + "namezebra", Email: fmt.Sprintf("%s%d@%squokka.org", tenant, i, tenant)},
				Context:     &hashtrail.Context{IP: fmt.Sprintf("198.51.100.%d", i%250), UserAgent: tenant + "agentflamingo/1.0"},
				Targets:     []hashtrail.Target{{Type: "project", ID: tenant + "projectwombat"}},
				Description: tenant + "descriptionnarwhal happened",
			}
			if tenant == "keep" {
				e.Context.IP = "192.0.2.1"
			}
			g.Entries = append(g.Entries, &hashtrail.Entry{Event: e, ContentHash: []byte(e.ID)})
		}
		groups = append(groups, g)
	}
	if err := s.Append(t.Context(), groups); err != nil || groups[0].Err != nil || groups[1].Err != nil {
		t.Fatalf("Append: %v", err)
	}
	acme := rawNeedles("acme0@acmequokka.org", "acme399@acmequokka.org", "acmenamezebra", "acmeagentflamingo", "acmetagqwerty",
		"acmeprojectwombat", "acmedescriptionnarwhal", "198.51.100.77")
	keep := rawNeedles("keep7@keepquokka.org", "keepnamezebra", "keepprojectwombat")
	if len(grepDir(t, dir, acme)) == 0 {
		t.Fatal("before the deletion the data directory holds none of the values: the test would prove nothing")
	}
	if err := s.BeginTenantDeletion(t.Context(), "acme", 400); err != nil {
		t.Fatal(err)
	}
	if _, done, err := s.DeleteTenantData(t.Context(), "acme", 1000); err != nil || !done {
		t.Fatalf("DeleteTenantData: %v, %v", done, err)
	}
	if found := grepDir(t, dir, acme); len(found) > 0 {
		t.Errorf("after the deletion: %v", found)
	}
	if found := grepDir(t, dir, keep); len(found) != len(keep) {
		t.Errorf("the other tenant's values: found only %v", found)
	}
	if tn, err := s.Tenant(t.Context(), "keep"); err != nil || tn.Size != 400 {
		t.Errorf("Tenant(keep) = %+v, %v", tn, err)
	}
}
