package client_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the catalog table of docs/events.md")

// constructors maps each standard action to its constructor, called as in
// the docs.
var constructors = map[string]struct {
	call string
	make func() *hashtrail.Event
}{
	"user.login": {"LoginSucceeded(actor, auth)", func() *hashtrail.Event {
		return client.LoginSucceeded(client.User("42"), client.PasswordAndMFA("totp"))
	}},
	"user.login_failed": {"LoginFailed(actor, auth, reason)", func() *hashtrail.Event {
		return client.LoginFailed(&hashtrail.Actor{Type: hashtrail.ActorUser, Email: "x@example.com"}, client.Password(), client.FailureUnknownUser)
	}},
	"user.logout":          {"LoggedOut(actor)", func() *hashtrail.Event { return client.LoggedOut(client.User("42")) }},
	"user.mfa_enable":      {"MFAEnabled(user, factor)", func() *hashtrail.Event { return client.MFAEnabled("42", "totp") }},
	"user.mfa_disable":     {"MFADisabled(user, factor)", func() *hashtrail.Event { return client.MFADisabled("42", "totp") }},
	"user.password_change": {"PasswordChanged(user)", func() *hashtrail.Event { return client.PasswordChanged("42") }},
	"user.password_reset":  {"PasswordReset(user)", func() *hashtrail.Event { return client.PasswordReset("42") }},
	"user.create":          {"UserCreated(user)", func() *hashtrail.Event { return client.UserCreated("42") }},
	"user.update":          {"UserUpdated(user, changes...)", func() *hashtrail.Event { return client.UserUpdated("42") }},
	"user.delete":          {"UserDeleted(user)", func() *hashtrail.Event { return client.UserDeleted("42") }},
	"user.email_change": {"EmailChanged(user, old, new)", func() *hashtrail.Event {
		return client.EmailChanged("42", "a@example.com", "b@example.com")
	}},
	"role.create": {"RoleCreated(role)", func() *hashtrail.Event { return client.RoleCreated("auditor") }},
	"role.delete": {"RoleDeleted(role)", func() *hashtrail.Event { return client.RoleDeleted("auditor") }},
	"role.assign": {"RoleAssigned(role, member)", func() *hashtrail.Event {
		return client.RoleAssigned("admin", client.UserRef("43"))
	}},
	"role.unassign": {"RoleUnassigned(role, member)", func() *hashtrail.Event {
		return client.RoleUnassigned("admin", client.GroupRef("ops"))
	}},
	"role.permission_grant": {"PermissionGranted(role, permission)", func() *hashtrail.Event {
		return client.PermissionGranted("admin", "billing.write")
	}},
	"role.permission_revoke": {"PermissionRevoked(role, permission)", func() *hashtrail.Event {
		return client.PermissionRevoked("admin", "billing.write")
	}},
	"group.create":   {"GroupCreated(group)", func() *hashtrail.Event { return client.GroupCreated("ops") }},
	"group.delete":   {"GroupDeleted(group)", func() *hashtrail.Event { return client.GroupDeleted("ops") }},
	"member.add":     {"MemberAdded(group, member)", func() *hashtrail.Event { return client.MemberAdded("ops", client.UserRef("43")) }},
	"member.remove":  {"MemberRemoved(group, member)", func() *hashtrail.Event { return client.MemberRemoved("ops", client.GroupRef("sre")) }},
	"api_key.create": {"APIKeyCreated(keyID, name)", func() *hashtrail.Event { return client.APIKeyCreated("key_1", "CI") }},
	"api_key.revoke": {"APIKeyRevoked(keyID)", func() *hashtrail.Event { return client.APIKeyRevoked("key_1") }},
	"api_key.use":    {"APIKeyUsed(keyID)", func() *hashtrail.Event { return client.APIKeyUsed("key_1") }},
	"access.request": {"AccessRequested(resource)", func() *hashtrail.Event {
		return client.AccessRequested(hashtrail.Target{Type: "database", ID: "prod"})
	}},
	"access.grant": {"AccessGranted(resource, grantee)", func() *hashtrail.Event {
		return client.AccessGranted(hashtrail.Target{Type: "database", ID: "prod"}, client.UserRef("43"))
	}},
	"access.deny": {"AccessDenied(resource, reason)", func() *hashtrail.Event {
		return client.AccessDenied(hashtrail.Target{Type: "database", ID: "prod"}, "not on call")
	}},
	"project.create":     {"ProjectCreated(project)", func() *hashtrail.Event { return client.ProjectCreated("7") }},
	"project.update":     {"ProjectUpdated(project, changes...)", func() *hashtrail.Event { return client.ProjectUpdated("7") }},
	"project.delete":     {"ProjectDeleted(project)", func() *hashtrail.Event { return client.ProjectDeleted("7") }},
	"app.env_var_add":    {"EnvVarAdded(app, name)", func() *hashtrail.Event { return client.EnvVarAdded("web", "DATABASE_URL") }},
	"app.env_var_change": {"EnvVarChanged(app, name)", func() *hashtrail.Event { return client.EnvVarChanged("web", "DATABASE_URL") }},
	"app.env_var_remove": {"EnvVarRemoved(app, name)", func() *hashtrail.Event { return client.EnvVarRemoved("web", "DATABASE_URL") }},
	"settings.update":    {"SettingsUpdated(changes...)", func() *hashtrail.Event { return client.SettingsUpdated() }},
	"app.deploy":         {"Deployed(app, version)", func() *hashtrail.Event { return client.Deployed("web", "v1.2.3") }},
	"command.run": {"CommandRun(command, exitCode, stdout, stderr)", func() *hashtrail.Event {
		return client.CommandRun("./deploy.sh", 0, "ok\n", "")
	}},
	"data.export": {"DataExported(resource, format)", func() *hashtrail.Event {
		return client.DataExported(hashtrail.Target{Type: "report", ID: "q3"}, "csv")
	}},
	"data.read": {"DataRead(resource)", func() *hashtrail.Event { return client.DataRead(hashtrail.Target{Type: "record", ID: "9"}) }},
}

