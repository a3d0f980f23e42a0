package hashtrail_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"

	hashtrail "github.com/hashtrail/hashtrail"
)

// now is the server clock of every decoding test.
var now = hashtrail.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))

// pathOpt is the usual arrival: POST /v1/tenants/acme/events.
var pathOpt = hashtrail.DecodeOptions{PathTenant: "acme"}

// fullEvent uses every field of DESIGN §1 that a client may send.
const fullEvent = `{
  "id": "01JH8ZQ3X5W4T8N2K7C9V6B1M0",
  "time": "2026-02-28T09:15:42.123456789+01:00",
  "action": "role.permission_grant",
  "category": "authorization",
  "severity": "high",
  "outcome": "failure",
  "reason": "approved in ticket SEC-1234",
  "error": "the approval expired before the grant was applied",
  "description": "Alice tried to grant billing.write to the role admin",
  "tenant": "acme",
  "actor": {
    "type": "user",
    "id": "42",
    "name": "Alice Example",
    "email": "alice@example.com",
    "roles": ["owner", "billing-admin"],
    "auth": {"method": "password+totp", "mfa": true, "credential_id": "cred_7f3a", "provider": "oauth:github"},
    "impersonator": {"type": "user", "id": "7", "name": "Support Admin"}
  },
  "targets": [
    {"type": "role", "id": "admin", "name": "Administrators"},
    {"type": "project", "id": "7"},
    {"type": "user", "id": "99", "name": "Bob"}
  ],
  "context": {
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) <b>&amp;",
    "session_id": "sess_01JH8ZQ",
    "request_id": "req-5f2c",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "method": "POST",
    "path": "/api/roles/admin/permissions",
    "source": "web",
    "location": {"country": "DE", "region": "Berlin", "city": "Berlin"}
  },
  "service": {"name": "billing-api", "version": "2.14.1", "environment": "production", "host": "web-1"},
  "changes": [
    {"field": "permissions", "old": ["billing.read"], "new": ["billing.read", "billing.write"]},
    {"field": "api_secret", "redacted": true},
    {"field": "seats", "old": 5, "new": 12.5}
  ],
  "metadata": {"ticket": "SEC-1234", "approvers": ["carol", "dave"], "risk": {"score": 0.72, "flags": null, "manual": false}, "count": 9007199254740992, "html": "<a href=\"x\">&</a>"},
  "tags": ["billing", "sox"],
  "output": {"command": "terraform apply -auto-approve", "exit_code": 1, "stdout": "Apply failed.\n", "stderr": "Error: approval expired\n"}
}`

func ptr[T any](v T) *T { return &v }

// q quotes s as a JSON string.
func q(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func fullEventWant() *hashtrail.Event {
	return &hashtrail.Event{
		ID:          "01JH8ZQ3X5W4T8N2K7C9V6B1M0",
		Time:        hashtrail.NewTime(time.Date(2026, 2, 28, 8, 15, 42, 123456000, time.UTC)),
		Action:      "role.permission_grant",
		Category:    hashtrail.CategoryAuthorization,
		Severity:    hashtrail.SeverityHigh,
		Outcome:     hashtrail.OutcomeFailure,
		Reason:      "approved in ticket SEC-1234",
		Error:       "the approval expired before the grant was applied",
		Description: "Alice tried to grant billing.write to the role admin",
		Tenant:      "acme",
		Actor: &hashtrail.Actor{
			Type: hashtrail.ActorUser, ID: "42", Name: "Alice Example", Email: "alice@example.com",
			Roles:        []string{"owner", "billing-admin"},
			Auth:         &hashtrail.Auth{Method: "password+totp", MFA: ptr(true), CredentialID: "cred_7f3a", Provider: "oauth:github"},
			Impersonator: &hashtrail.Impersonator{Type: hashtrail.ActorUser, ID: "7", Name: "Support Admin"},
		},
		Targets: []hashtrail.Target{
			{Type: "role", ID: "admin", Name: "Administrators"},
			{Type: "project", ID: "7"},
			{Type: "user", ID: "99", Name: "Bob"},
		},
		Context: &hashtrail.Context{
			IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) <b>&amp;", SessionID: "sess_01JH8ZQ",
			RequestID: "req-5f2c", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Method: "POST",
			Path: "/api/roles/admin/permissions", Source: "web",
			Location: &hashtrail.Location{Country: "DE", Region: "Berlin", City: "Berlin"},
		},
		Service: &hashtrail.Service{Name: "billing-api", Version: "2.14.1", Environment: "production", Host: "web-1"},
		Changes: []hashtrail.Change{
			{Field: "permissions", Old: json.RawMessage(`["billing.read"]`), New: json.RawMessage(`["billing.read","billing.write"]`)},
			{Field: "api_secret", Redacted: true},
			{Field: "seats", Old: json.RawMessage(`5`), New: json.RawMessage(`12.5`)},
		},
		// Compact, keys sorted, numbers and HTML as sent.
		Metadata: json.RawMessage(`{"approvers":["carol","dave"],"count":9007199254740992,"html":"<a href=\"x\">&</a>","risk":{"flags":null,"manual":false,"score":0.72},"ticket":"SEC-1234"}`),
		Tags:     []string{"billing", "sox"},
		Output:   &hashtrail.Output{Command: "terraform apply -auto-approve", ExitCode: ptr(1), Stdout: "Apply failed.\n", Stderr: "Error: approval expired\n"},
	}
}

func fieldsOf(errs []hashtrail.FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field
	}
	slices.Sort(out)
	return out
}

func TestDecodeEventFull(t *testing.T) {
	sub, errs := hashtrail.DecodeEvent(json.RawMessage(fullEvent), "events[3]", pathOpt, now)
	if errs != nil {
		t.Fatalf("DecodeEvent: %v", errs)
	}
	if want := fullEventWant(); !reflect.DeepEqual(sub.Event, want) {
		got, _ := json.MarshalIndent(sub.Event, "", "  ")
		exp, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("event:\n%s\nwant:\n%s", got, exp)
	}
	if sub.Tenants != nil {
		t.Errorf("Tenants = %v, want none", sub.Tenants)
	}
	canon, err := jcs.Transform([]byte(fullEvent))
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(canon); !bytes.Equal(sub.ContentHash, h[:]) {
		t.Errorf("ContentHash = %x, want SHA-256 of the JCS form %x", sub.ContentHash, h)
	}
	if err := roundTrip(sub, pathOpt); err != nil {
		t.Error(err)
	}
}

