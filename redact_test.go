package hashtrail

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactorValues(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"ghp_" + strings.Repeat("a", 36), true},
		{"github_pat_" + strings.Repeat("B", 30), true},
		{"xoxb-1234567890-abcdef", true},
		{"AKIAIOSFODNN7EXAMPLE", true},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", true},
		{"-----BEGIN RSA PRIVATE KEY-----", true},
		{"card 4111 1111 1111 1111 on file", true},
		{"5500-0000-0000-0004", true},
		{"4111111111111112", false}, // fails Luhn
		{"order 12345", false},
		{"ghp_short", false},
		{"hello world", false},
	} {
		if got := DefaultRedactor.matches(tc.value); got != tc.want {
			t.Errorf("%q: matches = %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestRedactorLeavesCleanEventsAlone(t *testing.T) {
	e := &Event{Action: "user.login", Metadata: json.RawMessage(`{"plan":"pro","count":3}`), Tags: []string{"a"}}
	if paths := DefaultRedactor.Redact(e); len(paths) != 0 || string(e.Metadata) != `{"plan":"pro","count":3}` || len(e.Tags) != 1 {
		t.Errorf("clean event changed: %v %s %v", paths, e.Metadata, e.Tags)
	}
	e = &Event{Action: "x", Metadata: json.RawMessage(`{"token":"abc","n":12345678901234567890}`), Tags: []string{"a"}}
	shared := e.Tags
	paths := DefaultRedactor.Redact(e)
	if len(paths) != 1 || paths[0] != "metadata.token" || !strings.Contains(string(e.Metadata), `"n":12345678901234567890`) {
		t.Errorf("paths %v metadata %s", paths, e.Metadata)
	}
	if len(shared) != 1 {
		t.Error("the caller's tag slice was changed")
	}
}

// BenchmarkRedactTypicalEvent measures the default rules on an event with a
// small clean metadata object and a description (the common case: nothing
// redacted, but every string scanned).
func BenchmarkRedactTypicalEvent(b *testing.B) {
	md := json.RawMessage(`{"plan":"enterprise","attempt":1,"region":"eu-central-1","note":"changed billing email"}`)
	for b.Loop() {
		e := &Event{Action: "user.login", Description: "Alice signed in from Berlin", Metadata: md}
		DefaultRedactor.Redact(e)
	}
}
