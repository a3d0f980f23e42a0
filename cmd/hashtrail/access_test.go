package main

import (
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestTenantsSuspendAndKeysRotate(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, _ := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)
			mustContain(t, cli(t, with("tenants", "suspend", "acme", "--reason", "unpaid")...), "suspended tenant acme")
			var tn hashtrail.Tenant
			decode(t, cli(t, with("tenants", "show", "acme", "--json")...), &tn)
			if !tn.Suspended || tn.SuspendedReason != "unpaid" {
				t.Errorf("show after suspend: %+v", tn)
			}
			mustContain(t, cli(t, with("tenants", "resume", "acme")...), "resumed tenant acme")
			tn = hashtrail.Tenant{}
			decode(t, cli(t, with("tenants", "show", "acme", "--json")...), &tn)
			if tn.Suspended {
				t.Errorf("show after resume: %+v", tn)
			}

			mustContain(t, cli(t, with("tenants", "quota", "acme", "1000")...), "tenant acme: 1000 events a day")
			tn = hashtrail.Tenant{}
			decode(t, cli(t, with("tenants", "show", "acme", "--json")...), &tn)
			if tn.EventsPerDay != 1000 {
				t.Errorf("show after quota: %+v", tn)
			}
			mustContain(t, cli(t, with("tenants", "quota", "acme", "0")...), "tenant acme has no quota")

			var vt hashtrail.ViewerToken
			decode(t, cli(t, with("viewer-tokens", "create", "acme", "--filter", "target:project:7", "--origin", "https://app.example.com", "--json")...), &vt)
			if !strings.HasPrefix(vt.Token, hashtrail.ViewerTokenPrefix) || vt.TokenID == "" {
				t.Errorf("viewer token %+v", vt)
			}
			mustContain(t, cli(t, with("viewer-tokens", "revoke", "acme", vt.TokenID)...), "revoked viewer token "+vt.TokenID)

			var scoped hashtrail.NewKey
			decode(t, cli(t, with("keys", "create", "--tenant", "acme", "--role", "read", "--filter", "target:project:7", "--json")...), &scoped)
			if scoped.Scope == nil || scoped.Scope.Filter != "target:project:7" {
				t.Errorf("scoped key: %+v", scoped.APIKey)
			}

			var k hashtrail.NewKey
			decode(t, cli(t, with("keys", "create", "--tenant", "acme", "--role", "ingest", "--json")...), &k)
			out := cli(t, with("keys", "rotate", "--tenant", "acme", "--grace", "1h", k.ID)...)
			mustContain(t, out, "replaces:", k.ID, "secret:", "htk_")
			if !strings.Contains(cli(t, with("keys", "list", "--tenant", "acme")...), k.ID) {
				t.Error("the old key is gone from the list during its grace period")
			}
		})
	}
}