func TestDecodeEventMinimal(t *testing.T) {
	sub, errs := hashtrail.DecodeEvent(json.RawMessage(`{"action":"user.login"}`), "", pathOpt, now)
	if errs != nil {
		t.Fatal(errs)
	}
	if want := (&hashtrail.Event{Action: "user.login"}); !reflect.DeepEqual(sub.Event, want) {
		t.Errorf("event = %+v, want %+v", sub.Event, want)
	}
}

// TestDecodeEventNull checks that null stands for an absent member.
func TestDecodeEventNull(t *testing.T) {
	raw := `{"action":"user.login","id":null,"time":null,"category":null,"severity":null,"outcome":null,"reason":null,
		"actor":null,"targets":null,"context":{"ip":null,"location":null},"service":null,"changes":null,"metadata":null,
		"tags":null,"output":null,"tenant":null}`
	sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now)
	if errs != nil {
		t.Fatal(errs)
	}
	want := &hashtrail.Event{Action: "user.login", Context: &hashtrail.Context{}}
	if !reflect.DeepEqual(sub.Event, want) {
		t.Errorf("event = %+v, want %+v", sub.Event, want)
	}
}

type rejectCase struct {
	name string
	raw  string
	opt  *hashtrail.DecodeOptions // nil: pathOpt
	want []string                 // every reported field, in any order
	msg  string                   // a part of the first message, if set
}

func runRejects(t *testing.T, cases []rejectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := pathOpt
			if tc.opt != nil {
				opt = *tc.opt
			}
			sub, errs := hashtrail.DecodeEvent(json.RawMessage(tc.raw), "events[3]", opt, now)
			if sub != nil {
				t.Fatalf("accepted %.200s", tc.raw)
			}
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if got := fieldsOf(errs); !slices.Equal(got, want) {
				t.Errorf("fields = %q, want %q\nerrors: %v", got, want, errs)
			}
			for _, e := range errs {
				if e.Message == "" {
					t.Errorf("%s: empty message", e.Field)
				}
			}
			if tc.msg != "" && len(errs) > 0 && !strings.Contains(errs[0].Message, tc.msg) {
				t.Errorf("message %q does not mention %q", errs[0].Message, tc.msg)
			}
		})
	}
}

func TestDecodeEventUnknownFields(t *testing.T) {
	runRejects(t, []rejectCase{
		{"top", `{"action":"user.login","actorr":{}}`, nil, []string{"events[3].actorr"}, "unknown field"},
		{"case variant", `{"action":"user.login","Action":"user.logout"}`, nil, []string{"events[3].Action"}, "unknown"},
		{"actor", `{"action":"a.b","actor":{"type":"user","id":"1","admin":true}}`, nil, []string{"events[3].actor.admin"}, ""},
		{"actor.auth", `{"action":"a.b","actor":{"type":"user","id":"1","auth":{"method":"password","password":"hunter2"}}}`, nil, []string{"events[3].actor.auth.password"}, ""},
		{"actor.impersonator", `{"action":"a.b","actor":{"type":"user","id":"1","impersonator":{"type":"user","id":"2","email":"x@y"}}}`, nil, []string{"events[3].actor.impersonator.email"}, ""},
		{"targets[1]", `{"action":"a.b","targets":[{"type":"user","id":"1"},{"type":"user","id":"2","email":"x@y"}]}`, nil, []string{"events[3].targets[1].email"}, ""},
		{"context", `{"action":"a.b","context":{"ip":"192.0.2.1","referer":"x"}}`, nil, []string{"events[3].context.referer"}, ""},
		{"context.location", `{"action":"a.b","context":{"location":{"country":"DE","lat":52.5}}}`, nil, []string{"events[3].context.location.lat"}, ""},
		{"service", `{"action":"a.b","service":{"name":"x","region":"eu"}}`, nil, []string{"events[3].service.region"}, ""},
		{"changes[0]", `{"action":"a.b","changes":[{"field":"x","old":1,"new":2,"secret":false}]}`, nil, []string{"events[3].changes[0].secret"}, ""},
		{"output", `{"action":"a.b","output":{"command":"ls","exitcode":0}}`, nil, []string{"events[3].output.exitcode"}, ""},
		{"all levels", `{"action":"a.b","x":1,
			"actor":{"type":"user","id":"1","x":1,"auth":{"x":1},"impersonator":{"type":"user","x":1}},
			"targets":[{"type":"t","id":"1"},{"type":"t","id":"2","x":1}],
			"context":{"x":1,"location":{"x":1}},"service":{"x":1},"changes":[{"field":"f","x":1}],"output":{"command":"c","x":1}}`,
			nil, []string{"events[3].x", "events[3].actor.x", "events[3].actor.auth.x", "events[3].actor.impersonator.x",
				"events[3].targets[1].x", "events[3].context.x", "events[3].context.location.x", "events[3].service.x",
				"events[3].changes[0].x", "events[3].output.x"}, ""},
	})
}

func TestDecodeEventMetadataIsFree(t *testing.T) {
	raw := `{"action":"a.b","metadata":{"anything":{"Nested":[{"x":1},null,true,"s"]},"seq":1,"tenant":"other"}}`
	if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
		t.Fatal(errs)
	}
}

