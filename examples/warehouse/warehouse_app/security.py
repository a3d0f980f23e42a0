"""Passwords, TOTP codes, API tokens and the Pyramid security policy.

A request is authenticated by the session (web sign-in) or by HTTP Basic
``__token__:pypi-...`` (uploads). ``request.identity`` is the User;
``request.auth`` says how (``password``, ``password+totp`` or
``api_token`` with the token's id), for the audit actor.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time

from pyramid.authentication import SessionAuthenticationHelper

from .models import APIToken, User, utcnow


def hash_password(password, salt=None):
    """PBKDF2-SHA256, ``salt$hex``."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000)
    return f"{salt}${digest.hex()}"


def check_password(stored, password):
    """Whether ``password`` matches ``stored``."""
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(stored, hash_password(password, salt))


def totp(secret_b32, at=None, step=30, digits=6):
    """The RFC 6238 code of ``secret_b32`` at time ``at`` (now)."""
    key = base64.b32decode(secret_b32)
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


def check_totp(secret_b32, code):
    """Whether ``code`` is valid now (one step of clock drift either way)."""
    now = time.time()
    return any(hmac.compare_digest(totp(secret_b32, now + d * 30), str(code or "")) for d in (-1, 0, 1))


def new_token_secret():
    """A new upload token's secret, shown once."""
    return "pypi-" + secrets.token_urlsafe(32)


def token_hash(secret):
    """What is stored of a token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class SecurityPolicy:
    """Session sign-in for the web, API tokens for uploads."""

    def __init__(self):
        self.helper = SessionAuthenticationHelper()

    def identity(self, request):
        token = self._basic_token(request)
        if token is not None:
            request.auth = {"method": "api_token", "credential_id": token.id}
            request.api_token = token
            token.last_used = utcnow()
            return token.user
        userid = self.helper.authenticated_userid(request)
        if userid is None:
            return None
        user = request.db.get(User, int(userid))
        if user is not None:
            request.auth = request.session.get("auth") or {"method": "password"}
        return user

    def _basic_token(self, request):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            name, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if name != "__token__" or not secret.startswith("pypi-"):
            return None
        return request.db.query(APIToken).filter_by(secret_hash=token_hash(secret)).first()

    def authenticated_userid(self, request):
        user = request.identity
        return None if user is None else str(user.id)

    def permits(self, request, context, permission):
        from pyramid.security import Allowed, Denied
        return Allowed("signed in") if request.identity is not None else Denied("not signed in")

    def remember(self, request, userid, **kw):
        return self.helper.remember(request, userid, **kw)

    def forget(self, request, **kw):
        return self.helper.forget(request, **kw)


def actor(request):
    """The Hashtrail actor of a request: the user and how they signed in.

    An upload names the API token used (never its secret); ``mfa`` says
    whether this sign-in used a second factor, and ``metadata`` of the
    release says whether the account has one.
    """
    user = request.identity
    if user is None:
        return None
    auth = dict(getattr(request, "auth", None) or {"method": "password"})
    auth.setdefault("mfa", auth.get("method", "").startswith("password+"))
    return {"type": "user", "id": str(user.id), "name": user.username, "email": user.email, "auth": auth}
