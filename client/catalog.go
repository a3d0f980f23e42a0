package client

import (
	"encoding/json"

	hashtrail "github.com/hashtrail/hashtrail"
)

// This file holds the constructors of the standard event catalog
// (hashtrail.Catalog, docs/events.md): one function per action, each
// returning a new event with the action, category, severity and outcome
// of its catalog entry and the targets it is about. The actor is left
// empty except where the actor is what the event is about (sign-in and
// sign-out): Record fills it from the request context (Middleware,
// WithActor), or set Event.Actor yourself. Change any field before
// recording, for example:
//
//	ev := client.RoleAssigned("admin", client.UserRef("43"))
//	ev.Reason = "ticket OPS-12"
//	c.Record(r.Context(), ev)

// LoginFailure is a standard reason for a failed sign-in, recorded as the
// event's error. Any other text may be used.
type LoginFailure string

// The standard sign-in failure reasons.
const (
	FailureInvalidCredentials LoginFailure = "invalid_credentials" // wrong password or token
	FailureUnknownUser        LoginFailure = "unknown_user"
	FailureMFAFailed          LoginFailure = "mfa_failed" // wrong or missing second factor
	FailureAccountLocked      LoginFailure = "account_locked"
	FailureAccountDisabled    LoginFailure = "account_disabled"
	FailureExpiredCredentials LoginFailure = "expired_credentials"
	FailureRateLimited        LoginFailure = "rate_limited"
	FailureProviderError      LoginFailure = "provider_error" // the OAuth or SAML provider refused or failed
)

// User returns an actor of type user.
func User(id string) *hashtrail.Actor { return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: id} }

// UserRef returns a target naming a user.
func UserRef(id string) hashtrail.Target { return hashtrail.Target{Type: "user", ID: id} }

// GroupRef returns a target naming a group.
func GroupRef(id string) hashtrail.Target { return hashtrail.Target{Type: "group", ID: id} }

// Password is sign-in with a password alone.
func Password() *hashtrail.Auth { return &hashtrail.Auth{Method: "password", MFA: boolPtr(false)} }

// PasswordAndMFA is sign-in with a password and a second factor such as
// "totp", "sms" or "webauthn" (method "password+totp").
func PasswordAndMFA(factor string) *hashtrail.Auth {
	return &hashtrail.Auth{Method: "password+" + factor, MFA: boolPtr(true)}
}

// OAuth is sign-in through an OAuth or OpenID Connect provider such as
// "github" or "google" (method "oauth:github").
func OAuth(provider string) *hashtrail.Auth {
	return &hashtrail.Auth{Method: "oauth:" + provider, Provider: provider}
}

// SAML is sign-in through a SAML identity provider, named by idp.
func SAML(idp string) *hashtrail.Auth { return &hashtrail.Auth{Method: "saml", Provider: idp} }

// APIToken is authentication with an API token; credentialID names the
// token (never its secret).
func APIToken(credentialID string) *hashtrail.Auth {
	return &hashtrail.Auth{Method: "api_token", CredentialID: credentialID}
}

// Passkey is sign-in with a WebAuthn passkey.
func Passkey() *hashtrail.Auth { return &hashtrail.Auth{Method: "webauthn", MFA: boolPtr(true)} }

func boolPtr(b bool) *bool { return &b }

// standard returns a new event with action's catalog defaults and targets.
func standard(action string, targets ...hashtrail.Target) *hashtrail.Event {
	e, ok := hashtrail.LookupCatalog(action)
	if !ok {
		panic("client: " + action + " is not in the standard catalog")
	}
	return &hashtrail.Event{Action: action, Category: e.Category, Severity: e.Severity, Outcome: e.Outcome, Targets: targets}
}

// signIn copies actor with auth set, so the caller's actor is not changed.
func signIn(actor *hashtrail.Actor, auth *hashtrail.Auth) *hashtrail.Actor {
	if actor == nil {
		return nil
	}
	a := *actor
	if auth != nil {
		au := *auth
		a.Auth = &au
	}
	return &a
}

func metadata(kv ...string) json.RawMessage {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}

// LoginSucceeded is user.login: actor signed in with auth (Password(),
// PasswordAndMFA("totp"), OAuth("github"), SAML(idp), APIToken(id), ...).
func LoginSucceeded(actor *hashtrail.Actor, auth *hashtrail.Auth) *hashtrail.Event {
	ev := standard("user.login")
	ev.Actor = signIn(actor, auth)
	return ev
}

