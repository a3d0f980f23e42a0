"""Enclava's ``AuditLog``, kept as the app's API, stored in Hashtrail.

Enclava's code builds ``AuditLog`` objects (``AuditLog.create_login_event(...)``
and friends) and adds them to its database. This module keeps that class --
same fields, same constructors, same ``to_dict()``, ``is_security_event()``
and ``is_high_severity()`` -- but it is no longer a table: ``to_event()``
turns an entry into a Hashtrail event and ``from_event()`` turns it back,
every field round-tripping (docs/adopting/enclava.md has the table).

Mapping choices that make Enclava's two questions single searches:

- ``severity`` is Hashtrail's severity (Enclava's four levels are Hashtrail's),
  so "high severity" is ``severity:>=high``.
- Hashtrail's ``category`` is ``security`` when Enclava's is, else the
  category its action implies for the security actions (``authentication``
  for login/logout, ``security`` for API keys and security events,
  ``authorization`` for permissions), else Enclava's own when Hashtrail has
  it (``access``, ``data``, ``system``), else ``configuration`` for
  ``system_config`` and ``resource`` otherwise. Only a security event can get
  one of ``security``, ``authentication``, ``authorization``, so "security
  event" is ``category:security,authentication,authorization``. Enclava's own
  category, when it differs, is kept in ``metadata.category``.
"""

from __future__ import annotations

import datetime
import re
from enum import Enum
from typing import Any, Dict, List, Optional

import hashtrail


class AuditAction(str, Enum):
    """Enclava's audit action types."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"
    LOGOUT = "logout"
    API_KEY_CREATE = "api_key_create"
    API_KEY_DELETE = "api_key_delete"
    BUDGET_CREATE = "budget_create"
    BUDGET_UPDATE = "budget_update"
    BUDGET_EXCEED = "budget_exceed"
    MODULE_ENABLE = "module_enable"
    MODULE_DISABLE = "module_disable"
    PERMISSION_GRANT = "permission_grant"
    PERMISSION_REVOKE = "permission_revoke"
    SYSTEM_CONFIG = "system_config"
    SECURITY_EVENT = "security_event"


class AuditSeverity(str, Enum):
    """Enclava's severity levels (Hashtrail has the same four, plus info)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


#: Enclava's security actions, and the Hashtrail category each implies.
SECURITY_ACTIONS = {
    "login": "authentication",
    "logout": "authentication",
    "api_key_create": "security",
    "api_key_delete": "security",
    "permission_grant": "authorization",
    "permission_revoke": "authorization",
    "security_event": "security",
}
#: Enclava action -> Hashtrail action (the standard catalog's where there is one).
ACTIONS = {
    "logout": "user.logout",
    "api_key_create": "api_key.create",
    "api_key_delete": "api_key.revoke",
    "budget_create": "budget.create",
    "budget_update": "budget.update",
    "budget_exceed": "budget.exceed",
    "module_enable": "module.enable",
    "module_disable": "module.disable",
    "permission_grant": "permission.grant",
    "permission_revoke": "permission.revoke",
    "system_config": "settings.update",
    "security_event": "security.alert",
}
_REVERSE = {v: k for k, v in ACTIONS.items()}
_OWN_CATEGORIES = ("access", "data", "system")
_ACTION_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_TARGET_TYPE_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,63}$")

#: Enclava's two questions, as Hashtrail searches.
SECURITY_EVENTS_QUERY = "category:security,authentication,authorization"
HIGH_SEVERITY_QUERY = "severity:>=high"


def _enclava_action(action: str) -> str:
    """The Enclava action a Hashtrail action maps back to (by the tables above)."""
    if action in ("user.login", "user.login_failed"):
        return "login"
    if action in _REVERSE:
        return _REVERSE[action]
    return action.split(".", 1)[1]


def hashtrail_category(action: str, category: Optional[str]) -> str:
    """The Hashtrail category of an Enclava entry (see the module doc)."""
    if category == "security":
        return "security"
    if action in SECURITY_ACTIONS:
        return SECURITY_ACTIONS[action]
    if category in _OWN_CATEGORIES:
        return str(category)
    return "configuration" if action == "system_config" else "resource"