func TestDecodeEventWrongTypes(t *testing.T) {
	runRejects(t, []rejectCase{
		{"not an object", `[{"action":"a.b"}]`, nil, []string{"events[3]"}, "object"},
		{"string", `"user.login"`, nil, []string{"events[3]"}, "object"},
		{"null", `null`, nil, []string{"events[3]"}, "object"},
		{"not JSON", `{"action":"a.b",}`, nil, []string{"events[3]"}, "not valid JSON"},
		{"empty", ``, nil, []string{"events[3]"}, ""},
		{"action number", `{"action":7}`, nil, []string{"events[3].action"}, "string"},
		{"id number", `{"action":"a.b","id":7}`, nil, []string{"events[3].id"}, "string"},
		{"time number", `{"action":"a.b","time":1767366245}`, nil, []string{"events[3].time"}, "RFC 3339"},
		{"category array", `{"action":"a.b","category":["data"]}`, nil, []string{"events[3].category"}, "string"},
		{"actor string", `{"action":"a.b","actor":"alice"}`, nil, []string{"events[3].actor"}, "object"},
		{"actor.roles string", `{"action":"a.b","actor":{"type":"user","id":"1","roles":"admin"}}`, nil, []string{"events[3].actor.roles"}, "array"},
		{"actor.roles[1] number", `{"action":"a.b","actor":{"type":"user","id":"1","roles":["a",1]}}`, nil, []string{"events[3].actor.roles[1]"}, "string"},
		{"actor.auth.mfa string", `{"action":"a.b","actor":{"type":"user","id":"1","auth":{"mfa":"yes"}}}`, nil, []string{"events[3].actor.auth.mfa"}, "true or false"},
		{"targets object", `{"action":"a.b","targets":{"type":"user","id":"1"}}`, nil, []string{"events[3].targets"}, "array"},
		// The element is reported once, not again as missing type and id.
		{"targets[0] number", `{"action":"a.b","targets":[1]}`, nil, []string{"events[3].targets[0]"}, "object"},
		{"targets[0] null", `{"action":"a.b","targets":[null]}`, nil, []string{"events[3].targets[0]"}, "null"},
		{"targets[0].id number", `{"action":"a.b","targets":[{"type":"project","id":7}]}`, nil, []string{"events[3].targets[0].id"}, "string"},
		{"context array", `{"action":"a.b","context":[]}`, nil, []string{"events[3].context"}, "object"},
		{"location string", `{"action":"a.b","context":{"location":"DE"}}`, nil, []string{"events[3].context.location"}, "object"},
		{"changes[0].redacted string", `{"action":"a.b","changes":[{"field":"x","redacted":"true"}]}`, nil, []string{"events[3].changes[0].redacted"}, "true or false"},
		{"tags string", `{"action":"a.b","tags":"x"}`, nil, []string{"events[3].tags"}, "array"},
		{"tags[0] number", `{"action":"a.b","tags":[1]}`, nil, []string{"events[3].tags[0]"}, "string"},
		{"tags[1] null", `{"action":"a.b","tags":["a",null]}`, nil, []string{"events[3].tags[1]"}, "null"},
		{"metadata array", `{"action":"a.b","metadata":[1]}`, nil, []string{"events[3].metadata"}, "object"},
		{"metadata string", `{"action":"a.b","metadata":"{}"}`, nil, []string{"events[3].metadata"}, "object"},
		{"exit_code string", `{"action":"a.b","output":{"command":"ls","exit_code":"1"}}`, nil, []string{"events[3].output.exit_code"}, "integer"},
		{"exit_code fraction", `{"action":"a.b","output":{"command":"ls","exit_code":1.5}}`, nil, []string{"events[3].output.exit_code"}, "integer"},
		{"exit_code exponent", `{"action":"a.b","output":{"command":"ls","exit_code":1e2}}`, nil, []string{"events[3].output.exit_code"}, "integer"},
		{"exit_code too big", `{"action":"a.b","output":{"command":"ls","exit_code":2147483648}}`, nil, []string{"events[3].output.exit_code"}, "2147483647"},
		{"output.stdout number", `{"action":"a.b","output":{"command":"ls","stdout":1}}`, nil, []string{"events[3].output.stdout"}, "string"},
		{"tenant number", `{"action":"a.b","tenant":1}`, nil, []string{"events[3].tenant"}, "string"},
	})
}

func TestDecodeEventExitCodes(t *testing.T) {
	for _, c := range []string{"0", "-1", "-0", "255", "2147483647", "-2147483648"} {
		raw := `{"action":"a.b","output":{"command":"ls","exit_code":` + c + `}}`
		if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
			t.Errorf("exit_code %s: %v", c, errs)
		}
	}
}

func TestDecodeEventEnums(t *testing.T) {
	runRejects(t, []rejectCase{
		{"category", `{"action":"a.b","category":"Authentication"}`, nil, []string{"events[3].category"}, "authentication, authorization"},
		{"category empty-ish", `{"action":"a.b","category":" "}`, nil, []string{"events[3].category"}, ""},
		{"severity", `{"action":"a.b","severity":"warning"}`, nil, []string{"events[3].severity"}, "info, low, medium, high, critical"},
		{"outcome", `{"action":"a.b","outcome":"ok"}`, nil, []string{"events[3].outcome"}, "success, failure, unknown"},
		{"actor.type", `{"action":"a.b","actor":{"type":"human","id":"1"}}`, nil, []string{"events[3].actor.type"}, "user, service, api_key, system"},
		{"actor.type missing", `{"action":"a.b","actor":{"id":"1"}}`, nil, []string{"events[3].actor.type"}, "required"},
		{"impersonator.type", `{"action":"a.b","actor":{"type":"user","id":"1","impersonator":{"type":"admin","id":"2"}}}`, nil, []string{"events[3].actor.impersonator.type"}, ""},
	})
	for _, c := range hashtrail.Categories {
		for _, s := range hashtrail.Severities {
			for _, o := range hashtrail.Outcomes {
				raw := fmt.Sprintf(`{"action":"a.b","category":%q,"severity":%q,"outcome":%q}`, c, s, o)
				if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
					t.Errorf("%s: %v", raw, errs)
				}
			}
		}
	}
	for _, a := range hashtrail.ActorTypes {
		raw := fmt.Sprintf(`{"action":"a.b","actor":{"type":%q,"id":"1","impersonator":{"type":%q}}}`, a, a)
		if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
			t.Errorf("%s: %v", raw, errs)
		}
	}
}

func TestDecodeEventActionNames(t *testing.T) {
	for _, a := range []string{"user.login", "role.permission_grant", "app.env_var_add", "a.b", "x1.y2.z3", "_.__", "org.team.member.add"} {
		raw := `{"action":` + q(a) + `}`
		if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
			t.Errorf("%q rejected: %v", a, errs)
		}
	}
	var cases []rejectCase
	for _, a := range []string{"", "user", "User.Login", "user.", ".login", "user..login", "user.login!", "user login", "user-login.x",
		"user.login ", "user.lögin", "user/login", "user.login\n", strings.Repeat("a", 128) + "." + strings.Repeat("b", 128)} {
		cases = append(cases, rejectCase{q(a), `{"action":` + q(a) + `}`, nil, []string{"events[3].action"}, ""})
	}
	cases = append(cases, rejectCase{"missing", `{"id":"1"}`, nil, []string{"events[3].action"}, "required"})
	runRejects(t, cases)
}

func TestDecodeEventIDs(t *testing.T) {
	for _, id := range []string{"01JH8ZQ3X5W4T8N2K7C9V6B1M0", "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "a", "A.b_c:d-e", strings.Repeat("x", 128)} {
		raw := `{"action":"a.b","id":` + q(id) + `}`
		if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
			t.Errorf("%q rejected: %v", id, errs)
		}
	}
	var cases []rejectCase
	for _, id := range []string{"a b", "a/b", "é", "a\u0000", "{x}", strings.Repeat("x", 129)} {
		cases = append(cases, rejectCase{fmt.Sprintf("%.20q", id), `{"action":"a.b","id":` + q(id) + `}`, nil, []string{"events[3].id"}, "[A-Za-z0-9._:-]"})
	}
	runRejects(t, cases)
}

