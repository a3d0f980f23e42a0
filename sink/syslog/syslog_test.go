package syslog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/syslog"
)

func event(seq int64) *hashtrail.Event {
	return &hashtrail.Event{
		ID: fmt.Sprintf("evt-%d", seq), Time: hashtrail.NewTime(time.Date(2026, 11, 23, 9, 0, 0, 123456000, time.UTC)),
		Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityHigh,
		Outcome: hashtrail.OutcomeFailure, Error: "bad password",
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "alice@example.com", Roles: []string{"admin", "dev"}},
		Targets: []hashtrail.Target{{Type: "user", ID: "42", Name: "Alice"}, {Type: "project", ID: "7"}},
		Context: &hashtrail.Context{IP: "203.0.113.9", UserAgent: "curl/8", Method: "POST", Path: "/login"},
		Tenant:  "acme", Seq: seq, ReceivedAt: hashtrail.NewTime(time.Date(2026, 11, 23, 9, 0, 1, 0, time.UTC)),
		LeafHash: strings.Repeat("ab", 32), Metadata: json.RawMessage(`{"k": "v", "n": 1}`),
	}
}

// fakeHeader is a syslog header an attacker hopes a receiver will take
// for a second message.
const fakeHeader = "<13>1 2026-01-01T00:00:00Z forged evil - - - pwned"