def _str(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def _time(dt: datetime.datetime) -> str:
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt.isoformat(timespec="microseconds") + "Z"


def _parse_time(s: str) -> datetime.datetime:
    # Naive UTC, as Enclava's datetime.utcnow() column holds it.
    return datetime.datetime.strptime(s.replace("Z", "")[:26], "%Y-%m-%dT%H:%M:%S.%f")


class AuditLog:
    """Enclava's audit entry: the same fields as its ``audit_logs`` table."""

    FIELDS = ("id", "user_id", "action", "resource_type", "resource_id", "description", "details",
              "ip_address", "user_agent", "session_id", "request_id", "severity", "category", "success",
              "error_message", "tags", "audit_metadata", "old_values", "new_values", "created_at")

    def __init__(self, **kw: Any) -> None:
        unknown = set(kw) - set(self.FIELDS)
        if unknown:
            raise TypeError("AuditLog has no field %s" % ", ".join(sorted(unknown)))
        self.id: Optional[str] = kw.get("id")
        self.user_id: Optional[int] = kw.get("user_id")
        self.action: str = _str(kw["action"])
        self.resource_type: str = kw["resource_type"]
        self.resource_id: Optional[str] = kw.get("resource_id")
        self.description: str = kw["description"]
        self.details: Dict[str, Any] = kw.get("details") or {}
        self.ip_address: Optional[str] = kw.get("ip_address")
        self.user_agent: Optional[str] = kw.get("user_agent")
        self.session_id: Optional[str] = kw.get("session_id")
        self.request_id: Optional[str] = kw.get("request_id")
        self.severity: str = _str(kw.get("severity") or AuditSeverity.LOW)
        self.category: Optional[str] = kw.get("category")
        self.success: bool = kw.get("success", True)
        self.error_message: Optional[str] = kw.get("error_message")
        self.tags: List[str] = list(kw.get("tags") or [])
        self.audit_metadata: Dict[str, Any] = kw.get("audit_metadata") or {}
        self.old_values: Optional[Dict[str, Any]] = kw.get("old_values")
        self.new_values: Optional[Dict[str, Any]] = kw.get("new_values")
        self.created_at: datetime.datetime = kw.get("created_at") or datetime.datetime.utcnow()

    def __repr__(self) -> str:
        return "<AuditLog(id=%s, action='%s', user_id=%s)>" % (self.id, self.action, self.user_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuditLog) and self.to_dict() == other.to_dict()

    # ---- Enclava's methods, unchanged -------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """Convert audit log to dictionary for API responses."""
        d = {f: getattr(self, f) for f in self.FIELDS if f not in ("audit_metadata", "created_at")}
        d["metadata"] = self.audit_metadata
        d["created_at"] = self.created_at.isoformat() if self.created_at else None
        return d

    def is_security_event(self) -> bool:
        """Check if this is a security-related event."""
        return self.action in SECURITY_ACTIONS or self.category == "security"

    def is_high_severity(self) -> bool:
        """Check if this is a high severity event."""
        return self.severity in (AuditSeverity.HIGH.value, AuditSeverity.CRITICAL.value)

    def add_tag(self, tag: str) -> None:
        if tag not in self.tags:
            self.tags.append(tag)

    def remove_tag(self, tag: str) -> None:
        if tag in self.tags:
            self.tags.remove(tag)

    def update_metadata(self, key: str, value: Any) -> None:
        self.audit_metadata[key] = value

    def set_before_after(self, old_values: Dict[str, Any], new_values: Dict[str, Any]) -> None:
        self.old_values, self.new_values = old_values, new_values

    # ---- to and from Hashtrail --------------------------------------------

    def hashtrail_action(self) -> str:
        """The Hashtrail action: the catalog's where one fits, else ``<resource_type>.<action>``."""
        if self.action == "login":
            return "user.login" if self.success else "user.login_failed"
        if self.action in ACTIONS:
            return ACTIONS[self.action]
        return "%s.%s" % (self.resource_type, self.action)

    def to_event(self) -> Dict[str, Any]:
        """The Hashtrail event for this entry (gives it a ULID id when it has none)."""
        if not self.id:
            self.id = hashtrail.ULID()
        cat = hashtrail_category(self.action, self.category)
        action = self.hashtrail_action()
        meta: Dict[str, Any] = {}
        if not _ACTION_RE.match(action) or _enclava_action(action) != self.action:
            meta["action"] = self.action  # an action the mapping cannot give back
            if not _ACTION_RE.match(action):
                action = "enclava.other"
        ev: Dict[str, Any] = {
            "id": self.id,
            "time": _time(self.created_at),
            "action": action,
            "category": cat,
            "severity": self.severity,
            "outcome": "success" if self.success else "failure",
            "description": self.description,
            "actor": {"type": "user", "id": str(self.user_id)} if self.user_id is not None else {"type": "system"},
        }
        typed = bool(_TARGET_TYPE_RE.match(self.resource_type))
        if not typed or self.resource_id is None:
            meta["resource_type"] = self.resource_type
        if self.resource_id is not None:
            ev["targets"] = [{"type": self.resource_type if typed else "resource", "id": str(self.resource_id)}]
        if self.category != cat:
            meta["category"] = self.category
        if self.error_message is not None:
            ev["error"] = self.error_message
        ctx = {k: v for k, v in (("ip", self.ip_address), ("user_agent", self.user_agent),
                                 ("session_id", self.session_id), ("request_id", self.request_id)) if v}
        if ctx:
            ev["context"] = ctx
        if self.tags:
            ev["tags"] = list(self.tags)
        if self.details:
            meta["details"] = self.details
        if self.audit_metadata:
            meta["metadata"] = self.audit_metadata
        if meta:
            ev["metadata"] = meta
        changes = _changes(self.old_values, self.new_values)
        if changes:
            ev["changes"] = changes
        return ev

    @classmethod
    def from_event(cls, ev: Dict[str, Any]) -> "AuditLog":
        """The entry an event of :meth:`to_event` came from (as the query API answers it)."""
        meta = ev.get("metadata") or {}
        actor = ev.get("actor") or {}
        targets = ev.get("targets") or []
        action = ev["action"]
        enclava_action = meta["action"] if "action" in meta else _enclava_action(action)
        ctx = ev.get("context") or {}
        old, new = _values(ev.get("changes") or [])
        uid = actor.get("id") if actor.get("type") == "user" else None
        return cls(
            id=ev["id"],
            user_id=int(uid) if uid is not None and str(uid).isdigit() else uid,
            action=enclava_action,
            resource_type=meta["resource_type"] if "resource_type" in meta else targets[0]["type"],
            resource_id=targets[0]["id"] if targets else None,
            description=ev.get("description", ""),
            details=meta.get("details") or {},
            ip_address=ctx.get("ip"),
            user_agent=ctx.get("user_agent"),
            session_id=ctx.get("session_id"),
            request_id=ctx.get("request_id"),
            severity=ev.get("severity"),
            category=meta["category"] if "category" in meta else ev.get("category"),
            success=ev.get("outcome") == "success",
            error_message=ev.get("error"),
            tags=ev.get("tags") or [],
            audit_metadata=meta.get("metadata") or {},
            old_values=old,
            new_values=new,
            created_at=_parse_time(ev["time"]),
        )

    # ---- Enclava's constructors, unchanged --------------------------------

    @classmethod
    def create_login_event(cls, user_id: int, success: bool = True, ip_address: Optional[str] = None,
                           user_agent: Optional[str] = None, session_id: Optional[str] = None,
                           error_message: Optional[str] = None) -> "AuditLog":
        return cls(user_id=user_id, action=AuditAction.LOGIN, resource_type="user", resource_id=str(user_id),
                   description="User login %s" % ("successful" if success else "failed"),
                   details={"login_method": "password", "success": success}, ip_address=ip_address,
                   user_agent=user_agent, session_id=session_id,
                   severity=AuditSeverity.LOW if success else AuditSeverity.MEDIUM, category="security",
                   success=success, error_message=error_message, tags=["authentication", "login"])

    @classmethod
    def create_logout_event(cls, user_id: int, session_id: Optional[str] = None) -> "AuditLog":
        return cls(user_id=user_id, action=AuditAction.LOGOUT, resource_type="user", resource_id=str(user_id),
                   description="User logout", details={"logout_method": "manual"}, session_id=session_id,
                   severity=AuditSeverity.LOW, category="security", success=True, tags=["authentication", "logout"])

    @classmethod
    def create_api_key_event(cls, user_id: int, action: str, api_key_id: int, api_key_name: str,
                             success: bool = True, error_message: Optional[str] = None) -> "AuditLog":
        action = _str(action)
        return cls(user_id=user_id, action=action, resource_type="api_key", resource_id=str(api_key_id),
                   description="API key %s: %s" % (action, api_key_name),
                   details={"api_key_name": api_key_name, "action": action}, severity=AuditSeverity.MEDIUM,
                   category="security", success=success, error_message=error_message, tags=["api_key", action])

    @classmethod
    def create_budget_event(cls, user_id: int, action: str, budget_id: int, budget_name: str,
                            details: Optional[Dict[str, Any]] = None, success: bool = True) -> "AuditLog":
        action = _str(action)
        return cls(user_id=user_id, action=action, resource_type="budget", resource_id=str(budget_id),
                   description="Budget %s: %s" % (action, budget_name), details=details or {},
                   severity=AuditSeverity.MEDIUM if action == AuditAction.BUDGET_EXCEED.value else AuditSeverity.LOW,
                   category="financial", success=success, tags=["budget", action])

    @classmethod
    def create_module_event(cls, user_id: int, action: str, module_name: str, success: bool = True,
                            error_message: Optional[str] = None,
                            details: Optional[Dict[str, Any]] = None) -> "AuditLog":
        action = _str(action)
        return cls(user_id=user_id, action=action, resource_type="module", resource_id=module_name,
                   description="Module %s: %s" % (action, module_name), details=details or {},
                   severity=AuditSeverity.MEDIUM, category="system", success=success,
                   error_message=error_message, tags=["module", action])

    @classmethod
    def create_permission_event(cls, user_id: int, action: str, target_user_id: int, permission: str,
                                success: bool = True) -> "AuditLog":
        action = _str(action)
        return cls(user_id=user_id, action=action, resource_type="permission", resource_id=str(target_user_id),
                   description="Permission %s: %s for user %s" % (action, permission, target_user_id),
                   details={"permission": permission, "target_user_id": target_user_id},
                   severity=AuditSeverity.HIGH, category="security", success=success, tags=["permission", action])

    @classmethod
    def create_security_event(cls, user_id: Optional[int], event_type: str, description: str,
                              severity: str = AuditSeverity.HIGH, details: Optional[Dict[str, Any]] = None,
                              ip_address: Optional[str] = None) -> "AuditLog":
        return cls(user_id=user_id, action=AuditAction.SECURITY_EVENT, resource_type="security",
                   resource_id=event_type, description=description, details=details or {}, ip_address=ip_address,
                   severity=severity, category="security", success=False, tags=["security", event_type])

    @classmethod
    def create_system_event(cls, action: str, description: str, resource_type: str = "system",
                            resource_id: Optional[str] = None, severity: str = AuditSeverity.LOW,
                            details: Optional[Dict[str, Any]] = None) -> "AuditLog":
        action = _str(action)
        return cls(user_id=None, action=action, resource_type=resource_type, resource_id=resource_id,
                   description=description, details=details or {}, severity=severity, category="system",
                   success=True, tags=["system", action])

    @classmethod
    def create_data_change_event(cls, user_id: int, action: str, resource_type: str, resource_id: str,
                                 description: str, old_values: Dict[str, Any],
                                 new_values: Dict[str, Any]) -> "AuditLog":
        action = _str(action)
        return cls(user_id=user_id, action=action, resource_type=resource_type, resource_id=resource_id,
                   description=description, old_values=old_values, new_values=new_values,
                   severity=AuditSeverity.LOW, category="data", success=True, tags=["data_change", action])


def _changes(old: Optional[Dict[str, Any]], new: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """old_values/new_values as Hashtrail changes; a secret-named field is redacted (on purpose)."""
    old, new = old or {}, new or {}
    out: List[Dict[str, Any]] = []
    for name in list(old) + [k for k in new if k not in old]:
        if hashtrail.is_secret_name(name):
            out.append({"field": name, "redacted": True})
            continue
        ch: Dict[str, Any] = {"field": name}
        if name in old:
            ch["old"] = old[name]
        if name in new:
            ch["new"] = new[name]
        out.append(ch)
    return out


def _values(changes: List[Dict[str, Any]]) -> "tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]":
    if not changes:
        return None, None
    old: Dict[str, Any] = {}
    new: Dict[str, Any] = {}
    for c in changes:
        if c.get("redacted"):
            old[c["field"]] = new[c["field"]] = hashtrail.REDACTED
            continue
        if "old" in c:
            old[c["field"]] = c["old"]
        if "new" in c:
            new[c["field"]] = c["new"]
    return old, new
