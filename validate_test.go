package hashtrail_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

func validEvent() *hashtrail.Event {
	ev := fullEventWant()
	ev.Tenant = ""
	return ev
}

func TestValidateFullEvent(t *testing.T) {
	if errs := validEvent().Validate(now); errs != nil {
		t.Fatal(errs)
	}
	if errs := (&hashtrail.Event{Action: "user.login"}).Validate(now); errs != nil {
		t.Fatal(errs)
	}
	// A zero now disables the future check only.
	ev := &hashtrail.Event{Action: "a.b", Time: hashtrail.NewTime(time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC))}
	if errs := ev.Validate(hashtrail.Time{}); errs != nil {
		t.Fatal(errs)
	}
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name   string
		change func(e *hashtrail.Event)
		want   []string
	}{
		{"bad id", func(e *hashtrail.Event) { e.ID = "a b" }, []string{"id"}},
		{"id too long", func(e *hashtrail.Event) { e.ID = long(129) }, []string{"id"}},
		{"future", func(e *hashtrail.Event) { e.Time = hashtrail.NewTime(now.Add(24*time.Hour + time.Microsecond)) }, []string{"time"}},
		{"before 1970", func(e *hashtrail.Event) { e.Time = hashtrail.NewTime(time.Unix(-1, 0)) }, []string{"time"}},
		{"no action", func(e *hashtrail.Event) { e.Action = "" }, []string{"action"}},
		{"bad action", func(e *hashtrail.Event) { e.Action = "login" }, []string{"action"}},
		{"enums", func(e *hashtrail.Event) { e.Category, e.Severity, e.Outcome = "x", "x", "x" }, []string{"category", "severity", "outcome"}},
		{"texts", func(e *hashtrail.Event) { e.Reason, e.Error, e.Description = long(4097), long(4097), long(4097) }, []string{"reason", "error", "description"}},
		{"invalid UTF-8 text", func(e *hashtrail.Event) { e.Reason = "caf\xe9" }, []string{"reason"}},
		{"actor", func(e *hashtrail.Event) { e.Actor = &hashtrail.Actor{Type: "robot", Name: long(257)} }, []string{"actor.type", "actor.id", "actor.name"}},
		{"actor email only", func(e *hashtrail.Event) {
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, Email: "a@example.com"}
		}, nil},
		{"system actor", func(e *hashtrail.Event) { e.Actor = &hashtrail.Actor{Type: hashtrail.ActorSystem} }, nil},
		{"service actor without id", func(e *hashtrail.Event) { e.Actor = &hashtrail.Actor{Type: hashtrail.ActorService, Name: "cron"} }, []string{"actor.id"}},
		{"actor parts", func(e *hashtrail.Event) {
			e.Actor.Roles = append(e.Actor.Roles, long(257))
			e.Actor.Auth.Method = long(257)
			e.Actor.Impersonator.Type = ""
		}, []string{"actor.roles[2]", "actor.auth.method", "actor.impersonator.type"}},
		{"too many roles", func(e *hashtrail.Event) { e.Actor.Roles = make([]string, 1001) }, []string{"actor.roles"}},
		{"targets", func(e *hashtrail.Event) {
			e.Targets = []hashtrail.Target{{Type: "user", ID: "1"}, {Type: "", ID: ""}, {Type: "-x", ID: "1", Name: long(257)}}
		}, []string{"targets[1].type", "targets[1].id", "targets[2].type", "targets[2].name"}},
		{"too many targets", func(e *hashtrail.Event) {
			e.Targets = slices.Repeat([]hashtrail.Target{{Type: "t", ID: "1"}}, 1001)
		}, []string{"targets"}},
		{"context", func(e *hashtrail.Event) {
			e.Context.IP, e.Context.Location.Country, e.Context.Method = "300.1.1.1", "xx", long(33)
		}, []string{"context.ip", "context.location.country", "context.method"}},
		{"zoned ip", func(e *hashtrail.Event) { e.Context.IP = "fe80::1%eth0" }, []string{"context.ip"}},
		{"service", func(e *hashtrail.Event) { e.Service.Host = long(257) }, []string{"service.host"}},
		{"changes", func(e *hashtrail.Event) {
			e.Changes = []hashtrail.Change{{Field: ""}, {Field: "password", Redacted: true, Old: json.RawMessage(`"x"`)}}
		}, []string{"changes[0].field", "changes[1]"}},
		{"redacted change", func(e *hashtrail.Event) { e.Changes = []hashtrail.Change{{Field: "password", Redacted: true}} }, nil},
		{"metadata not an object", func(e *hashtrail.Event) { e.Metadata = json.RawMessage(`[1]`) }, []string{"metadata"}},
		{"metadata too big", func(e *hashtrail.Event) {
			e.Metadata = json.RawMessage(`{"x":"` + long(hashtrail.MaxMetadataBytes) + `"}`)
		}, []string{"metadata"}},
		{"tags", func(e *hashtrail.Event) { e.Tags = []string{"", long(257)} }, []string{"tags[0]", "tags[1]"}},
		{"too many tags", func(e *hashtrail.Event) { e.Tags = slices.Repeat([]string{"t"}, 65) }, []string{"tags"}},
		{"64 tags", func(e *hashtrail.Event) { e.Tags = slices.Repeat([]string{"t"}, 64) }, nil},
		{"output", func(e *hashtrail.Event) {
			e.Output = &hashtrail.Output{Stdout: long(hashtrail.MaxOutputBytes + 1), Stderr: long(hashtrail.MaxOutputBytes + 1)}
		}, []string{"output.command", "output.stdout", "output.stderr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := validEvent()
			tc.change(ev)
			errs := ev.Validate(now)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if got := fieldsOf(errs); !slices.Equal(got, want) {
				t.Errorf("fields %q, want %q\n%v", got, want, errs)
			}
		})
	}
}