func TestDecodeEventContext(t *testing.T) {
	for _, ip := range []string{"203.0.113.7", "2001:db8::1", "::1", "::ffff:192.0.2.1", "0.0.0.0"} {
		raw := fmt.Sprintf(`{"action":"a.b","context":{"ip":%q,"location":{"country":"GB"}}}`, ip)
		if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
			t.Errorf("%q rejected: %v", ip, errs)
		}
	}
	var cases []rejectCase
	for _, ip := range []string{"1.2.3", "256.1.1.1", "example.com", "203.0.113.7/24", "fe80::1%eth0", " 1.2.3.4", "01.2.3.4", "2001:db8::g"} {
		cases = append(cases, rejectCase{"ip " + ip, fmt.Sprintf(`{"action":"a.b","context":{"ip":%q}}`, ip), nil, []string{"events[3].context.ip"}, "IPv4 or IPv6"})
	}
	for _, c := range []string{"de", "DEU", "D", "1A", "Deutschland"} {
		cases = append(cases, rejectCase{"country " + c, fmt.Sprintf(`{"action":"a.b","context":{"location":{"country":%q}}}`, c), nil, []string{"events[3].context.location.country"}, "ISO 3166-1"})
	}
	cases = append(cases, rejectCase{"method too long", `{"action":"a.b","context":{"method":"` + strings.Repeat("G", 33) + `"}}`, nil, []string{"events[3].context.method"}, "limit is 32"})
	runRejects(t, cases)
}

func TestDecodeEventTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-03-01T12:00:00Z", "2026-03-01T12:00:00.000000Z"},
		{"2026-02-28T23:30:00-05:00", "2026-03-01T04:30:00.000000Z"},
		{"2026-03-01T11:59:59.9999999Z", "2026-03-01T11:59:59.999999Z"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"},
		// Exactly the allowed skew, also after truncation to microseconds.
		{"2026-03-02T12:00:00Z", "2026-03-02T12:00:00.000000Z"},
		{"2026-03-02T13:00:00+01:00", "2026-03-02T12:00:00.000000Z"},
		{"2026-03-02T12:00:00.0000009Z", "2026-03-02T12:00:00.000000Z"},
	} {
		raw := fmt.Sprintf(`{"action":"a.b","time":%q}`, tc.in)
		sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now)
		if errs != nil {
			t.Errorf("%s rejected: %v", tc.in, errs)
			continue
		}
		if got := sub.Event.Time.String(); got != tc.want {
			t.Errorf("%s: time %s, want %s", tc.in, got, tc.want)
		}
	}
	var cases []rejectCase
	for _, tc := range []struct{ in, msg string }{
		{"2026-03-02T12:00:00.000001Z", "in the future"},
		{"2026-03-02T11:00:01-01:00", "in the future"},
		{"9999-12-31T23:59:59Z", "in the future"},
		{"1969-12-31T23:59:59.999999Z", "before 1970"},
		// The zero instant, in any zone, must not pass as "absent".
		{"0001-01-01T00:00:00Z", "before 1970"},
		{"0001-01-01T01:00:00+01:00", "before 1970"},
		{"0001-01-01T00:00:00.0000001Z", "before 1970"},
		{"2026-03-01", "RFC 3339"},
		{"2026-03-01T12:00:00", "RFC 3339"},
		{"2026-03-01 12:00:00Z", "RFC 3339"},
		{"2026-02-30T12:00:00Z", "RFC 3339"},
		{"2026-03-01T12:00:00+0100", "RFC 3339"},
		{"", "RFC 3339"},
		{"now", "RFC 3339"},
	} {
		cases = append(cases, rejectCase{tc.in, fmt.Sprintf(`{"action":"a.b","time":%q}`, tc.in), nil, []string{"events[3].time"}, tc.msg})
	}
	runRejects(t, cases)
}

func TestDecodeEventFieldRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	runRejects(t, []rejectCase{
		{"actor without id", `{"action":"a.b","actor":{"type":"user","name":"Alice"}}`, nil, []string{"events[3].actor.id"}, "required"},
		{"target without type", `{"action":"a.b","targets":[{"id":"7"}]}`, nil, []string{"events[3].targets[0].type"}, "required"},
		{"target bad type", `{"action":"a.b","targets":[{"type":"Project","id":"7"}]}`, nil, []string{"events[3].targets[0].type"}, ""},
		{"target without id", `{"action":"a.b","targets":[{"type":"project","id":"7"},{"type":"project"}]}`, nil, []string{"events[3].targets[1].id"}, "required"},
		{"change without field", `{"action":"a.b","changes":[{"old":1,"new":2}]}`, nil, []string{"events[3].changes[0].field"}, "required"},
		{"redacted change with value", `{"action":"a.b","changes":[{"field":"password","redacted":true,"new":"hunter2"}]}`, nil, []string{"events[3].changes[0]"}, "redacted"},
		{"empty tag", `{"action":"a.b","tags":["ok",""]}`, nil, []string{"events[3].tags[1]"}, "empty"},
		{"too many tags", `{"action":"a.b","tags":[` + strings.Repeat(`"t",`, 64) + `"t"]}`, nil, []string{"events[3].tags"}, "limit is 64"},
		{"too many targets", `{"action":"a.b","targets":[` + strings.Repeat(`{"type":"t","id":"1"},`, 1000) + `{"type":"t","id":"1"}]}`, nil, []string{"events[3].targets"}, "limit is 1000"},
		{"output without command", `{"action":"a.b","output":{"exit_code":0}}`, nil, []string{"events[3].output.command"}, "required"},
		{"reason too long", `{"action":"a.b","reason":"` + long(4097) + `"}`, nil, []string{"events[3].reason"}, "limit is 4096"},
		{"description too long", `{"action":"a.b","description":"` + long(4097) + `"}`, nil, []string{"events[3].description"}, "limit is 4096"},
		{"actor.name too long", `{"action":"a.b","actor":{"type":"user","id":"1","name":"` + long(257) + `"}}`, nil, []string{"events[3].actor.name"}, "limit is 256"},
		{"service.name too long", `{"action":"a.b","service":{"name":"` + long(257) + `"}}`, nil, []string{"events[3].service.name"}, "limit is 256"},
	})
}

func TestDecodeEventServerFields(t *testing.T) {
	var cases []rejectCase
	for _, f := range []string{"seq", "received_at", "leaf_hash", "key_id", "pii"} {
		for _, v := range []string{`1`, `"x"`, `null`, `{}`} {
			cases = append(cases, rejectCase{f + "=" + v, `{"action":"a.b","` + f + `":` + v + `}`, nil, []string{"events[3]." + f}, "assigned by the server"})
		}
	}
	runRejects(t, cases)
}