// hostile is an event whose free text tries every way to forge a line, a
// frame, an SD element or a CEF field.
func hostile(seq int64) *hashtrail.Event {
	e := event(seq)
	e.Action = "user.login\n" + fakeHeader
	e.Description = "a\r\nb\n" + fakeHeader + ` ] " \ | = end` + "\u2028x\x00"
	e.Reason = `x"] [forged@1 a="b"] \`
	e.Actor.Name = `Mallory|CEF:0|x=y`
	e.Actor.Email = ""
	e.Error = "e=1\nCEF:0|forged"
	return e
}

func formatter(t *testing.T, format string) *syslog.Formatter {
	t.Helper()
	s, err := syslog.New(syslog.Config{Address: "127.0.0.1:1", Format: format, Hostname: "web-1", ProcID: "4242"}, syslog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Formatter()
}

func TestFormatJSON(t *testing.T) {
	e := event(7)
	got, err := formatter(t, "json").Append(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e)
	want := `<83>1 2026-11-23T09:00:00.123456Z web-1 hashtrail 4242 user.login [hashtrail@32473 tenant="acme" id="evt-7" seq="7"] ` + string(body)
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestFormatSD(t *testing.T) {
	got, err := formatter(t, "sd").Append(nil, event(7))
	if err != nil {
		t.Fatal(err)
	}
	want := `<83>1 2026-11-23T09:00:00.123456Z web-1 hashtrail 4242 user.login [hashtrail@32473 tenant="acme" id="evt-7" seq="7"` +
		` time="2026-11-23T09:00:00.123456Z" action="user.login" category="authentication" severity="high" outcome="failure" error="bad password"` +
		` actor.type="user" actor.id="42" actor.email="alice@example.com" actor.roles.0="admin" actor.roles.1="dev"` +
		` targets.0.type="user" targets.0.id="42" targets.0.name="Alice" targets.1.type="project" targets.1.id="7"` +
		` context.ip="203.0.113.9" context.user_agent="curl/8" context.method="POST" context.path="/login"` +
		` metadata="{\"k\":\"v\",\"n\":1}" received_at="2026-11-23T09:00:01.000000Z" leaf_hash="` + strings.Repeat("ab", 32) + `"]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestFormatCEF(t *testing.T) {
	got, err := formatter(t, "cef").Append(nil, event(7))
	if err != nil {
		t.Fatal(err)
	}
	want := `<83>1 2026-11-23T09:00:00.123456Z web-1 hashtrail 4242 user.login [hashtrail@32473 tenant="acme" id="evt-7" seq="7"] ` +
		// export.AppendCEF, the one CEF encoder (docs/exports.md).
		`CEF:0|Hashtrail|Hashtrail|dev|user.login|a user signed in|8|rt=1795424401000 start=1795424400123 externalId=evt-7 act=user.login` +
		` cat=authentication outcome=failure suid=42 suser=alice@example.com spriv=admin,dev duid=42 duser=Alice src=203.0.113.9` +
		` requestClientApplication=curl/8 requestMethod=POST request=/login cs1Label=tenant cs1=acme` +
		` cs2Label=actorType cs2=user cs3Label=actorEmail cs3=alice@example.com cs4Label=targets cs4=user:42 project:7` +
		` cs5Label=error cs5=bad password cs6Label=leafHash cs6=` + strings.Repeat("ab", 32) + ` cn1Label=seq cn1=7` +
		` flexString2Label=metadata flexString2={"k":"v","n":1}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// An event without a severity is CEF severity 0 (unknown), as in export.
	e := event(8)
	e.Severity = ""
	if got, _ := formatter(t, "cef").Append(nil, e); !bytes.Contains(got, []byte("|a user signed in|0|rt=")) {
		t.Errorf("no severity: %s", got)
	}
}

// Hostile text never yields a line break, a second header, an early end of
// an SD element or an extra CEF field.
func TestFormatHostile(t *testing.T) {
	for _, format := range []string{"json", "sd", "cef"} {
		got, err := formatter(t, format).Append(nil, hostile(1))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(got, "\r\n\x00") || bytes.Contains(got, []byte("\u2028")) {
			t.Errorf("%s: a line break or NUL went through: %q", format, got)
		}
		// MSGID: the action cut to 32 printable characters.
		if !bytes.Contains(got, []byte(" user.login_<13>1_2026-01-01T00:0 ")) {
			t.Errorf("%s: MSGID not sanitised: %s", format, got)
		}
		switch format {
		case "sd":
			for _, want := range []string{
				`reason="x\"\] [forged@1 a=\"b\"\] \\"`,
				`actor.name="Mallory|CEF:0|x=y"`,
				`error="e=1\nCEF:0|forged"`,
				`] a\r\nb\n<13>1 2026-01-01T00:00:00Z forged evil - - - pwned ] " \\ | = end\u2028x\u0000`,
			} {
				if !bytes.Contains(got, []byte(want)) {
					t.Errorf("sd: %s\nmissing %s", got, want)
				}
			}
		case "cef":
			for _, want := range []string{
				`|user.login <13>1 2026-01-01T00:00:00Z forged evil - - - pwned|a  b <13>1 2026-01-01T00:00:00Z forged evil - - - pwned ] " \\ \| = end x |8|`,
				` msg=a\r\nb\n<13>1 2026-01-01T00:00:00Z forged evil - - - pwned ] " \\ | \= end x  `,
				` suser=Mallory|CEF:0|x\=y `,
				` cs5=e\=1\nCEF:0|forged`,
			} {
				if !bytes.Contains(got, []byte(want)) {
					t.Errorf("cef: %s\nmissing %s", got, want)
				}
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct{ settings, field string }{
		{`{}`, "settings.address"},
		{`{"address":"host"}`, "settings.address"},
		{`{"address":"h:514","format":"xml"}`, "settings.format"},
		{`{"address":"h:514","facility":"nope"}`, "settings.facility"},
		{`{"address":"h:514","facility":"24"}`, "settings.facility"},
		{`{"address":"h:514","hostname":"a b"}`, "settings.hostname"},
		{`{"address":"h:514","app_name":"` + strings.Repeat("a", 49) + `"}`, "settings.app_name"},
		{`{"address":"h:514","enterprise_id":"x1"}`, "settings.enterprise_id"},
		{`{"address":"h:514","timeout":"-1s"}`, "settings.timeout"},
		{`{"address":"h:514","tls":{"key_file":"k"}}`, "settings.tls.cert_file"},
		{`{"address":"h:514","extra":true}`, "settings"},
	} {
		_, err := syslog.ParseConfig(json.RawMessage(tc.settings))
		he, ok := err.(*hashtrail.Error)
		if !ok || len(he.Fields) != 1 || he.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want an error naming %s", tc.settings, err, tc.field)
		}
	}
	if _, err := syslog.ParseConfig(json.RawMessage(`{"address":"siem:6514","format":"cef","facility":"local4","enterprise_id":"32473.1","tls":{"ca_file":"ca.pem"}}`)); err != nil {
		t.Error(err)
	}
}