func TestValidHelpers(t *testing.T) {
	for id, ok := range map[string]bool{"a": true, "01JH8ZQ3X5W4T8N2K7C9V6B1M0": true, "a:b.c_d-E": true, "": false, "a b": false, strings.Repeat("a", 129): false} {
		if hashtrail.ValidEventID(id) != ok {
			t.Errorf("ValidEventID(%q) = %v", id, !ok)
		}
	}
	for a, ok := range map[string]bool{"user.login": true, "a.b.c": true, "user": false, "User.login": false, "a." + strings.Repeat("b", 255): false, "a." + strings.Repeat("b", 254): true} {
		if hashtrail.ValidAction(a) != ok {
			t.Errorf("ValidAction(%.20q) = %v", a, !ok)
		}
	}
	for id, ok := range map[string]bool{"acme": true, "a": true, "0": true, "acme-corp.eu_1": true, strings.Repeat("a", 63): true,
		"": false, "Acme": false, "-acme": false, ".acme": false, "_acme": false, "ac me": false, "*": false, strings.Repeat("a", 64): false} {
		if hashtrail.ValidTenantID(id) != ok {
			t.Errorf("ValidTenantID(%q) = %v", id, !ok)
		}
	}
}

func TestApplyDefaults(t *testing.T) {
	received := hashtrail.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC))
	client := hashtrail.NewTime(time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC))
	for _, tc := range []struct {
		name string
		in   hashtrail.Event
		want hashtrail.Event
	}{
		{"everything defaulted", hashtrail.Event{Action: "widget.frobnicate"},
			hashtrail.Event{Action: "widget.frobnicate", Time: received, Category: hashtrail.CategoryResource, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess}},
		{"client time kept", hashtrail.Event{Action: "user.login", Time: client},
			hashtrail.Event{Action: "user.login", Time: client, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess}},
		{"failed login is medium", hashtrail.Event{Action: "user.login", Outcome: hashtrail.OutcomeFailure},
			hashtrail.Event{Action: "user.login", Time: received, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeFailure}},
		{"failed login_failed is medium", hashtrail.Event{Action: "user.login_failed", Outcome: hashtrail.OutcomeFailure},
			hashtrail.Event{Action: "user.login_failed", Time: received, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeFailure}},
		{"failed authentication by explicit category", hashtrail.Event{Action: "sso.assert", Category: hashtrail.CategoryAuthentication, Outcome: hashtrail.OutcomeFailure},
			hashtrail.Event{Action: "sso.assert", Time: received, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeFailure}},
		{"failed authentication by object", hashtrail.Event{Action: "session.create", Outcome: hashtrail.OutcomeFailure},
			hashtrail.Event{Action: "session.create", Time: received, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeFailure}},
		{"explicit severity kept", hashtrail.Event{Action: "user.login", Outcome: hashtrail.OutcomeFailure, Severity: hashtrail.SeverityLow},
			hashtrail.Event{Action: "user.login", Time: received, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityLow, Outcome: hashtrail.OutcomeFailure}},
		{"other failures stay info", hashtrail.Event{Action: "project.delete", Outcome: hashtrail.OutcomeFailure},
			hashtrail.Event{Action: "project.delete", Time: received, Category: hashtrail.CategoryResource, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeFailure}},
		{"unknown outcome of login stays info", hashtrail.Event{Action: "user.login", Outcome: hashtrail.OutcomeUnknown},
			hashtrail.Event{Action: "user.login", Time: received, Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeUnknown}},
		{"explicit category kept", hashtrail.Event{Action: "user.login", Category: hashtrail.CategorySecurity},
			hashtrail.Event{Action: "user.login", Time: received, Category: hashtrail.CategorySecurity, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess}},
		{"id not assigned", hashtrail.Event{ID: "", Action: "data.export"},
			hashtrail.Event{Action: "data.export", Time: received, Category: hashtrail.CategoryData, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.in
			ev.ApplyDefaults(received)
			if !ev.Time.Equal(tc.want.Time.Time) || ev.Category != tc.want.Category || ev.Severity != tc.want.Severity ||
				ev.Outcome != tc.want.Outcome || ev.ID != tc.want.ID || ev.Action != tc.want.Action {
				t.Errorf("got %v %s %s %s %q, want %v %s %s %s %q", ev.Time, ev.Category, ev.Severity, ev.Outcome, ev.ID,
					tc.want.Time, tc.want.Category, tc.want.Severity, tc.want.Outcome, tc.want.ID)
			}
			if errs := ev.Validate(received); errs != nil {
				t.Errorf("event with defaults is invalid: %v", errs)
			}
			// Applying the defaults twice changes nothing.
			again := ev
			again.ApplyDefaults(hashtrail.NewTime(received.Add(time.Hour)))
			if !again.Time.Equal(ev.Time.Time) || again.Category != ev.Category || again.Severity != ev.Severity || again.Outcome != ev.Outcome {
				t.Errorf("ApplyDefaults is not idempotent: %+v, %+v", again, ev)
			}
		})
	}
}