func TestDecodeEventTenants(t *testing.T) {
	inst := &hashtrail.DecodeOptions{Installation: true}
	runRejects(t, []rejectCase{
		{"tenants on a tenant path", `{"action":"a.b","tenants":["acme"]}`, nil, []string{"events[3].tenants"}, "installation-wide"},
		{"tenant mismatch", `{"action":"a.b","tenant":"globex"}`, nil, []string{"events[3].tenant"}, "differs"},
		{"tenant case mismatch", `{"action":"a.b","tenant":"ACME"}`, nil, []string{"events[3].tenant"}, ""},
		{"installation without tenant", `{"action":"a.b"}`, inst, []string{"events[3].tenant"}, "required"},
		{"installation with both", `{"action":"a.b","tenant":"acme","tenants":["globex"]}`, inst, []string{"events[3].tenants"}, "not both"},
		{"installation bad tenant", `{"action":"a.b","tenant":"Acme Corp"}`, inst, []string{"events[3].tenant"}, "[a-z0-9]"},
		{"installation star", `{"action":"a.b","tenant":"*"}`, inst, []string{"events[3].tenant"}, ""},
		{"tenants empty", `{"action":"a.b","tenants":[]}`, inst, []string{"events[3].tenants"}, "non-empty"},
		{"tenants not array", `{"action":"a.b","tenants":"acme"}`, inst, []string{"events[3].tenants"}, "non-empty"},
		{"tenants bad entries", `{"action":"a.b","tenants":["acme","-x",7,"acme"]}`, inst, []string{"events[3].tenants[1]", "events[3].tenants[2]", "events[3].tenants[3]"}, ""},
	})

	for _, tc := range []struct {
		name        string
		raw         string
		opt         hashtrail.DecodeOptions
		wantTenant  string
		wantTenants []string
	}{
		{"path, no tenant", `{"action":"a.b"}`, pathOpt, "", nil},
		{"path, same tenant", `{"action":"a.b","tenant":"acme"}`, pathOpt, "acme", nil},
		{"installation, tenant", `{"action":"a.b","tenant":"globex"}`, *inst, "globex", nil},
		{"installation, tenants", `{"action":"a.b","tenants":["acme","globex","a.b_c-d"]}`, *inst, "", []string{"acme", "globex", "a.b_c-d"}},
	} {
		sub, errs := hashtrail.DecodeEvent(json.RawMessage(tc.raw), "", tc.opt, now)
		if errs != nil {
			t.Errorf("%s: %v", tc.name, errs)
			continue
		}
		if sub.Event.Tenant != tc.wantTenant || !slices.Equal(sub.Tenants, tc.wantTenants) {
			t.Errorf("%s: tenant %q, tenants %q; want %q, %q", tc.name, sub.Event.Tenant, sub.Tenants, tc.wantTenant, tc.wantTenants)
		}
	}
}

func TestDecodeEventNumbers(t *testing.T) {
	exact := []string{"0", "-0", "0.0", "1", "-1", "0.1", "12.5", "1e3", "1E+3", "2.5e-3", "9007199254740992", "-9007199254740992",
		"1.7976931348623157e308", "5e-324", "1e308", "123456789.123", "1.000000000000000000000000000000"}
	for _, n := range exact {
		for _, raw := range []string{
			`{"action":"a.b","metadata":{"n":` + n + `}}`,
			`{"action":"a.b","changes":[{"field":"f","old":` + n + `,"new":[` + n + `]}]}`,
		} {
			if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
				t.Errorf("%s rejected: %v", raw, errs)
			}
		}
	}
	var cases []rejectCase
	for _, n := range []string{"9007199254740993", "-9007199254740993", "1e400", "-1e400", "1e-400", "123456789012345678901234567890",
		"0.1000000000000000055511151231257827", "1.00000000000000000000000000000001",
		// 2^60 is a double, but RFC 8785 would write it 1152921504606847000.
		"1152921504606846976", "1e99999999999999999999"} {
		cases = append(cases,
			rejectCase{"metadata " + n, `{"action":"a.b","metadata":{"a":{"b":[1,2,` + n + `]}}}`, nil, []string{"events[3].metadata.a.b[2]"}, "IEEE 754 double"},
			rejectCase{"changes " + n, `{"action":"a.b","changes":[{"field":"f","old":1},{"field":"g","old":` + n + `,"new":{"x":` + n + `}}]}`, nil,
				[]string{"events[3].changes[1].old", "events[3].changes[1].new.x"}, "IEEE 754 double"})
	}
	runRejects(t, cases)
}

// TestDecodeEventEveryDouble checks that the shortest form of any double,
// which is what RFC 8785 writes and JSON encoders send, is accepted.
func TestDecodeEventEveryDouble(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var nums []string
	for len(nums) < 2000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		nums = append(nums, strconv.FormatFloat(f, 'g', -1, 64), strconv.FormatFloat(float64(rng.Int64N(1<<53)), 'f', -1, 64))
	}
	raw := `{"action":"a.b","changes":[{"field":"f","new":[` + strings.Join(nums, ",") + `]}]}`
	if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
		t.Fatal(errs[0])
	}
}

// TestDecodeEventHugeNumbers checks numbers of nearly 1 MiB; their check is
// linear in their length (a quadratic one would make this test crawl, which
// BenchmarkDecodeHugeNumber measures without a wall-clock threshold).
func TestDecodeEventHugeNumbers(t *testing.T) {
	pad := strings.Repeat("0", hashtrail.MaxEventBytes-200)
	for _, tc := range []struct {
		n  string
		ok bool
	}{
		{"1." + pad, true},
		{"0." + pad + "1", false},
		{"1" + pad, false},
		{"1." + strings.Repeat("1", len(pad)), false},
		{"0." + pad + "1e" + fmt.Sprint(len(pad)+1), true},
	} {
		raw := `{"action":"a.b","changes":[{"field":"f","old":` + tc.n + `}]}`
		_, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now)
		if (errs == nil) != tc.ok {
			t.Errorf("%.20s…: errors %v, want accepted=%v", tc.n, errs, tc.ok)
		}
	}
}

