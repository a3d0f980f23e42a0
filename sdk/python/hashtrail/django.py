"""Django integration: request context, sign-in signals and changes recorded on commit.

::

    INSTALLED_APPS += ["hashtrail.django.HashtrailConfig"]   # connects the sign-in receivers
    MIDDLEWARE += ["hashtrail.django.HashtrailMiddleware"]    # after AuthenticationMiddleware
    HASHTRAIL = {"URL": ..., "API_KEY": ..., "TENANT": "acme", "TRUSTED_PROXIES": ["10.0.0.0/8"]}

- :class:`HashtrailMiddleware`: client IP (through trusted proxies only),
  user agent, request id, method, path, session id and the signed-in user
  (the actor) for every event recorded while a request runs.
- Receivers of ``user_logged_in``, ``user_logged_out`` and
  ``user_login_failed`` record ``user.login``, ``user.logout`` and
  ``user.login_failed``; :func:`set_login_method` says how the user signed in.
- :func:`record_on_commit` records through ``transaction.on_commit``: nothing
  for a change that rolls back. :func:`audit_model` records creates, updates
  (field diffs, secrets redacted) and deletes of a model, on commit.

Settings keys (``settings.HASHTRAIL``): ``URL``, ``API_KEY``, ``TENANT``,
``TRUSTED_PROXIES``, ``SERVICE``, ``SOURCE`` (default ``web``),
``REQUEST_ID_HEADER`` (default ``X-Request-ID``), ``ACTOR`` (user -> actor),
``USER_TENANTS`` (user -> tenant ids, for an installation-wide key),
``FALLBACK_TENANT``, ``AUTH_SIGNALS`` (default true), ``AUTH_METHODS``
(backend path -> ``actor.auth.method``), ``CLIENT_OPTIONS`` (more
:class:`hashtrail.Client` arguments). Callables may be dotted paths.
docs/sdk-python.md (Django) has the details.
"""

from __future__ import annotations

import contextvars
import datetime
import hashlib
import logging
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import hashtrail
from hashtrail import catalog
from hashtrail.context import fill_event, parse_networks

try:  # Django is optional for the SDK; this module needs it.
    from django.apps import AppConfig
    from django.conf import settings as dj_settings
    from django.db import transaction
    from django.utils.module_loading import import_string
except ImportError as exc:  # pragma: no cover - only without Django
    raise ImportError("hashtrail.django needs Django (Debian: python3-django)") from exc

__all__ = [
    "HashtrailConfig", "HashtrailMiddleware", "audit_model", "connect_auth_signals", "disconnect_auth_signals",
    "audit_m2m", "get_client", "login_event", "login_failed_event", "logout_event", "model_changes", "record",
    "record_on_commit", "set_client", "set_login_method", "snapshot", "user_actor",
]

# True while HashtrailMiddleware handles a request: only then does a sign-in
# make the user the actor of what follows (never for a login() in a script).
_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar("hashtrail_django_request", default=False)
_client_lock = threading.Lock()
_client: Optional["hashtrail.Client"] = None


def _conf() -> Dict[str, Any]:
    return dict(getattr(dj_settings, "HASHTRAIL", {}) or {})


def _callable(value: Any) -> Optional[Callable[..., Any]]:
    """A setting that names a function: the function, a dotted path to it, or None."""
    fn: Optional[Callable[..., Any]] = import_string(value) if isinstance(value, str) else value
    return fn


def get_client() -> "hashtrail.Client":
    """Return the process's client, built from ``settings.HASHTRAIL`` on first use.

    Raises ``django.core.exceptions.ImproperlyConfigured`` when neither a
    client was set with :func:`set_client` nor ``URL`` and ``API_KEY`` are set.
    """
    global _client
    with _client_lock:
        if _client is None:
            conf = _conf()
            if not conf.get("URL") or not conf.get("API_KEY"):
                from django.core.exceptions import ImproperlyConfigured

                raise ImproperlyConfigured("settings.HASHTRAIL needs URL and API_KEY (or hashtrail.django.set_client)")
            opts = dict(conf.get("CLIENT_OPTIONS") or {})
            if conf.get("TENANT"):
                opts["tenant"] = conf["TENANT"]
            if conf.get("SERVICE"):
                opts["service"] = conf["SERVICE"]
            opts.setdefault("trusted_proxies", tuple(conf.get("TRUSTED_PROXIES") or ()))
            _client = hashtrail.Client(conf["URL"], conf["API_KEY"], **opts)
        return _client