// TestApplyDefaultsTime checks that a time given as a bare time.Time (not
// through NewTime or decoding) is still stored in UTC with microseconds.
func TestApplyDefaultsTime(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	ev := hashtrail.Event{Action: "a.b", Time: hashtrail.Time{Time: time.Date(2026, 3, 1, 13, 0, 0, 999999999, berlin)}}
	ev.ApplyDefaults(now)
	if got := ev.Time.String(); got != "2026-03-01T12:00:00.999999Z" {
		t.Errorf("time = %s", got)
	}
	if ev.Time.Location() != time.UTC || ev.Time.Nanosecond()%1000 != 0 {
		t.Errorf("time %v is not UTC microseconds", ev.Time.Time)
	}
	ev = hashtrail.Event{Action: "a.b"}
	ev.ApplyDefaults(hashtrail.Time{Time: time.Date(2026, 3, 1, 13, 0, 0, 1500, berlin)})
	if got := ev.Time.String(); got != "2026-03-01T12:00:00.000001Z" {
		t.Errorf("time from receivedAt = %s", got)
	}
}

func TestDefaultCategory(t *testing.T) {
	for action, want := range map[string]hashtrail.Category{
		"user.login":             hashtrail.CategoryAuthentication,
		"user.create":            hashtrail.CategoryAccount,
		"role.permission_grant":  hashtrail.CategoryAuthorization,
		"api_key.create":         hashtrail.CategorySecurity,
		"access.grant":           hashtrail.CategoryAccess,
		"app.env_var_add":        hashtrail.CategoryConfiguration,
		"data.export":            hashtrail.CategoryData,
		"project.create":         hashtrail.CategoryResource,
		"system.retention_purge": hashtrail.CategorySystem,
		// Not in the catalog: by object.
		"auth.token_refresh":  hashtrail.CategoryAuthentication,
		"session.revoke":      hashtrail.CategoryAuthentication,
		"login.attempt":       hashtrail.CategoryAuthentication,
		"mfa.challenge":       hashtrail.CategoryAuthentication,
		"permission.add":      hashtrail.CategoryAuthorization,
		"member.invite":       hashtrail.CategoryAuthorization,
		"membership.end":      hashtrail.CategoryAuthorization,
		"role.rename":         hashtrail.CategoryAuthorization,
		"user.avatar_change":  hashtrail.CategoryAccount,
		"account.suspend":     hashtrail.CategoryAccount,
		"settings.theme_set":  hashtrail.CategoryConfiguration,
		"config.reload":       hashtrail.CategoryConfiguration,
		"system.startup":      hashtrail.CategorySystem,
		"widget.frobnicate":   hashtrail.CategoryResource,
		"invoice.pay":         hashtrail.CategoryResource,
		"userx.login":         hashtrail.CategoryResource,
		"api_key.rotate":      hashtrail.CategoryResource,
		"":                    hashtrail.CategoryResource,
		"users.login.attempt": hashtrail.CategoryResource,
	} {
		if got := hashtrail.DefaultCategory(action); got != want {
			t.Errorf("DefaultCategory(%q) = %s, want %s", action, got, want)
		}
	}
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range hashtrail.Catalog {
		if !hashtrail.ValidAction(e.Action) {
			t.Errorf("catalog action %q is not a valid action", e.Action)
		}
		if !e.Category.Valid() {
			t.Errorf("catalog action %q has category %q", e.Action, e.Category)
		}
		if e.Description == "" {
			t.Errorf("catalog action %q has no description", e.Action)
		}
		if seen[e.Action] {
			t.Errorf("catalog action %q listed twice", e.Action)
		}
		seen[e.Action] = true
		if got := hashtrail.DefaultCategory(e.Action); got != e.Category {
			t.Errorf("DefaultCategory(%q) = %s, catalog says %s", e.Action, got, e.Category)
		}
	}
	for _, a := range []string{"user.login", "user.login_failed", "system.subject_erased", "system.retention_purge"} {
		if !seen[a] {
			t.Errorf("catalog lacks %s", a)
		}
	}
}