// LoginFailed is user.login_failed: a sign-in by actor with auth failed
// for reason (a LoginFailure or any text). For an unknown account, name
// the actor by the address tried: &hashtrail.Actor{Type: "user", Email: addr}.
func LoginFailed[R ~string](actor *hashtrail.Actor, auth *hashtrail.Auth, reason R) *hashtrail.Event {
	ev := standard("user.login_failed")
	ev.Actor = signIn(actor, auth)
	ev.Error = string(reason)
	return ev
}

// LoggedOut is user.logout.
func LoggedOut(actor *hashtrail.Actor) *hashtrail.Event {
	ev := standard("user.logout")
	ev.Actor = signIn(actor, nil)
	return ev
}

// PasswordChanged is user.password_change for user; the change itself is
// recorded as a redacted change of "password".
func PasswordChanged(user string) *hashtrail.Event {
	ev := standard("user.password_change", UserRef(user))
	ev.Changes = []hashtrail.Change{{Field: "password", Redacted: true}}
	return ev
}

// PasswordReset is user.password_reset for user (through a reset link, or
// by an admin).
func PasswordReset(user string) *hashtrail.Event {
	ev := standard("user.password_reset", UserRef(user))
	ev.Changes = []hashtrail.Change{{Field: "password", Redacted: true}}
	return ev
}

// MFAEnabled is user.mfa_enable: user turned on a second factor such as
// "totp" or "webauthn".
func MFAEnabled(user, factor string) *hashtrail.Event {
	ev := standard("user.mfa_enable", UserRef(user))
	ev.Metadata = metadata("factor", factor)
	return ev
}

// MFADisabled is user.mfa_disable.
func MFADisabled(user, factor string) *hashtrail.Event {
	ev := standard("user.mfa_disable", UserRef(user))
	ev.Metadata = metadata("factor", factor)
	return ev
}

// UserCreated is user.create.
func UserCreated(user string) *hashtrail.Event { return standard("user.create", UserRef(user)) }

// UserUpdated is user.update with what changed (see Diff).
func UserUpdated(user string, changes ...hashtrail.Change) *hashtrail.Event {
	ev := standard("user.update", UserRef(user))
	ev.Changes = changes
	return ev
}

// UserDeleted is user.delete.
func UserDeleted(user string) *hashtrail.Event { return standard("user.delete", UserRef(user)) }

// EmailChanged is user.email_change from oldEmail to newEmail (personal
// data: erasable, committed to but not stored in the leaf).
func EmailChanged(user, oldEmail, newEmail string) *hashtrail.Event {
	ev := standard("user.email_change", UserRef(user))
	o, _ := json.Marshal(oldEmail)
	n, _ := json.Marshal(newEmail)
	ev.Changes = []hashtrail.Change{{Field: "email", Old: o, New: n}}
	return ev
}

// RoleCreated is role.create.
func RoleCreated(role string) *hashtrail.Event { return standard("role.create", roleRef(role)) }

// RoleDeleted is role.delete.
func RoleDeleted(role string) *hashtrail.Event { return standard("role.delete", roleRef(role)) }

// RoleAssigned is role.assign: role was given to member, a user or group
// (UserRef, GroupRef).
func RoleAssigned(role string, member hashtrail.Target) *hashtrail.Event {
	return standard("role.assign", roleRef(role), member)
}

// RoleUnassigned is role.unassign: role was taken from member.
func RoleUnassigned(role string, member hashtrail.Target) *hashtrail.Event {
	return standard("role.unassign", roleRef(role), member)
}

// PermissionGranted is role.permission_grant: permission was added to role.
func PermissionGranted(role, permission string) *hashtrail.Event {
	return standard("role.permission_grant", roleRef(role), hashtrail.Target{Type: "permission", ID: permission})
}

// PermissionRevoked is role.permission_revoke.
func PermissionRevoked(role, permission string) *hashtrail.Event {
	return standard("role.permission_revoke", roleRef(role), hashtrail.Target{Type: "permission", ID: permission})
}

// GroupCreated is group.create.
func GroupCreated(group string) *hashtrail.Event { return standard("group.create", GroupRef(group)) }

// GroupDeleted is group.delete.
func GroupDeleted(group string) *hashtrail.Event { return standard("group.delete", GroupRef(group)) }

// MemberAdded is member.add: member, a user or a group, joined group.
func MemberAdded(group string, member hashtrail.Target) *hashtrail.Event {
	return standard("member.add", GroupRef(group), member)
}

// MemberRemoved is member.remove.
func MemberRemoved(group string, member hashtrail.Target) *hashtrail.Event {
	return standard("member.remove", GroupRef(group), member)
}

// APIKeyCreated is api_key.create; name is the key's display name.
func APIKeyCreated(keyID, name string) *hashtrail.Event {
	return standard("api_key.create", hashtrail.Target{Type: "api_key", ID: keyID, Name: name})
}

