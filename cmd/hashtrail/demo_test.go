package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// TestDemoEvents checks that the sample events are valid, ordered,
// deterministic, of realistic size, and cover every kind in every tenant.
func TestDemoEvents(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tenants := []string{"acme", "globex", "initech"}
	events := demoEvents(demoSeed, demoCount, tenants, now)
	if len(events) != demoCount {
		t.Fatalf("got %d events, want %d", len(events), demoCount)
	}
	again := demoEvents(demoSeed, demoCount, tenants, now)
	total := 0
	actions := map[string]map[string]int{}
	for i, ev := range events {
		raw, err := eventJSON(ev)
		if err != nil {
			t.Fatal(err)
		}
		raw2, _ := eventJSON(again[i])
		if !bytes.Equal(raw, raw2) {
			t.Fatalf("event %d differs between two runs with the same seed:\n%s\n%s", i, raw, raw2)
		}
		total += len(raw)
		if _, errs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: ev.Tenant}, hashtrail.NewTime(now)); len(errs) > 0 {
			t.Fatalf("event %d is invalid: %v\n%s", i, errs, raw)
		}
		if i > 0 && ev.Time.Before(events[i-1].Time.Time) {
			t.Fatalf("event %d is older than event %d", i, i-1)
		}
		if ev.Time.Before(now.Add(-42*24*time.Hour)) || ev.Time.After(now) {
			t.Fatalf("event %d at %s lies outside the last six weeks", i, ev.Time)
		}
		if actions[ev.Tenant] == nil {
			actions[ev.Tenant] = map[string]int{}
		}
		actions[ev.Tenant][ev.Action]++
	}
	if avg := total / len(events); avg < 500 || avg > 800 {
		t.Errorf("average event size %d bytes; want 500 to 800", avg)
	}
	want := []string{"user.login", "user.logout", "user.login_failed", "user.mfa_enable", "user.mfa_disable",
		"user.password_change", "role.assign", "role.permission_grant", "role.permission_revoke", "member.add",
		"member.remove", "project.create", "project.update", "project.delete", "app.env_var_change", "app.deploy", "api_key.create",
		"command.run", "data.export"}
	for _, tn := range tenants {
		for _, a := range want {
			if actions[tn][a] == 0 {
				t.Errorf("tenant %s has no %s event", tn, a)
			}
		}
	}
	// A redacted secret change with a command's output, and a failed login
	// for an unknown address, exist.
	if !slices.ContainsFunc(events, func(ev *hashtrail.Event) bool {
		return ev.Action == "app.env_var_change" && len(ev.Changes) == 1 && ev.Changes[0].Redacted && ev.Output != nil
	}) {
		t.Error("no redacted env-var change with output")
	}
	if !slices.ContainsFunc(events, func(ev *hashtrail.Event) bool {
		return ev.Action == "user.login_failed" && ev.Actor.ID == "" && ev.Actor.Email != ""
	}) {
		t.Error("no failed login for an unknown address")
	}
	// A support admin signing in as a customer is marked high severity.
	if !slices.ContainsFunc(events, func(ev *hashtrail.Event) bool {
		return ev.Actor != nil && ev.Actor.Impersonator != nil && ev.Severity == hashtrail.SeverityHigh
	}) {
		t.Error("no impersonated sign-in")
	}
	if testing.Verbose() {
		b, _ := json.MarshalIndent(events[len(events)-1], "", "  ")
		t.Logf("average %d bytes; the newest event:\n%s", total/len(events), b)
	}
}