func TestDecodeEventSizes(t *testing.T) {
	// An event of exactly MaxEventBytes is accepted (changes carry no own limit).
	event := func(size int) string {
		head, tail := `{"action":"a.b","changes":[{"field":"f","old":"`, `"}]}`
		return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
	}
	if _, errs := hashtrail.DecodeEvent(json.RawMessage(event(hashtrail.MaxEventBytes)), "", pathOpt, now); errs != nil {
		t.Errorf("event of %d bytes rejected: %v", hashtrail.MaxEventBytes, errs)
	}
	meta := func(size int) string { // compact size of the metadata object
		return `{"blob":"` + strings.Repeat("m", size-len(`{"blob":""}`)) + `"}`
	}
	output := func(field string, size int) string {
		return `{"action":"a.b","output":{"command":"cat big.log","` + field + `":"` + strings.Repeat("o", size) + `"}}`
	}
	for _, raw := range []string{
		`{"action":"a.b","metadata":` + meta(hashtrail.MaxMetadataBytes) + `}`,
		// Whitespace in the body does not count, nor do characters that a
		// JSON encoder might escape as HTML.
		`{"action":"a.b","metadata":  {  "blob" :  "` + strings.Repeat("m", hashtrail.MaxMetadataBytes-len(`{"blob":""}`)) + `"  }  }`,
		`{"action":"a.b","metadata":{"html":"` + strings.Repeat("<&>", (hashtrail.MaxMetadataBytes-20)/3) + `"}}`,
		output("stdout", hashtrail.MaxOutputBytes),
		output("stderr", hashtrail.MaxOutputBytes),
	} {
		if _, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now); errs != nil {
			t.Errorf("%.60s… rejected: %v", raw, errs)
		}
	}
	runRejects(t, []rejectCase{
		{"event over 1 MiB", event(hashtrail.MaxEventBytes + 1), nil, []string{"events[3]"}, "limit is 1048576"},
		{"metadata over 32 KiB", `{"action":"a.b","metadata":` + meta(hashtrail.MaxMetadataBytes+1) + `}`, nil, []string{"events[3].metadata"}, "limit is 32768"},
		{"stdout over 256 KiB", output("stdout", hashtrail.MaxOutputBytes+1), nil, []string{"events[3].output.stdout"}, "limit is 262144"},
		{"stderr over 256 KiB", output("stderr", hashtrail.MaxOutputBytes+1), nil, []string{"events[3].output.stderr"}, "limit is 262144"},
	})
}

func TestDecodeEventEncoding(t *testing.T) {
	runRejects(t, []rejectCase{
		{"invalid UTF-8 in a string", "{\"action\":\"a.b\",\"reason\":\"caf\xe9\"}", nil, []string{"events[3]"}, "UTF-8"},
		{"invalid UTF-8 in a key", "{\"action\":\"a.b\",\"metadata\":{\"\xff\":1}}", nil, []string{"events[3]"}, "UTF-8"},
		{"overlong encoding", "{\"action\":\"a.b\",\"reason\":\"\xc0\xaf\"}", nil, []string{"events[3]"}, "UTF-8"},
		// RFC 8785 cannot canonicalize these, so they have no content hash.
		{"lone surrogate", `{"action":"a.b","reason":"\ud800"}`, nil, []string{"events[3]"}, ""},
		{"duplicate key", `{"action":"a.b","action":"c.d"}`, nil, []string{"events[3]"}, "duplicate"},
		{"duplicate nested key", `{"action":"a.b","metadata":{"x":1,"x":2}}`, nil, []string{"events[3]"}, "duplicate"},
		{"trailing value", `{"action":"a.b"} {"action":"c.d"}`, nil, []string{"events[3]"}, ""},
		{"trailing garbage", `{"action":"a.b"}x`, nil, []string{"events[3]"}, ""},
	})
	// Escaped and literal non-ASCII text are both fine.
	raw := `{"action":"a.b","reason":"caf\u00e9 ☕ \ud83d\ude00","description":"tab\tand\u0000nul"}`
	sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", pathOpt, now)
	if errs != nil {
		t.Fatal(errs)
	}
	if sub.Event.Reason != "café ☕ 😀" {
		t.Errorf("reason = %q", sub.Event.Reason)
	}
}

func TestDecodeEventSeveralErrors(t *testing.T) {
	raw := `{
		"id": "not an id",
		"time": "2030-01-01T00:00:00Z",
		"action": "User.Login",
		"category": "auth",
		"severity": "urgent",
		"outcome": "failed",
		"seq": 5,
		"tenant": "globex",
		"tenants": ["globex"],
		"actor": {"type": "person", "auth": {"mfa": 1}, "extra": true},
		"targets": [{"type": "user", "id": "1"}, {"type": "user"}],
		"context": {"ip": "10.0.0.300", "location": {"country": "Germany"}},
		"changes": [{"field": "x", "old": 9007199254740993}],
		"metadata": {"big": 1e400},
		"tags": ["", 3],
		"output": {"stdout": "x"}
	}`
	runRejects(t, []rejectCase{{"everything", raw, nil, []string{
		"events[3].id", "events[3].time", "events[3].action", "events[3].category", "events[3].severity", "events[3].outcome",
		"events[3].seq", "events[3].tenant", "events[3].tenants",
		"events[3].actor.type", "events[3].actor.id", "events[3].actor.auth.mfa", "events[3].actor.extra",
		"events[3].targets[1].id", "events[3].context.ip", "events[3].context.location.country",
		"events[3].changes[0].old", "events[3].metadata.big", "events[3].tags[0]", "events[3].tags[1]",
		"events[3].output.command",
	}, ""}})
}

// TestDecodeEventPrefix checks that the prefix is applied to every path, and
// that no prefix leaves the paths relative to the event.
func TestDecodeEventPrefix(t *testing.T) {
	raw := json.RawMessage(`{"action":"x","actor":{"type":"user","id":"1","x":1},"targets":[{"type":"t"}],"seq":1}`)
	want := []string{"action", "actor.x", "seq", "targets[0].id"}
	_, errs := hashtrail.DecodeEvent(raw, "", pathOpt, now)
	if got := fieldsOf(errs); !slices.Equal(got, want) {
		t.Errorf("no prefix: %q, want %q", got, want)
	}
	_, errs = hashtrail.DecodeEvent(raw, "events[3]", pathOpt, now)
	for i := range want {
		want[i] = "events[3]." + want[i]
	}
	if got := fieldsOf(errs); !slices.Equal(got, want) {
		t.Errorf("prefix events[3]: %q, want %q", got, want)
	}
	_, errs = hashtrail.DecodeEvent(json.RawMessage(`[]`), "", pathOpt, now)
	if got := fieldsOf(errs); !slices.Equal(got, []string{""}) {
		t.Errorf("whole event without prefix: %q", got)
	}
}