// APIKeyRevoked is api_key.revoke.
func APIKeyRevoked(keyID string) *hashtrail.Event {
	return standard("api_key.revoke", hashtrail.Target{Type: "api_key", ID: keyID})
}

// APIKeyUsed is api_key.use: the key authenticated a request. The key is
// the actor and the target; never pass its secret.
func APIKeyUsed(keyID string) *hashtrail.Event {
	ev := standard("api_key.use", hashtrail.Target{Type: "api_key", ID: keyID})
	ev.Actor = &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: keyID, Auth: APIToken(keyID)}
	return ev
}

// AccessRequested is access.request: access to resource was asked for.
func AccessRequested(resource hashtrail.Target) *hashtrail.Event {
	return standard("access.request", resource)
}

// AccessGranted is access.grant: grantee may now use resource.
func AccessGranted(resource, grantee hashtrail.Target) *hashtrail.Event {
	return standard("access.grant", resource, grantee)
}

// AccessDenied is access.deny: access to resource was refused for reason.
func AccessDenied(resource hashtrail.Target, reason string) *hashtrail.Event {
	ev := standard("access.deny", resource)
	ev.Error = reason
	return ev
}

// ProjectCreated is project.create.
func ProjectCreated(project string) *hashtrail.Event {
	return standard("project.create", projectRef(project))
}

// ProjectUpdated is project.update with what changed (see Diff).
func ProjectUpdated(project string, changes ...hashtrail.Change) *hashtrail.Event {
	ev := standard("project.update", projectRef(project))
	ev.Changes = changes
	return ev
}

// ProjectDeleted is project.delete.
func ProjectDeleted(project string) *hashtrail.Event {
	return standard("project.delete", projectRef(project))
}

// EnvVarAdded is app.env_var_add: variable name was added to app. Values
// are never recorded; the change is marked redacted.
func EnvVarAdded(app, name string) *hashtrail.Event { return envVar("app.env_var_add", app, name) }

// EnvVarChanged is app.env_var_change.
func EnvVarChanged(app, name string) *hashtrail.Event {
	return envVar("app.env_var_change", app, name)
}

// EnvVarRemoved is app.env_var_remove.
func EnvVarRemoved(app, name string) *hashtrail.Event {
	return envVar("app.env_var_remove", app, name)
}

func envVar(action, app, name string) *hashtrail.Event {
	ev := standard(action, hashtrail.Target{Type: "app", ID: app}, hashtrail.Target{Type: "env_var", ID: name})
	ev.Changes = []hashtrail.Change{{Field: name, Redacted: true}}
	return ev
}

// SettingsUpdated is settings.update with what changed (see Diff).
func SettingsUpdated(changes ...hashtrail.Change) *hashtrail.Event {
	ev := standard("settings.update")
	ev.Changes = changes
	return ev
}

// Deployed is app.deploy: version of app was deployed. Set Outcome to
// failure (and Output, if you have it) for a failed deploy.
func Deployed(app, version string) *hashtrail.Event {
	ev := standard("app.deploy", hashtrail.Target{Type: "app", ID: app})
	ev.Metadata = metadata("version", version)
	return ev
}

// CommandRun is command.run: command ran and ended with exitCode (negative
// when it did not run to an exit, e.g. killed: outcome unknown); outcome is
// success for 0, else failure. stdout and stderr should already be capped
// at hashtrail.MaxOutputBytes. `hashtrail run` records this event.
func CommandRun(command string, exitCode int, stdout, stderr string) *hashtrail.Event {
	ev := standard("command.run")
	ev.Output = &hashtrail.Output{Command: command, Stdout: stdout, Stderr: stderr}
	switch {
	case exitCode < 0:
		ev.Outcome = hashtrail.OutcomeUnknown
	default:
		code := exitCode
		ev.Output.ExitCode = &code
		if code != 0 {
			ev.Outcome = hashtrail.OutcomeFailure
		}
	}
	return ev
}

// DataExported is data.export: resource was exported in format (csv, ...).
func DataExported(resource hashtrail.Target, format string) *hashtrail.Event {
	ev := standard("data.export", resource)
	ev.Metadata = metadata("format", format)
	return ev
}

// DataRead is data.read: resource was read (for data whose every access is
// audited).
func DataRead(resource hashtrail.Target) *hashtrail.Event { return standard("data.read", resource) }

func roleRef(role string) hashtrail.Target { return hashtrail.Target{Type: "role", ID: role} }
func projectRef(project string) hashtrail.Target {
	return hashtrail.Target{Type: "project", ID: project}
}