def set_client(client: Optional["hashtrail.Client"]) -> Optional["hashtrail.Client"]:
    """Use ``client`` from now on (None: build one from settings again); returns the previous one.

    The caller owns the previous client (close it when it is done with it).
    """
    global _client
    with _client_lock:
        old, _client = _client, client
    return old


# ---------------------------------------------------------------- actors


def user_actor(user: Any) -> Optional[Dict[str, Any]]:
    """The actor for a Django user: ``{"type": "user", "id", "name", "email"}``.

    ``settings.HASHTRAIL["ACTOR"]`` (a callable or dotted path) replaces this
    rule. None for an anonymous or missing user.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    custom = _callable(_conf().get("ACTOR"))
    if custom is not None:
        got: Optional[Dict[str, Any]] = custom(user)
        return got
    actor: Dict[str, Any] = {"type": "user", "id": str(user.pk)}
    name = (user.get_full_name() if hasattr(user, "get_full_name") else "") or (
        user.get_username() if hasattr(user, "get_username") else "")
    if name:
        actor["name"] = name
    if getattr(user, "email", ""):
        actor["email"] = user.email
    return actor


# ---------------------------------------------------------------- middleware


def _client_ip(request: Any, trusted: Sequence[Any]) -> str:
    meta = request.META
    return hashtrail.client_ip(meta.get("REMOTE_ADDR", "") or "", meta.get("HTTP_X_FORWARDED_FOR"), trusted)


def _request_id(request: Any, header: str) -> str:
    return hashtrail.request_id_or_new(request.META.get("HTTP_" + header.upper().replace("-", "_")))


class HashtrailMiddleware:
    """Request context for every event recorded while a request runs.

    Place it after ``AuthenticationMiddleware``. It sets ``request.hashtrail``
    (the client) and ``request.hashtrail_request_id``, and answers with the
    request id in the ``X-Request-ID`` header (or ``REQUEST_ID_HEADER``).
    """

    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response
        conf = _conf()
        # Parsed once: a bad entry fails at start-up, and each request saves the parsing.
        self.trusted = parse_networks(tuple(conf.get("TRUSTED_PROXIES") or ()))
        self.header = conf.get("REQUEST_ID_HEADER") or "X-Request-ID"
        self.source = conf.get("SOURCE", "web")

    def __call__(self, request: Any) -> Any:
        rid = _request_id(request, self.header)
        ip = _client_ip(request, self.trusted)
        ctx: Dict[str, Any] = {"request_id": rid, "method": request.method, "path": request.path}
        if ip:
            ctx["ip"] = ip
        ua = request.META.get("HTTP_USER_AGENT", "")
        if ua:
            ctx["user_agent"] = ua
        if self.source:
            ctx["source"] = self.source
        session = getattr(request, "session", None)
        if session is not None and getattr(session, "session_key", None):
            # An identifier of the session, never the session key (a secret).
            ctx["session_id"] = _session_id(session.session_key)
        request.hashtrail_request_id = rid
        request.hashtrail = _LazyClient()
        # Lazy: the user is looked up only when an event is recorded.
        token = _in_request.set(True)
        try:
            with hashtrail.request_context(actor=lambda: user_actor(getattr(request, "user", None)), **ctx):
                response = self.get_response(request)
        finally:
            _in_request.reset(token)
        response[self.header] = rid
        return response


class _LazyClient:
    """``request.hashtrail``: the client, built on first use."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_client(), name)


def _session_id(session_key: str) -> str:
    return "s_" + hashlib.sha256(session_key.encode()).hexdigest()[:24]


# ---------------------------------------------------------------- recording