func TestContentHash(t *testing.T) {
	hash := func(raw string, opt hashtrail.DecodeOptions) []byte {
		t.Helper()
		sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", opt, now)
		if errs != nil {
			t.Fatalf("%s: %v", raw, errs)
		}
		if len(sub.ContentHash) != sha256.Size {
			t.Fatalf("ContentHash has %d bytes", len(sub.ContentHash))
		}
		return sub.ContentHash
	}
	base := `{"id":"e1","action":"user.login","actor":{"type":"user","id":"42","email":"a@example.com"},"metadata":{"n":1,"list":[1,2,3],"s":"é"}}`
	same := []string{
		"{\n  \"metadata\" : { \"s\": \"\\u00e9\", \"list\": [ 1, 2, 3 ], \"n\": 1.0 },\n  \"actor\": {\"email\":\"a@example.com\",\"id\":\"42\",\"type\":\"user\"},\n\t\"action\": \"user\\u002elogin\", \"id\": \"e1\"\n}\n",
		`{"actor":{"id":"42","type":"user","email":"a@example.com"},"action":"user.login","id":"e1","metadata":{"list":[1,2,3],"s":"é","n":1E0}}`,
	}
	different := []string{
		`{"id":"e1","action":"user.login","actor":{"type":"user","id":"43","email":"a@example.com"},"metadata":{"n":1,"list":[1,2,3],"s":"é"}}`,
		`{"id":"e1","action":"user.login","actor":{"type":"user","id":"42","email":"a@example.com"},"metadata":{"n":1,"list":[3,2,1],"s":"é"}}`,
		`{"id":"e2","action":"user.login","actor":{"type":"user","id":"42","email":"a@example.com"},"metadata":{"n":1,"list":[1,2,3],"s":"é"}}`,
		// Defaults are not applied before hashing: naming the default is other content.
		`{"id":"e1","action":"user.login","outcome":"success","actor":{"type":"user","id":"42","email":"a@example.com"},"metadata":{"n":1,"list":[1,2,3],"s":"é"}}`,
		`{"id":"e1","action":"user.login","actor":{"type":"user","id":"42","email":"a@example.com"},"metadata":{"n":1,"list":[1,2,3],"s":"e"}}`,
		`{"id":"e1","action":"user.login","actor":{"type":"user","id":"42","email":"a@example.com"},"metadata":{"n":1,"list":[1,2,3],"s":"é"},"tenant":"acme"}`,
	}
	want := hash(base, pathOpt)
	if !bytes.Equal(hash(base, pathOpt), want) {
		t.Error("ContentHash is not deterministic")
	}
	for _, raw := range same {
		if got := hash(raw, pathOpt); !bytes.Equal(got, want) {
			t.Errorf("same content, different hash:\n%s", raw)
		}
	}
	for _, raw := range different {
		if got := hash(raw, pathOpt); bytes.Equal(got, want) {
			t.Errorf("different content, same hash:\n%s", raw)
		}
	}
	// The fan-out list is part of what was submitted.
	inst := hashtrail.DecodeOptions{Installation: true}
	a := hash(`{"action":"a.b","tenants":["acme","globex"]}`, inst)
	b := hash(`{"action":"a.b","tenants":["globex","acme"]}`, inst)
	if bytes.Equal(a, b) {
		t.Error("tenants in another order hash alike")
	}
}

func TestSplitBatch(t *testing.T) {
	single := `{"action":"user.login","metadata":{"events":[1]}}`
	got, err := hashtrail.SplitBatch([]byte(single))
	if err != nil || len(got) != 1 || string(got[0]) != single {
		t.Errorf("single event: %q, %v", got, err)
	}

	batch := `{"events": [ {"action":"a.b"}, {"action": "c.d", "tags": ["x"]} , 7 ]}`
	got, err = hashtrail.SplitBatch([]byte(batch))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"action":"a.b"}`, `{"action": "c.d", "tags": ["x"]}`, `7`}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("event %d = %s, want %s", i, got[i], want[i])
		}
	}
	// Elements that are not objects are reported by DecodeEvent, with the index.
	if _, errs := hashtrail.DecodeEvent(got[2], "events[2]", pathOpt, now); !slices.Equal(fieldsOf(errs), []string{"events[2]"}) {
		t.Errorf("non-object element: %v", errs)
	}

	many := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"events":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"e%d","action":"user.login"}`, i)
		}
		b.WriteString(`]}`)
		return b.Bytes()
	}
	if got, err := hashtrail.SplitBatch(many(hashtrail.MaxBatchEvents)); err != nil || len(got) != hashtrail.MaxBatchEvents {
		t.Errorf("batch of %d: %d events, %v", hashtrail.MaxBatchEvents, len(got), err)
	}
	// A body of exactly MaxBatchBytes is accepted.
	head, tail := `{"action":"a.b","changes":[{"field":"f","old":"`, `"}]}`
	exact := []byte(head + strings.Repeat("x", hashtrail.MaxBatchBytes-len(head)-len(tail)) + tail)
	if len(exact) != hashtrail.MaxBatchBytes {
		t.Fatalf("body has %d bytes", len(exact))
	}
	if _, err := hashtrail.SplitBatch(exact); err != nil {
		t.Errorf("body of %d bytes: %v", len(exact), err)
	}

	for _, tc := range []struct {
		name   string
		body   []byte
		code   string
		fields []string
	}{
		{"empty body", nil, hashtrail.EINVALID, []string{""}},
		{"array", []byte(`[{"action":"a.b"}]`), hashtrail.EINVALID, []string{""}},
		{"null", []byte(`null`), hashtrail.EINVALID, []string{""}},
		{"string", []byte(`"x"`), hashtrail.EINVALID, []string{""}},
		{"truncated", []byte(`{"events":[{"action":"a.b"}`), hashtrail.EINVALID, []string{""}},
		{"two values", []byte(`{"action":"a.b"}{"action":"a.b"}`), hashtrail.EINVALID, []string{""}},
		{"invalid UTF-8", []byte("{\"action\":\"a.b\",\"reason\":\"\xff\"}"), hashtrail.EINVALID, []string{""}},
		{"no events", []byte(`{"events":[]}`), hashtrail.EINVALID, []string{"events"}},
		{"events null", []byte(`{"events":null}`), hashtrail.EINVALID, []string{"events"}},
		{"events object", []byte(`{"events":{"action":"a.b"}}`), hashtrail.EINVALID, []string{"events"}},
		{"other members", []byte(`{"events":[{"action":"a.b"}],"partial":true,"tenant":"x"}`), hashtrail.EINVALID, []string{"partial", "tenant"}},
		{"too many events", many(hashtrail.MaxBatchEvents + 1), hashtrail.ETOOLARGE, []string{"events"}},
		{"body over 8 MiB", append(exact, ' '), hashtrail.ETOOLARGE, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hashtrail.SplitBatch(tc.body)
			if err == nil {
				t.Fatalf("accepted: %d events", len(got))
			}
			var e *hashtrail.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Code != tc.code {
				t.Errorf("code %q, want %q", e.Code, tc.code)
			}
			if got := fieldsOf(e.Fields); !slices.Equal(got, tc.fields) {
				t.Errorf("fields %q, want %q (%v)", got, tc.fields, err)
			}
		})
	}
}

