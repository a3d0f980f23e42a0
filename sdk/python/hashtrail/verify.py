"""Client-side verification: an event's leaf is in its tenant's Merkle tree
(RFC 9162 inclusion proof) and that tree's checkpoint is signed by the
installation's key (a C2SP signed note, Ed25519). See docs/integrity.md.

Standard library only: Ed25519 verification (RFC 8032) is written out here
in plain Python. It verifies public data, so its speed (a few milliseconds
per signature) and its lack of constant-time arithmetic do not matter.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from .errors import HashtrailError


class VerificationError(HashtrailError):
    """A proof, a signature or a leaf did not check out."""


# ---- Ed25519 (RFC 8032 §5.1), verification only ----------------------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

Point = Tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _add(a: Point, b: Point) -> Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = t1 * 2 * _D * t2 % _P
    dd = z1 * 2 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(k: int, pt: Point) -> Point:
    acc: Point = (0, 1, 1, 0)  # the neutral element
    while k:
        if k & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        k >>= 1
    return acc


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y: int, sign: int) -> Optional[int]:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if x & 1 != sign:
        x = _P - x
    return x


def _decode_point(s: bytes) -> Optional[Point]:
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


_BY = 4 * pow(5, _P - 2, _P) % _P
_BX = _recover_x(_BY, 0)
assert _BX is not None
_B: Point = (_BX, _BY, 1, _BX * _BY % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether signature is a valid Ed25519 signature of message by public_key."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decode_point(public_key)
    r = _decode_point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _L
    return _equal(_mul(s, _B), _add(r, _mul(k, a)))


# ---- Merkle inclusion (RFC 9162 §2.1.3.2) ----------------------------------

def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root hash that proof leads to from the leaf hash at index in a
    tree of size leaves; raises VerificationError for a malformed proof."""
    if index < 0 or index >= size:
        raise VerificationError("leaf index %d is outside a tree of %d" % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("the inclusion proof is too short")
    return r


# ---- checkpoints (C2SP tlog-checkpoint in a signed note) --------------------

@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint: the tenant log's origin, size and root hash."""

    origin: str
    size: int
    root: bytes


def parse_log_key(log_key: str) -> Tuple[str, bytes]:
    """The server name and Ed25519 public key of ``GET /v1/log/key``
    (``<name>+<hash>+<base64(0x01 || key)>``)."""
    parts = log_key.strip().split("+", 2)  # the base64 key may hold "+" too
    if len(parts) != 3:
        raise VerificationError("a log key is <name>+<hash>+<key>")
    raw = base64.b64decode(parts[2])
    if len(raw) != 33 or raw[0] != 1:
        raise VerificationError("the log key is not an Ed25519 note key")
    return parts[0], raw[1:]


def verify_checkpoint(note: str, log_key: str, tenant: str) -> Checkpoint:
    """Check a tenant's checkpoint against the installation's log key: the
    origin is ``<server name>/<tenant>`` and a signature by that key under
    that name verifies. Returns the checkpoint; raises VerificationError."""
    server, pub = parse_log_key(log_key)
    origin = server + "/" + tenant
    text, sep, sigs = note.partition("\n\n")
    if not sep or not text:
        raise VerificationError("malformed signed note")
    text += "\n"
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != origin:
        raise VerificationError("the checkpoint's origin is %r, not %r" % (lines[0], origin))
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as e:
        raise VerificationError("malformed checkpoint: %s" % e) from None
    key_hash = hashlib.sha256(origin.encode() + b"\n\x01" + pub).digest()[:4]
    for line in sigs.split("\n"):
        if not line.startswith("\u2014 "):
            continue
        name, _, b64 = line[2:].rpartition(" ")
        if name != origin:
            continue
        try:
            sig = base64.b64decode(b64)
        except ValueError:
            continue
        if len(sig) == 68 and sig[:4] == key_hash and ed25519_verify(pub, text.encode(), sig[4:]):
            return Checkpoint(origin, size, root)
    raise VerificationError("no valid signature by the log key on the checkpoint of %s" % origin)


def _within(leaf: Any, answer: Any, path: str, out: List[str]) -> None:
    """Collect paths where a leaf value differs from the answer's."""
    if isinstance(leaf, dict):
        if not isinstance(answer, dict):
            out.append(path or "/")
            return
        for k, v in leaf.items():
            if path == "" and k in ("v", "pii"):
                continue
            _within(v, answer.get(k), path + "/" + k, out)
    elif isinstance(leaf, list):
        if not isinstance(answer, list) or len(answer) != len(leaf):
            out.append(path)
            return
        for i, (a, b) in enumerate(zip(leaf, answer)):
            _within(a, b, "%s/%d" % (path, i), out)
    elif leaf != answer:
        out.append(path)


def verify_event(event: Mapping[str, Any], log_key: str) -> Checkpoint:
    """Verify an event answered with ``?proof=true``: its leaf hashes to its
    ``leaf_hash``, agrees with every field of the answer it holds, is in
    the tree at ``seq`` by the inclusion proof, and that tree's root is the
    one of a checkpoint signed by the installation's key. Personal data
    (committed to, not in the leaf) is not rebuilt here. Returns the
    checkpoint; raises VerificationError."""
    try:
        leaf = base64.b64decode(event["leaf"])
        proof = event["proof"]
        hashes = [base64.b64decode(h) for h in proof.get("hashes") or []]
        note = event["checkpoint"]
    except (KeyError, TypeError, ValueError):
        raise VerificationError("the event has no proof: fetch it with proof=True") from None
    lh = leaf_hash(leaf)
    if lh.hex() != event.get("leaf_hash"):
        raise VerificationError("the leaf does not hash to the event's leaf_hash")
    diffs: List[str] = []
    _within(json.loads(leaf), event, "", diffs)
    if diffs:
        raise VerificationError("the event differs from its leaf at %s" % ", ".join(diffs[:5]))
    cp = verify_checkpoint(note, log_key, str(event.get("tenant")))
    index, size = int(proof.get("leaf_index", -1)), int(proof.get("tree_size", 0))
    if index != event.get("seq") or size != cp.size:
        raise VerificationError("the proof is for leaf %d of %d, not seq %s of the checkpoint's %d"
                                % (index, size, event.get("seq"), cp.size))
    if root_from_inclusion(index, size, lh, hashes) != cp.root:
        raise VerificationError("the inclusion proof does not lead to the checkpoint's root")
    return cp
