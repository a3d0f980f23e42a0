"""Request context: who is acting and from where, for every event recorded
while handling one request (or job).

Framework integrations set it per request; ``Client.record`` fills an event's
``actor`` and empty ``context`` fields from it. It lives in ``contextvars``,
so it follows threads, asyncio tasks and ``contextvars.copy_context``.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import re
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Union

Actor = Dict[str, Any]
ActorSource = Union[Actor, Callable[[], Optional[Actor]], None]

_actor: contextvars.ContextVar[ActorSource] = contextvars.ContextVar("hashtrail_actor", default=None)
_context: contextvars.ContextVar[Optional[Dict[str, Any]]] = contextvars.ContextVar(
    "hashtrail_context", default=None
)


def set_actor(actor: ActorSource) -> None:
    """Set the actor of events recorded from now on in this context.

    ``actor`` is a dict (``{"type": "user", "id": "42", "email": ...}``),
    ``None`` to clear it, or a function returning one, called when an event is
    recorded (for frameworks whose user is loaded lazily)."""
    _actor.set(actor)


def get_actor() -> Optional[Actor]:
    """The current actor, or None (a function set by ``set_actor`` is called;
    if it raises, there is no actor)."""
    a = _actor.get()
    if callable(a):
        try:
            a = a()
        except Exception:  # an app's lazy user lookup must not break recording
            return None
    return dict(a) if a else None


def set_context(**fields: Any) -> None:
    """Add fields (``ip``, ``user_agent``, ``request_id``, ``session_id``,
    ``trace_id``, ``method``, ``path``, ``source``, ...) to the current
    context; a field given as None is removed."""
    cur = dict(_context.get() or {})
    for k, v in fields.items():
        if v is None:
            cur.pop(k, None)
        else:
            cur[k] = v
    _context.set(cur)


def get_context() -> Dict[str, Any]:
    """A copy of the current context fields."""
    return dict(_context.get() or {})


def clear_context() -> None:
    """Clear the actor and the context fields."""
    _actor.set(None)
    _context.set(None)


@contextlib.contextmanager
def request_context(actor: ActorSource = None, **context_fields: Any) -> Iterator[None]:
    """Run a block with an actor and context fields (added to the current
    ones; None values are left out), restoring the previous ones on exit.

    >>> with request_context(actor={"type": "system", "id": "cron"}, source="system"):
    ...     client.record({"action": "report.generate"})
    """
    fields = get_context()
    fields.update({k: v for k, v in context_fields.items() if v is not None})
    t_ctx = _context.set(fields)
    t_actor = _actor.set(actor) if actor is not None else None
    try:
        yield
    finally:
        if t_actor is not None:
            _actor.reset(t_actor)
        _context.reset(t_ctx)


def fill_event(event: Dict[str, Any]) -> None:
    """Fill ``event``'s missing actor and empty context fields from the
    current context (the event's own context fields win)."""
    if not event.get("actor"):
        a = get_actor()
        if a:
            event["actor"] = a
    cur = _context.get()
    if cur:
        own = event.get("context")
        merged = dict(cur)
        if isinstance(own, Mapping):
            merged.update({k: v for k, v in own.items() if v is not None and v != ""})
        event["context"] = merged


Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def _parse_host(s: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    """Read "ip", "ip:port", "[ipv6]" or "[ipv6]:port"."""
    s = (s or "").strip().strip('"')
    if not s:
        return None
    cands = [s]
    if s.startswith("["):
        end = s.find("]")
        if end > 0:
            cands = [s[1:end]]
    elif s.count(":") == 1:
        cands.append(s.split(":", 1)[0])
    for c in cands:
        try:
            a = ipaddress.ip_address(c.split("%", 1)[0])
        except ValueError:
            continue
        if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
            return a.ipv4_mapped
        return a
    return None


def parse_networks(trusted: Sequence[Any]) -> Sequence[Network]:
    """Parse trusted proxies given as addresses or CIDR strings (or
    ``ipaddress`` networks). An invalid entry raises ValueError."""
    out = []
    for t in trusted or ():
        if isinstance(t, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            out.append(t)
        else:
            out.append(ipaddress.ip_network(str(t).strip(), strict=False))
    return tuple(out)


def _trusted(a: Any, nets: Sequence[Network]) -> bool:
    return any(a.version == n.version and a in n for n in nets)


def client_ip(
    remote_addr: str,
    x_forwarded_for: Optional[str],
    trusted_proxies: Sequence[Any],
    *,
    forwarded: Optional[str] = None,
) -> str:
    """The client's IP address, by the Go SDK's ``client.ClientIP`` rule.

    It is the connection's peer ``remote_addr`` unless the peer is one of
    ``trusted_proxies`` (addresses or CIDRs). Then ``forwarded`` (RFC 7239
    ``for=``), or else ``x_forwarded_for``, is walked from the right,
    skipping trusted proxies; the first other address is the client. Entries
    left of it are whatever the client sent and are never believed; an entry
    that is not an address (``unknown``) stops the walk at the last trusted
    hop. Answers "" when ``remote_addr`` is not an address.
    """
    peer = _parse_host(remote_addr)
    if peer is None:
        return ""
    nets = parse_networks(trusted_proxies)
    if not _trusted(peer, nets):
        return str(peer)
    hops = []
    if forwarded:
        for elem in forwarded.split(","):
            found = ""
            for pair in elem.split(";"):
                k, sep, v = pair.strip().partition("=")
                if sep and k.lower() == "for":
                    found = v.strip('"')
            hops.append(found)
    elif x_forwarded_for:
        hops = [h.strip() for h in x_forwarded_for.split(",")]
    client = peer
    for h in reversed(hops):
        a = _parse_host(h)
        if a is None:
            break
        client = a
        if not _trusted(a, nets):
            break
    return str(client)


_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def request_id_or_new(sent: Optional[str]) -> str:
    """The request id a client sent, when it is one (1 to 128 printable ASCII
    characters, no spaces or line breaks, so it is safe to echo in a header),
    else a new ULID. Every framework integration uses this one rule."""
    if sent and _REQUEST_ID.fullmatch(sent):
        return sent
    from .ulid import ULID

    return ULID()
