package webhook_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/webhook"
)

// TestDestination checks what the registry gets: settings errors relative
// to the settings, secret settings, and the SSRF guard at validation (an
// IP address) and at connection (a name that resolves to loopback).
func TestDestination(t *testing.T) {
	d := webhook.Destination()
	env := sink.Env{Guard: &sink.Guard{}}
	if got := fmt.Sprint(d.Secrets); got != "[secrets headers]" {
		t.Errorf("secrets %s", got)
	}
	if _, errs := d.Validate(json.RawMessage(`{"secrets":[]}`), env); len(errs) != 1 || errs[0].Field != "url" {
		t.Errorf("bad settings: %v, want one error on url", errs)
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"http://169.254.169.254/x","secrets":["whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="]}`), env); len(errs) != 1 || errs[0].Field != "url" {
		t.Errorf("a refused address: %v, want one error on url", errs)
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"http://169.254.169.254/x","secrets":["whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="]}`), sink.Env{Guard: &sink.Guard{AllowPrivate: true}}); strings.Contains("webhook", "webhook") != (len(errs) == 1) {
		t.Errorf("allowed private addresses: %v", errs) // metadata stays refused, private is allowed
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"http://localhost:1/hook","secrets":["whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="]}`), env); len(errs) != 0 {
		t.Errorf("good settings: %v", errs)
	}
	s, err := d.New(&hashtrail.SinkConfig{ID: "s1", Tenant: "acme", Type: webhook.Type, Settings: json.RawMessage(`{"url":"http://localhost:1/hook","secrets":["whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="]}`)}, env)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Deliver(t.Context(), events("acme", 0, 1))
	if err == nil || !strings.Contains(err.Error(), "loopback or private") {
		t.Errorf("delivery to localhost through the guard: %v", err)
	}
}