// TestCatalogConstructors checks that every standard action but the
// reserved ones has a constructor whose event is valid and carries the
// catalog's defaults.
func TestCatalogConstructors(t *testing.T) {
	now := hashtrail.NewTime(time.Now())
	for _, e := range hashtrail.Catalog {
		c, ok := constructors[e.Action]
		if hashtrail.ReservedAction(e.Action) {
			if ok {
				t.Errorf("%s is reserved and must have no constructor", e.Action)
			}
			continue
		}
		if !ok {
			t.Errorf("%s has no constructor", e.Action)
			continue
		}
		ev := c.make()
		if errs := ev.Validate(now); len(errs) > 0 {
			t.Errorf("%s: %v", c.call, errs)
		}
		if ev.Action != e.Action || ev.Category != e.Category || ev.Severity != e.Severity || ev.Outcome != e.Outcome {
			t.Errorf("%s = %s %s %s %s, catalog says %s %s %s %s", c.call, ev.Action, ev.Category, ev.Severity, ev.Outcome,
				e.Action, e.Category, e.Severity, e.Outcome)
		}
	}
	if len(constructors) != len(hashtrail.Catalog)-2 {
		t.Errorf("%d constructors for %d catalog actions", len(constructors), len(hashtrail.Catalog))
	}
}

func TestCatalogConstructorDetails(t *testing.T) {
	actor := client.User("42")
	ev := client.LoginSucceeded(actor, client.OAuth("github"))
	if ev.Actor.Auth.Method != "oauth:github" || ev.Actor.Auth.Provider != "github" || actor.Auth != nil {
		t.Errorf("OAuth login: %+v (caller's actor %+v)", ev.Actor.Auth, actor)
	}
	if a := client.PasswordAndMFA("totp"); a.Method != "password+totp" || a.MFA == nil || !*a.MFA {
		t.Errorf("PasswordAndMFA = %+v", a)
	}
	if a := client.SAML("okta").Method; a != "saml" {
		t.Errorf("SAML method %s", a)
	}
	ev = client.LoginFailed(actor, client.APIToken("tok_1"), "expired")
	if ev.Outcome != hashtrail.OutcomeFailure || ev.Error != "expired" || ev.Actor.Auth.CredentialID != "tok_1" {
		t.Errorf("failed login: %+v", ev)
	}
	ev = client.CommandRun("false", 1, "", "boom")
	if ev.Outcome != hashtrail.OutcomeFailure || *ev.Output.ExitCode != 1 || ev.Output.Stderr != "boom" {
		t.Errorf("failed command: %+v %+v", ev, ev.Output)
	}
	if ev := client.CommandRun("sleep 9", -1, "", ""); ev.Outcome != hashtrail.OutcomeUnknown || ev.Output.ExitCode != nil {
		t.Errorf("killed command: %+v", ev)
	}
	if ev := client.EnvVarChanged("web", "API_TOKEN"); len(ev.Changes) != 1 || !ev.Changes[0].Redacted || ev.Changes[0].New != nil {
		t.Errorf("env var change leaks: %+v", ev.Changes)
	}
	if ev := client.PermissionGranted("admin", "billing.write"); ev.Targets[0].Key() != "role:admin" || ev.Targets[1].Key() != "permission:billing.write" {
		t.Errorf("targets %v", ev.Targets)
	}
}

// TestEventsDoc checks that docs/events.md lists the catalog as it is
// (go test ./client -run TestEventsDoc -update-docs rewrites it).
func TestEventsDoc(t *testing.T) {
	const path = "../docs/events.md"
	const begin, end = "<!-- catalog table: generated by client/catalog_test.go -->\n", "<!-- end of catalog table -->\n"
	var b strings.Builder
	b.WriteString(begin)
	b.WriteString("| action | category | severity | outcome | OCSF class | OCSF activity | Go constructor (`client.`) | description |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, e := range hashtrail.Catalog {
		ctor := "— (reserved: Hashtrail records it)"
		if c, ok := constructors[e.Action]; ok {
			ctor = "`" + c.call + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %d %s | %d %s | %s | %s |\n", e.Action, e.Category, e.Severity, e.Outcome,
			e.OCSF.ClassUID, e.OCSF.ClassName, e.OCSF.ActivityID, e.OCSF.ActivityName, ctor, e.Description)
	}
	b.WriteString(end)
	table := b.String()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the catalog table markers", path)
	}
	got := s[i : j+len(end)]
	if got == table {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(s[:i]+table+s[j+len(end):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the catalog table in %s is out of date; run go test ./client -run TestEventsDoc -update-docs", path)
}
