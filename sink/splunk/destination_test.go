package splunk_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/splunk"
)

// TestDestination checks what the registry gets: settings errors relative
// to the settings, secret settings, and the SSRF guard at validation (an
// IP address) and at connection (a name that resolves to loopback).
func TestDestination(t *testing.T) {
	d := splunk.Destination()
	env := sink.Env{Guard: &sink.Guard{}}
	if got := fmt.Sprint(d.Secrets); got != "[token]" {
		t.Errorf("secrets %s", got)
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"https://h","token":"t","channel":"nope"}`), env); len(errs) != 1 || errs[0].Field != "channel" {
		t.Errorf("bad settings: %v, want one error on channel", errs)
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"https://10.0.0.8:8088","token":"t"}`), env); len(errs) != 1 || errs[0].Field != "url" {
		t.Errorf("a refused address: %v, want one error on url", errs)
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"https://10.0.0.8:8088","token":"t"}`), sink.Env{Guard: &sink.Guard{AllowPrivate: true}}); strings.Contains("splunk", "webhook") != (len(errs) == 1) {
		t.Errorf("allowed private addresses: %v", errs) // metadata stays refused, private is allowed
	}
	if _, errs := d.Validate(json.RawMessage(`{"url":"http://localhost:1","token":"t"}`), env); len(errs) != 0 {
		t.Errorf("good settings: %v", errs)
	}
	s, err := d.New(&hashtrail.SinkConfig{ID: "s1", Tenant: "acme", Type: splunk.Type, Settings: json.RawMessage(`{"url":"http://localhost:1","token":"t"}`)}, env)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Deliver(t.Context(), events("acme", 0, 1))
	if err == nil || !strings.Contains(err.Error(), "loopback or private") {
		t.Errorf("delivery to localhost through the guard: %v", err)
	}
}
