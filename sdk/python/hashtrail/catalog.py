"""Constructors for the standard event catalog (``GET /v1/catalog``,
docs/events.md), one per action, like the Go SDK's ``client/catalog.go``.

Each returns a new event dict with the catalog's action, category, severity
and outcome and the targets it is about; change any field before recording
it. The actor is left empty (``record`` fills it from the request context)
except where the event is about the actor: ``user_login``,
``user_login_failed`` and ``user_logout`` take it, and ``api_key_used`` makes
the key the actor. Secrets never travel: password and environment-variable
constructors record a redacted change, never a value.

>>> client.record(catalog.user_login(catalog.user("42"), method="password+totp"))
>>> client.record(catalog.role_assigned("admin", catalog.user_ref("43")))
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

Event = Dict[str, Any]
Target = Dict[str, Any]

#: action -> (category, severity, outcome): the standard catalog (version 2).
ENTRIES: Dict[str, Tuple[str, str, str]] = {
    "user.login": ("authentication", "info", "success"),
    "user.login_failed": ("authentication", "medium", "failure"),
    "user.logout": ("authentication", "info", "success"),
    "user.mfa_enable": ("authentication", "low", "success"),
    "user.mfa_disable": ("authentication", "medium", "success"),
    "user.password_change": ("authentication", "low", "success"),
    "user.password_reset": ("authentication", "medium", "success"),
    "user.create": ("account", "low", "success"),
    "user.update": ("account", "info", "success"),
    "user.delete": ("account", "medium", "success"),
    "user.email_change": ("account", "medium", "success"),
    "role.create": ("authorization", "low", "success"),
    "role.delete": ("authorization", "medium", "success"),
    "role.assign": ("authorization", "medium", "success"),
    "role.unassign": ("authorization", "low", "success"),
    "role.permission_grant": ("authorization", "medium", "success"),
    "role.permission_revoke": ("authorization", "low", "success"),
    "group.create": ("authorization", "low", "success"),
    "group.delete": ("authorization", "medium", "success"),
    "member.add": ("authorization", "low", "success"),
    "member.remove": ("authorization", "low", "success"),
    "api_key.create": ("security", "medium", "success"),
    "api_key.revoke": ("security", "low", "success"),
    "api_key.use": ("security", "info", "success"),
    "access.request": ("access", "info", "success"),
    "access.grant": ("access", "medium", "success"),
    "access.deny": ("access", "medium", "failure"),
    "project.create": ("resource", "info", "success"),
    "project.update": ("resource", "info", "success"),
    "project.delete": ("resource", "medium", "success"),
    "app.env_var_add": ("configuration", "low", "success"),
    "app.env_var_change": ("configuration", "low", "success"),
    "app.env_var_remove": ("configuration", "low", "success"),
    "settings.update": ("configuration", "low", "success"),
    "app.deploy": ("resource", "low", "success"),
    "command.run": ("system", "low", "success"),
    "data.export": ("data", "medium", "success"),
    "data.read": ("data", "info", "success"),
}

#: Actions the server reserves for its own announcements: no constructor.
RESERVED = frozenset(("system.subject_erased", "system.retention_purge"))

#: The standard reasons of a failed sign-in (``error`` of user.login_failed).
INVALID_CREDENTIALS = "invalid_credentials"
UNKNOWN_USER = "unknown_user"
MFA_FAILED = "mfa_failed"
ACCOUNT_LOCKED = "account_locked"
ACCOUNT_DISABLED = "account_disabled"
PASSWORD_EXPIRED = "password_expired"


def event(action: str, *targets: Target, **fields: Any) -> Event:
    """A new event of a catalog action with its defaults, targets and any
    other fields."""
    try:
        cat, sev, out = ENTRIES[action]
    except KeyError:
        raise ValueError("hashtrail.catalog: %s is not in the standard catalog" % action) from None
    ev: Event = {"action": action, "category": cat, "severity": sev, "outcome": out}
    if targets:
        ev["targets"] = [dict(t) for t in targets]
    ev.update({k: v for k, v in fields.items() if v is not None})
    return ev


# ---- actors, targets and sign-in methods ---------------------------------

def user(id: str, email: Optional[str] = None, name: Optional[str] = None, **more: Any) -> Dict[str, Any]:
    """An actor of type user."""
    a = {"type": "user", "id": str(id)}
    for k, v in (("email", email), ("name", name)):
        if v:
            a[k] = v
    a.update({k: v for k, v in more.items() if v is not None})
    return a


def ref(type: str, id: str, name: Optional[str] = None) -> Target:
    """A target ``{type, id, name}``."""
    t = {"type": type, "id": str(id)}
    if name:
        t["name"] = name
    return t


def user_ref(id: str, name: Optional[str] = None) -> Target:
    """A target naming a user."""
    return ref("user", id, name)


def group_ref(id: str, name: Optional[str] = None) -> Target:
    """A target naming a group."""
    return ref("group", id, name)


def auth(method: str = "password", *, mfa: Optional[bool] = None, provider: Optional[str] = None,
         credential_id: Optional[str] = None) -> Dict[str, Any]:
    """An actor's ``auth``: ``method`` such as ``password``,
    ``password+totp``, ``webauthn``, ``oauth:github``, ``saml``,
    ``api_token``. ``mfa`` defaults to whether the method names a second
    factor."""
    a: Dict[str, Any] = {"method": method}
    if mfa is None:
        mfa = "+" in method or method == "webauthn"
    a["mfa"] = mfa
    if provider:
        a["provider"] = provider
    if credential_id:
        a["credential_id"] = credential_id
    return a


def password() -> Dict[str, Any]:
    """Sign-in with a password alone."""
    return auth("password", mfa=False)


def password_and_mfa(factor: str = "totp") -> Dict[str, Any]:
    """Sign-in with a password and a second factor (``totp``, ``webauthn``, ``sms``)."""
    return auth("password+" + factor, mfa=True)


def oauth(provider: str) -> Dict[str, Any]:
    """Sign-in through an OAuth / OpenID Connect provider (``github``, ``google``)."""
    return auth("oauth:" + provider, provider=provider)


def saml(idp: str) -> Dict[str, Any]:
    """Sign-in through a SAML identity provider."""
    return auth("saml", provider=idp)


def api_token(credential_id: str) -> Dict[str, Any]:
    """Authentication with an API token, named (never its secret)."""
    return auth("api_token", credential_id=credential_id)


def passkey() -> Dict[str, Any]:
    """Sign-in with a WebAuthn passkey."""
    return auth("webauthn", mfa=True)


def _sign_in(actor: Optional[Mapping[str, Any]], method: Optional[str], a: Optional[Mapping[str, Any]],
             provider: Optional[str], mfa: Optional[bool]) -> Optional[Dict[str, Any]]:
    if actor is None:
        return None
    out = copy.deepcopy(dict(actor))
    if a is not None:
        out["auth"] = dict(a)
    elif method is not None:
        out["auth"] = auth(method, mfa=mfa, provider=provider)
    return out


def _redacted(field: str) -> List[Dict[str, Any]]:
    return [{"field": field, "redacted": True}]


def _meta(**kv: Any) -> Optional[Dict[str, Any]]:
    m = {k: v for k, v in kv.items() if v not in (None, "")}
    return m or None


# ---- authentication ------------------------------------------------------

def user_login(actor: Mapping[str, Any], method: Optional[str] = "password", *,
               auth: Optional[Mapping[str, Any]] = None, provider: Optional[str] = None,
               mfa: Optional[bool] = None) -> Event:
    """user.login: actor signed in, by ``method`` (``password``,
    ``password+totp``, ``oauth:github``, ``saml``, ...) or a full ``auth``."""
    return event("user.login", actor=_sign_in(actor, method, auth, provider, mfa))


def user_login_failed(actor: Mapping[str, Any], reason: str = INVALID_CREDENTIALS,
                      method: Optional[str] = "password", *, auth: Optional[Mapping[str, Any]] = None,
                      provider: Optional[str] = None, mfa: Optional[bool] = None) -> Event:
    """user.login_failed for ``reason`` (``INVALID_CREDENTIALS``,
    ``UNKNOWN_USER``, ``MFA_FAILED``, ... or any text). Name an unknown
    account by the address tried: ``{"type": "user", "email": addr}``."""
    return event("user.login_failed", actor=_sign_in(actor, method, auth, provider, mfa), error=reason)


def user_logout(actor: Mapping[str, Any]) -> Event:
    """user.logout."""
    return event("user.logout", actor=_sign_in(actor, None, None, None, None))


def password_changed(user_id: str) -> Event:
    """user.password_change, with a redacted change of ``password``."""
    return event("user.password_change", user_ref(user_id), changes=_redacted("password"))


def password_reset(user_id: str) -> Event:
    """user.password_reset (by a reset link or an admin)."""
    return event("user.password_reset", user_ref(user_id), changes=_redacted("password"))


def mfa_enabled(user_id: str, factor: Optional[str] = None) -> Event:
    """user.mfa_enable: a second factor such as ``totp`` was turned on."""
    return event("user.mfa_enable", user_ref(user_id), metadata=_meta(factor=factor))


def mfa_disabled(user_id: str, factor: Optional[str] = None) -> Event:
    """user.mfa_disable."""
    return event("user.mfa_disable", user_ref(user_id), metadata=_meta(factor=factor))


# ---- accounts ------------------------------------------------------------

def user_created(user_id: str, name: Optional[str] = None) -> Event:
    """user.create."""
    return event("user.create", user_ref(user_id, name))


def user_updated(user_id: str, changes: Sequence[Mapping[str, Any]] = ()) -> Event:
    """user.update with what changed (``hashtrail.diff``)."""
    return event("user.update", user_ref(user_id), changes=[dict(c) for c in changes] or None)


def user_deleted(user_id: str) -> Event:
    """user.delete."""
    return event("user.delete", user_ref(user_id))


def email_changed(user_id: str, old_email: str, new_email: str) -> Event:
    """user.email_change (personal data: erasable, committed to but not
    stored in the leaf)."""
    return event("user.email_change", user_ref(user_id),
                 changes=[{"field": "email", "old": old_email, "new": new_email}])


# ---- roles, permissions, groups -----------------------------------------

def role_created(role: str) -> Event:
    """role.create."""
    return event("role.create", ref("role", role))


def role_deleted(role: str) -> Event:
    """role.delete."""
    return event("role.delete", ref("role", role))


def role_assigned(role: str, member: Target) -> Event:
    """role.assign: role given to member (``user_ref``, ``group_ref``)."""
    return event("role.assign", ref("role", role), member)


def role_unassigned(role: str, member: Target) -> Event:
    """role.unassign."""
    return event("role.unassign", ref("role", role), member)


def permission_granted(role: str, permission: str) -> Event:
    """role.permission_grant."""
    return event("role.permission_grant", ref("role", role), ref("permission", permission))


def permission_revoked(role: str, permission: str) -> Event:
    """role.permission_revoke."""
    return event("role.permission_revoke", ref("role", role), ref("permission", permission))


def group_created(group: str, name: Optional[str] = None) -> Event:
    """group.create."""
    return event("group.create", group_ref(group, name))


def group_deleted(group: str, name: Optional[str] = None) -> Event:
    """group.delete."""
    return event("group.delete", group_ref(group, name))


def member_added(group: str, member: Target) -> Event:
    """member.add: member (a user or group) joined group."""
    return event("member.add", group_ref(group), member)


def member_removed(group: str, member: Target) -> Event:
    """member.remove."""
    return event("member.remove", group_ref(group), member)


# ---- API keys ------------------------------------------------------------

def api_key_created(key_id: str, name: Optional[str] = None) -> Event:
    """api_key.create (the key's id and display name, never its secret)."""
    return event("api_key.create", ref("api_key", key_id, name))


def api_key_revoked(key_id: str) -> Event:
    """api_key.revoke."""
    return event("api_key.revoke", ref("api_key", key_id))


def api_key_used(key_id: str) -> Event:
    """api_key.use: the key is the actor and the target."""
    return event("api_key.use", ref("api_key", key_id),
                 actor={"type": "api_key", "id": key_id, "auth": api_token(key_id)})


# ---- access requests -----------------------------------------------------

def access_requested(resource: Target, reason: Optional[str] = None) -> Event:
    """access.request."""
    return event("access.request", resource, reason=reason)


def access_granted(resource: Target, grantee: Target, reason: Optional[str] = None) -> Event:
    """access.grant."""
    return event("access.grant", resource, grantee, reason=reason)


def access_denied(resource: Target, reason: Optional[str] = None) -> Event:
    """access.deny (outcome failure, ``error`` the reason)."""
    return event("access.deny", resource, error=reason)


# ---- resources, configuration, operations, data -------------------------

def project_created(project: str, name: Optional[str] = None) -> Event:
    """project.create."""
    return event("project.create", ref("project", project, name))


def project_updated(project: str, changes: Sequence[Mapping[str, Any]] = ()) -> Event:
    """project.update with what changed (``hashtrail.diff``)."""
    return event("project.update", ref("project", project), changes=[dict(c) for c in changes] or None)


def project_deleted(project: str, name: Optional[str] = None) -> Event:
    """project.delete."""
    return event("project.delete", ref("project", project, name))


def _env_var(action: str, app: str, name: str) -> Event:
    return event(action, ref("app", app), ref("env_var", name), changes=_redacted(name))


def env_var_added(app: str, name: str) -> Event:
    """app.env_var_add (the value is never recorded)."""
    return _env_var("app.env_var_add", app, name)


def env_var_changed(app: str, name: str) -> Event:
    """app.env_var_change."""
    return _env_var("app.env_var_change", app, name)


def env_var_removed(app: str, name: str) -> Event:
    """app.env_var_remove."""
    return _env_var("app.env_var_remove", app, name)


def settings_updated(changes: Sequence[Mapping[str, Any]] = (), *targets: Target) -> Event:
    """settings.update with what changed."""
    return event("settings.update", *targets, changes=[dict(c) for c in changes] or None)


def deployed(app: str, version: Optional[str] = None) -> Event:
    """app.deploy; set ``outcome`` to failure (and ``output``) for a failed one."""
    return event("app.deploy", ref("app", app), metadata=_meta(version=version))


def command_run(command: str, exit_code: int, stdout: str = "", stderr: str = "") -> Event:
    """command.run: success for exit code 0, failure otherwise, unknown
    when negative (killed)."""
    out: Dict[str, Any] = {"command": command}
    if stdout:
        out["stdout"] = stdout
    if stderr:
        out["stderr"] = stderr
    ev = event("command.run", output=out)
    if exit_code < 0:
        ev["outcome"] = "unknown"
    else:
        out["exit_code"] = exit_code
        if exit_code != 0:
            ev["outcome"] = "failure"
    return ev


def data_exported(resource: Target, format: Optional[str] = None) -> Event:
    """data.export."""
    return event("data.export", resource, metadata=_meta(format=format))


def data_read(resource: Target) -> Event:
    """data.read."""
    return event("data.read", resource)


#: action -> a constructor called with typical arguments (for tests and tools).
EXAMPLES: Dict[str, Callable[[], Event]] = {
    "user.login": lambda: user_login(user("1")),
    "user.login_failed": lambda: user_login_failed(user("1")),
    "user.logout": lambda: user_logout(user("1")),
    "user.mfa_enable": lambda: mfa_enabled("1", "totp"),
    "user.mfa_disable": lambda: mfa_disabled("1", "totp"),
    "user.password_change": lambda: password_changed("1"),
    "user.password_reset": lambda: password_reset("1"),
    "user.create": lambda: user_created("1"),
    "user.update": lambda: user_updated("1", [{"field": "name", "old": "a", "new": "b"}]),
    "user.delete": lambda: user_deleted("1"),
    "user.email_change": lambda: email_changed("1", "a@example.com", "b@example.com"),
    "role.create": lambda: role_created("admin"),
    "role.delete": lambda: role_deleted("admin"),
    "role.assign": lambda: role_assigned("admin", user_ref("1")),
    "role.unassign": lambda: role_unassigned("admin", user_ref("1")),
    "role.permission_grant": lambda: permission_granted("admin", "project.delete"),
    "role.permission_revoke": lambda: permission_revoked("admin", "project.delete"),
    "group.create": lambda: group_created("ops"),
    "group.delete": lambda: group_deleted("ops"),
    "member.add": lambda: member_added("ops", user_ref("1")),
    "member.remove": lambda: member_removed("ops", user_ref("1")),
    "api_key.create": lambda: api_key_created("key_1", "ci"),
    "api_key.revoke": lambda: api_key_revoked("key_1"),
    "api_key.use": lambda: api_key_used("key_1"),
    "access.request": lambda: access_requested(ref("app", "db")),
    "access.grant": lambda: access_granted(ref("app", "db"), user_ref("1")),
    "access.deny": lambda: access_denied(ref("app", "db"), "not in group"),
    "project.create": lambda: project_created("7"),
    "project.update": lambda: project_updated("7", [{"field": "name", "old": "a", "new": "b"}]),
    "project.delete": lambda: project_deleted("7"),
    "app.env_var_add": lambda: env_var_added("web", "DATABASE_URL"),
    "app.env_var_change": lambda: env_var_changed("web", "DATABASE_URL"),
    "app.env_var_remove": lambda: env_var_removed("web", "DATABASE_URL"),
    "settings.update": lambda: settings_updated([{"field": "sso", "old": False, "new": True}]),
    "app.deploy": lambda: deployed("web", "1.2.3"),
    "command.run": lambda: command_run("make deploy", 0, "ok"),
    "data.export": lambda: data_exported(ref("report", "q3"), "csv"),
    "data.read": lambda: data_read(ref("record", "9")),
}