func TestEnums(t *testing.T) {
	for i, s := range hashtrail.Severities {
		if !s.Valid() || s.Rank() != i {
			t.Errorf("severity %s: valid %v, rank %d", s, s.Valid(), s.Rank())
		}
	}
	if hashtrail.SeverityInfo.Rank() >= hashtrail.SeverityCritical.Rank() {
		t.Error("severities are not ordered")
	}
	for _, bad := range []string{"", "INFO", "warning", " info"} {
		if hashtrail.Severity(bad).Valid() || hashtrail.Severity(bad).Rank() != -1 {
			t.Errorf("severity %q accepted", bad)
		}
		if hashtrail.Category(bad).Valid() || hashtrail.Outcome(bad).Valid() || hashtrail.ActorType(bad).Valid() || hashtrail.Role(bad).Valid() {
			t.Errorf("%q accepted as an enum value", bad)
		}
	}
	if len(hashtrail.Categories) != 9 || len(hashtrail.Severities) != 5 || len(hashtrail.Outcomes) != 3 || len(hashtrail.ActorTypes) != 4 || len(hashtrail.Roles) != 3 {
		t.Error("enum lists differ from DESIGN §1")
	}
	for _, lists := range [][]string{
		strs(hashtrail.Categories), strs(hashtrail.Severities), strs(hashtrail.Outcomes), strs(hashtrail.ActorTypes), strs(hashtrail.Roles),
	} {
		for _, v := range lists {
			if v == "" || strings.ToLower(v) != v {
				t.Errorf("enum value %q", v)
			}
		}
	}
}

func strs[T ~string](l []T) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = string(v)
	}
	return out
}

func TestActorKey(t *testing.T) {
	for _, tc := range []struct {
		actor *hashtrail.Actor
		want  string
	}{
		{nil, ""},
		{&hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "a@example.com"}, "user:42"},
		{&hashtrail.Actor{Type: hashtrail.ActorUser, Email: "a@example.com"}, "email:a@example.com"},
		{&hashtrail.Actor{Type: hashtrail.ActorSystem}, ""},
	} {
		ev := &hashtrail.Event{Actor: tc.actor}
		if got := ev.ActorKey(); got != tc.want {
			t.Errorf("ActorKey(%+v) = %q, want %q", tc.actor, got, tc.want)
		}
	}
	if got := (hashtrail.Target{Type: "project", ID: "7"}).Key(); got != "project:7" {
		t.Errorf("Target.Key = %q", got)
	}
}

func TestReservedActionsAreRefused(t *testing.T) {
	for _, a := range []string{"system.subject_erased", "system.retention_purge"} {
		_, errs := hashtrail.DecodeEvent(json.RawMessage(`{"action":"`+a+`"}`), "", hashtrail.DecodeOptions{PathTenant: "acme"}, hashtrail.NewTime(time.Now()))
		if len(errs) != 1 || errs[0].Field != "action" || !strings.Contains(errs[0].Message, "reserved") {
			t.Errorf("%s: %v", a, errs)
		}
	}
	if hashtrail.ReservedAction("system.backup") {
		t.Error("system.backup is not reserved")
	}
}
