"""Field diffs for an event's ``changes``, with secrets redacted.

``is_secret_name`` is the project's one name rule (Go ``hashtrail.SecretName``,
root ``secret.go``); ``diff`` follows the Go SDK's ``client.Diff``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import uuid
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional

_SECRET_WORDS = frozenset(
    "password passwd passphrase passcode pwd pass secret token key credential cookie bearer pin otp "
    "salt signature apikey privatekey secretkey accesskey sshkey signingkey masterkey encryptionkey "
    "privkey".split()
)
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token", "credential")
_PUBLIC_WORDS = frozenset(("public", "publishable"))
_META_WORDS = frozenset(
    "id ids uuid name names type kind hint prefix suffix count length len at time date expiry expires "
    "expiration ttl version url uri algorithm alg policy enabled required set present rotated changed "
    "updated created scope scopes format label fingerprint status file path dir".split()
)
_NOT_SECRET_NAMES = frozenset(("PWD", "OLDPWD"))

#: What a redacted string value becomes (Go ``hashtrail.RedactedValue``).
REDACTED = "[redacted]"


def _words(name: str) -> List[str]:
    """Split name into lowercase words: at non-alphanumerics, between letters
    and digits, at lower-to-upper changes, and before the last capital of an
    acronym followed by lower case (not a plural s)."""
    words: List[str] = []
    start = -1
    prev = ""
    n = len(name)
    for i, r in enumerate(name):
        if not r.isalnum():
            if start >= 0 and i > start:
                words.append(name[start:i].lower())
            start = -1
        elif start < 0:
            start = i
        elif (
            r.isdigit() != prev.isdigit()
            or (r.isupper() and prev.islower())
            or (r.isupper() and prev.isupper() and _starts_lower_word(name, i + 1, n))
        ):
            words.append(name[start:i].lower())
            start = i
        prev = r
    if start >= 0 and n > start:
        words.append(name[start:].lower())
    return words


def _starts_lower_word(name: str, i: int, n: int) -> bool:
    if i >= n or not name[i].islower():
        return False
    nxt = name[i + 1] if i + 1 < n else ""
    return name[i] != "s" or nxt.islower()


def _secret_word(w: str) -> bool:
    forms = (w, w[:-1] if w.endswith("s") else w)
    for form in forms:
        if form in _SECRET_WORDS:
            return True
        for s in _SECRET_SUFFIXES:
            if len(form) > len(s) and form.endswith(s):
                return True
    return False


def is_secret_name(name: str) -> bool:
    """Whether a field, header or variable named ``name`` holds a secret.

    ``apiKey``, ``api_key``, ``API-KEY``, ``password_hash``,
    ``aws_secret_access_key`` are secret; ``keyboard``, ``token_id``,
    ``public_key``, ``password_changed_at`` are not (see docs/sdk.md)."""
    if name in _NOT_SECRET_NAMES:
        return False
    words = _words(name)
    last = len(words) - 1
    while last >= 0 and words[last].isdigit():
        last -= 1
    if last < 0 or words[last] in _META_WORDS:
        return False
    found = False
    for w in words:
        if w in _PUBLIC_WORDS:
            return False
        found = found or _secret_word(w)
    return found


def to_json_value(v: Any) -> Any:
    """Convert v to a JSON-encodable value: dates and times as ISO 8601,
    decimals, UUIDs and other objects as strings, enums by value, sets
    sorted, bytes as text."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else str(v)
    if isinstance(v, enum.Enum):
        return to_json_value(v.value)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (decimal.Decimal, uuid.UUID)):
        return str(v)
    if isinstance(v, Mapping):
        return {str(k): to_json_value(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        return sorted((to_json_value(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, (list, tuple)):
        return [to_json_value(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


_MISSING = object()


def diff(
    before: Optional[Mapping[str, Any]],
    after: Optional[Mapping[str, Any]],
    *,
    fields: Optional[Iterable[str]] = None,
    secret: Callable[[str], bool] = is_secret_name,
    skip: Iterable[str] = (),
    all_fields: bool = False,
) -> List[Dict[str, Any]]:
    """The changes from ``before`` to ``after``, as an event's ``changes``.

    Each change is ``{"field": name, "old": ..., "new": ...}`` (the wire form,
    DESIGN §1); a field on one side only has no ``old`` (added) or no ``new``
    (removed). A field whose name is secret (``secret(name)``, by default
    ``is_secret_name``) that changed is ``{"field": name, "redacted": True}``
    with neither value. Nested mappings are walked, a change inside being one
    entry with a dotted path (``address.city``); other values are compared by
    their JSON form (``to_json_value``). ``fields`` limits (and orders) the
    fields looked at, else the order is ``before``'s keys then ``after``'s new
    ones; ``skip`` leaves fields out; ``all_fields`` lists unchanged ones too.
    None is an empty mapping.
    """
    out: List[Dict[str, Any]] = []
    _walk("", before or {}, after or {}, list(fields) if fields is not None else None,
          secret, frozenset(skip), all_fields, out)
    return out


def _walk(prefix: str, old: Mapping[str, Any], new: Mapping[str, Any], names: Optional[List[str]],
          secret: Callable[[str], bool], skip: FrozenSet[str], all_fields: bool, out: List[Dict[str, Any]]) -> None:
    if names is None:
        names = [str(k) for k in old.keys()]
        seen = set(names)
        names += [str(k) for k in new.keys() if str(k) not in seen]
    for name in names:
        path = prefix + name
        if name in skip or path in skip:
            continue
        o = old.get(name, _MISSING)
        n = new.get(name, _MISSING)
        if o is _MISSING and n is _MISSING:
            continue
        if secret(name):
            if all_fields or o is _MISSING or n is _MISSING or not _same(to_json_value(o), to_json_value(n)):
                out.append({"field": path, "redacted": True})
            continue
        if isinstance(o, Mapping) and isinstance(n, Mapping):
            _walk(path + ".", o, n, None, secret, skip, all_fields, out)
            continue
        ov = to_json_value(o) if o is not _MISSING else _MISSING
        nv = to_json_value(n) if n is not _MISSING else _MISSING
        if ov is not _MISSING and nv is not _MISSING and _same(ov, nv) and not all_fields:
            continue
        ch: Dict[str, Any] = {"field": path}
        if ov is not _MISSING:
            ch["old"] = ov
        if nv is not _MISSING:
            ch["new"] = nv
        out.append(ch)