def _tenants_for(user: Any) -> List[str]:
    fn = _callable(_conf().get("USER_TENANTS"))
    if fn is None or user is None:
        return []
    return [t for t in fn(user) if t]


def _snapshot_context(event: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of the event with the current actor and context where it has none (kept for a later send)."""
    ev = dict(event)
    fill_event(ev)
    return ev


def record(event: Dict[str, Any], *, tenants: Optional[Sequence[str]] = None, client: Any = None) -> None:
    """Record ``event`` now (queued; never raises for the server's answer).

    ``tenants``: with an installation-wide key, the tenants to write it into
    (one event, fanned out by the server). Without, the event goes to the
    client's tenant, or the event's own ``tenant``.
    """
    c = client or get_client()
    if tenants:
        tenants = list(dict.fromkeys(tenants))
        if len(tenants) == 1:
            ev = dict(event)
            ev["tenant"] = tenants[0]
            c.record(ev)
        else:
            c.record_fan_out(tenants, event)
    else:
        c.record(event)


def record_on_commit(
    event: Dict[str, Any],
    using: Optional[str] = None,
    *,
    tenants: Optional[Sequence[str]] = None,
    client: Any = None,
) -> Dict[str, Any]:
    """Record ``event`` once the current transaction on ``using`` commits.

    Nothing is recorded when it rolls back. Outside a transaction (autocommit)
    it is recorded at once. The actor and request context current at the call
    are captured now, and the event id is fixed now (returned in the event),
    so the caller can quote it.
    """
    ev = _snapshot_context(event)
    ev.setdefault("id", hashtrail.ULID())
    ev.setdefault("time", _now())
    ts = list(tenants) if tenants else None
    transaction.on_commit(lambda: record(ev, tenants=ts, client=client), using=using)
    return ev


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- sign-in events


def set_login_method(
    request: Any, method: str, *, provider: Optional[str] = None, mfa: Optional[bool] = None
) -> None:
    """Say how the user signs in on this request, before calling ``login()``.

    ``method`` is ``actor.auth.method`` (docs/events.md): ``password``,
    ``password+totp``, ``oauth:google``, ``oauth:github``, ``saml``...
    Without it, ``AUTH_METHODS`` maps the authentication backend, else
    ``password``.
    """
    request.hashtrail_auth = _auth(method, provider=provider, mfa=mfa)


def _auth(method: str, *, provider: Optional[str] = None, mfa: Optional[bool] = None) -> Dict[str, Any]:
    if provider is None and method.startswith("oauth:"):
        provider = method.split(":", 1)[1]
    return catalog.auth(method, mfa=mfa, provider=provider)


def _auth_for(request: Any, user: Any) -> Dict[str, Any]:
    auth = getattr(request, "hashtrail_auth", None) if request is not None else None
    if auth:
        return dict(auth)
    methods = _conf().get("AUTH_METHODS") or {}
    return _auth(methods.get(getattr(user, "backend", None), "password"))


def _user_target(user: Any) -> Dict[str, Any]:
    return catalog.user_ref(str(user.pk), user.get_username() if hasattr(user, "get_username") else None)


def login_event(user: Any, auth: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A ``user.login`` event for ``user`` (``auth``: ``actor.auth``, default password)."""
    actor = user_actor(user) or catalog.user(str(user.pk))
    return catalog.event("user.login", _user_target(user), actor=dict(actor, auth=dict(auth or _auth("password"))))


def logout_event(user: Any) -> Dict[str, Any]:
    """A ``user.logout`` event for ``user``."""
    return catalog.event("user.logout", _user_target(user), actor=user_actor(user) or catalog.user(str(user.pk)))


def login_failed_event(user: Any = None, *, identifier: str = "", reason: str = "invalid_credentials",
                       auth: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A ``user.login_failed`` event (severity medium, outcome failure, ``error`` = reason).

    ``user`` is the account tried, when it exists; else ``identifier`` (the
    address or user name typed) names the actor, as docs/events.md asks.
    The password tried is never part of it.
    """
    a = dict(auth or _auth("password"))
    if user is not None:
        actor = catalog.user(str(user.pk), email=getattr(user, "email", "") or None, auth=a)
        return catalog.event("user.login_failed", _user_target(user), actor=actor, error=reason)
    if "@" in identifier:
        actor = {"type": "user", "email": identifier, "auth": a}
    else:  # a user name that matches no account (or nothing typed at all)
        actor = {"type": "user", "id": "username:" + identifier if identifier else "unknown", "auth": a}
    return catalog.event("user.login_failed", actor=actor, error=reason)


def _auth_tenants(user: Any) -> Optional[List[str]]:
    """Where a sign-in event goes: None for a tenant key, else the user's tenants (or the fallback)."""
    conf = _conf()
    if conf.get("TENANT"):
        return None
    ts = _tenants_for(user) if user is not None else []
    if not ts and conf.get("FALLBACK_TENANT"):
        ts = [conf["FALLBACK_TENANT"]]
    return ts


def _record_auth(event: Dict[str, Any], user: Any) -> None:
    tenants = _auth_tenants(user)
    if tenants is not None and not tenants:
        return  # an installation-wide key and nowhere to put it
    try:
        record(_snapshot_context(event), tenants=tenants)
    except Exception:  # never break a sign-in over the audit log
        logging.getLogger("hashtrail.django").warning("hashtrail: could not queue %s", event.get("action"),
                                                      exc_info=True)


def _on_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is None:
        return
    ev = login_event(user, _auth_for(request, user))
    if _in_request.get():
        hashtrail.set_actor(ev["actor"])  # what the rest of this request records
        key = getattr(getattr(request, "session", None), "session_key", None)
        if key:  # login() gave the session a new key: the one this user's requests will carry
            hashtrail.set_context(session_id=_session_id(key))
    _record_auth(ev, user)


def _on_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return
    _record_auth(logout_event(user), user)
    if _in_request.get():
        hashtrail.set_actor(None)


def _on_login_failed(sender: Any, credentials: Optional[Mapping[str, Any]] = None, request: Any = None,
                     **kwargs: Any) -> None:
    from django.contrib.auth import get_user_model

    creds = credentials or {}
    model = get_user_model()
    identifier = str(creds.get(model.USERNAME_FIELD) or creds.get("username") or creds.get("email") or "")
    user = None
    if identifier:
        user = model._default_manager.filter(**{model.USERNAME_FIELD: identifier}).first()
    reason = getattr(request, "hashtrail_failure", None) if request is not None else None
    auth = getattr(request, "hashtrail_auth", None) if request is not None else None
    reason = reason or ("invalid_credentials" if user is not None else "unknown_user")
    _record_auth(login_failed_event(user, identifier=identifier, reason=reason, auth=auth), user)


def _auth_signals() -> List[Any]:
    from django.contrib.auth import signals

    return [(signals.user_logged_in, _on_logged_in), (signals.user_logged_out, _on_logged_out),
            (signals.user_login_failed, _on_login_failed)]


def connect_auth_signals() -> None:
    """Connect the receivers of ``user_logged_in``, ``user_logged_out`` and ``user_login_failed``.

    Idempotent. The app config does it when installed (unless ``AUTH_SIGNALS`` is false).
    """
    for sig, fn in _auth_signals():
        sig.connect(fn, dispatch_uid="hashtrail.django." + fn.__name__)


def disconnect_auth_signals() -> None:
    """Undo :func:`connect_auth_signals`."""
    for sig, fn in _auth_signals():
        sig.disconnect(dispatch_uid="hashtrail.django." + fn.__name__)


# Model auditing lives in hashtrail/django_audit.py (its own concern); it is part of this module's API.
from hashtrail.django_audit import audit_m2m, audit_model, model_changes, snapshot  # noqa: E402


class HashtrailConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    """The ``hashtrail.django`` app: connects the sign-in receivers when ready."""

    name = "hashtrail.django"
    label = "hashtrail"
    verbose_name = "Hashtrail audit log"

    def ready(self) -> None:
        if _conf().get("AUTH_SIGNALS", True):
            connect_auth_signals()


default_app_config = "hashtrail.django.HashtrailConfig"  # Django < 3.2
