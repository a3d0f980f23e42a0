"""RFC 6238 TOTP (SHA-1, 30 s, 6 digits), standard library only."""

import base64
import hashlib
import hmac
import secrets
import struct
import time
from typing import Optional


def new_secret() -> str:
    """A random base32 secret for an authenticator app."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def code(secret: str, at: Optional[float] = None, step: int = 30) -> str:
    """The 6-digit code of ``secret`` at time ``at`` (now)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    n = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return "%06d" % n


def verify(secret: str, given: str, at: Optional[float] = None) -> bool:
    """True when ``given`` is the code of this, the previous or the next 30 s step."""
    now = time.time() if at is None else at
    return any(hmac.compare_digest(code(secret, now + d), str(given)) for d in (-30, 0, 30))