// roundTrip re-encodes an accepted submission's event as a client would send
// it and checks that it decodes again to an equal event.
func roundTrip(sub *hashtrail.Submission, opt hashtrail.DecodeOptions) error {
	b, err := json.Marshal(sub.Event)
	if err != nil {
		return fmt.Errorf("marshal: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("re-read %s: %v", b, err)
	}
	for _, f := range []string{"seq", "received_at", "leaf_hash", "key_id"} {
		delete(m, f) // written by Marshal even when unset
	}
	again, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sub2, errs := hashtrail.DecodeEvent(again, "", opt, now)
	if errs != nil {
		return fmt.Errorf("re-encoded event %s rejected: %v", again, errs)
	}
	b2, err := json.Marshal(sub2.Event)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, b2) {
		return fmt.Errorf("round trip changed the event:\n%s\n%s", b, b2)
	}
	if !sub.Event.Time.Equal(sub2.Event.Time.Time) {
		return fmt.Errorf("round trip changed the time: %v, %v", sub.Event.Time, sub2.Event.Time)
	}
	return nil
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(fullEvent))
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, errs := hashtrail.DecodeEvent(data, "", pathOpt, now)
		if (sub == nil) == (errs == nil) {
			t.Fatalf("DecodeEvent returned submission %v and errors %v", sub, errs)
		}
		// The fast path and the full decoder accept the same events, the same way.
		if len(data) <= hashtrail.MaxEventBytes && utf8.Valid(data) {
			full, ferrs := hashtrail.DecodeEventFull(data, "", pathOpt, now)
			if (full == nil) != (sub == nil) {
				t.Fatalf("DecodeEvent accepted=%v, the full decoder accepted=%v (%v)", sub != nil, full != nil, ferrs)
			}
			if sub != nil && (!reflect.DeepEqual(full.Event, sub.Event) || !bytes.Equal(full.ContentHash, sub.ContentHash)) {
				t.Fatalf("fast and full decoding differ:\n%+v\n%+v", sub.Event, full.Event)
			}
		}
		// The prefix is applied to every path and changes nothing else.
		_, perrs := hashtrail.DecodeEvent(data, "events[7]", pathOpt, now)
		if len(perrs) != len(errs) {
			t.Fatalf("%d errors without a prefix, %d with one", len(errs), len(perrs))
		}
		for i, e := range errs {
			want := "events[7]"
			switch {
			case e.Field == "":
			case strings.HasPrefix(e.Field, "["):
				want += e.Field
			default:
				want += "." + e.Field
			}
			if perrs[i].Field != want || perrs[i].Message != e.Message {
				t.Fatalf("prefixed error %v, want %s: %s", perrs[i], want, e.Message)
			}
			if e.Message == "" {
				t.Fatalf("error without message at %q", e.Field)
			}
		}
		// Installation-wide decoding must not panic either.
		if isub, ierrs := hashtrail.DecodeEvent(data, "", hashtrail.DecodeOptions{Installation: true}, now); isub != nil {
			if isub.Event.Tenant == "" && len(isub.Tenants) == 0 {
				t.Fatal("installation-wide event accepted without a tenant")
			}
		} else if len(ierrs) == 0 {
			t.Fatal("rejected without errors")
		}
		if sub == nil {
			return
		}
		canon, err := jcs.Transform(data)
		if err != nil {
			t.Fatalf("accepted an event RFC 8785 cannot canonicalize: %v", err)
		}
		if h := sha256.Sum256(canon); !bytes.Equal(h[:], sub.ContentHash) {
			t.Fatal("ContentHash is not the SHA-256 of the RFC 8785 form")
		}
		if errs := sub.Event.Validate(now); errs != nil {
			t.Fatalf("accepted event fails Validate: %v", errs)
		}
		if err := roundTrip(sub, pathOpt); err != nil {
			t.Fatal(err)
		}
		ev := *sub.Event
		ev.ApplyDefaults(now)
		if errs := ev.Validate(now); errs != nil {
			t.Fatalf("event with defaults fails Validate: %v", errs)
		}
		if ev.Time.IsZero() || !ev.Category.Valid() || !ev.Severity.Valid() || !ev.Outcome.Valid() {
			t.Fatalf("defaults left a field unset: %+v", ev)
		}
	})
}

func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte(`{"events":[{"action":"a.b"},{"action":"c.d"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := hashtrail.SplitBatch(body)
		// Whatever the fast splitter accepts, the full one splits the same way.
		if full, ferr := hashtrail.SplitBatchFull(body); err == nil && len(body) <= hashtrail.MaxBatchBytes {
			if ferr != nil || len(full) != len(events) {
				t.Fatalf("fast split %d events, full split %d (%v)", len(events), len(full), ferr)
			}
			for i := range full {
				if !bytes.Equal(full[i], events[i]) {
					t.Fatalf("event %d: fast %q, full %q", i, events[i], full[i])
				}
			}
		}
		if err != nil {
			var e *hashtrail.Error
			if !errors.As(err, &e) || (e.Code != hashtrail.EINVALID && e.Code != hashtrail.ETOOLARGE) {
				t.Fatalf("error %v is not EINVALID or ETOOLARGE", err)
			}
			if e.Code == hashtrail.EINVALID && len(e.Fields) == 0 {
				t.Fatalf("EINVALID without fields: %v", err)
			}
			return
		}
		if len(events) == 0 || len(events) > hashtrail.MaxBatchEvents {
			t.Fatalf("%d events", len(events))
		}
		if !json.Valid(body) {
			t.Fatal("accepted a body that is not JSON")
		}
		for i, raw := range events {
			if !json.Valid(raw) {
				t.Fatalf("event %d is not JSON: %q", i, raw)
			}
			prefix := fmt.Sprintf("events[%d]", i)
			if sub, errs := hashtrail.DecodeEvent(raw, prefix, pathOpt, now); sub == nil {
				for _, e := range errs {
					if !strings.HasPrefix(e.Field, prefix) {
						t.Fatalf("error %v lacks the prefix %s", e, prefix)
					}
				}
			}
		}
	})
}

func BenchmarkDecodeHugeNumber(b *testing.B) {
	raw := json.RawMessage(`{"action":"a.b","changes":[{"field":"f","old":1.` + strings.Repeat("0", hashtrail.MaxEventBytes-200) + `}]}`)
	for b.Loop() {
		hashtrail.DecodeEvent(raw, "", pathOpt, now)
	}
}
