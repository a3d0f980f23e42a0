"""Sign-in (password, password + TOTP, Google, GitHub, SAML), sign-out and
the account's own settings (password, 2FA, name and email).

Django's ``login()``, ``logout()`` and ``authenticate()`` send the signals
``hashtrail.django`` receives: the receivers record ``user.login``,
``user.logout`` and ``user.login_failed`` in every organisation of the
user (settings HASHTRAIL["USER_TENANTS"]). The views say only *how* the
user signed in (``set_login_method``) and record what Django has no signal
for: a wrong 2FA code, password and 2FA changes, name and email changes.
"""

from typing import Any

from django.contrib.auth import authenticate, get_user_model, login, logout, update_session_auth_hash
from django.core import signing
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

import hashtrail.django as hd

from . import audit, sso, totp
from .http import body, login_required, problem
from .models import Profile

User = get_user_model()
_MFA_SALT = "flagsmith.mfa-login"


def _profile(user: Any) -> Profile:
    return Profile.objects.get_or_create(user=user)[0]


def _me(user: Any) -> dict:
    return {"id": user.pk, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
            "mfa_enabled": _profile(user).mfa_enabled}


@require_POST
def login_view(request: HttpRequest) -> JsonResponse:
    """Email and password; a user with 2FA gets an ephemeral token for the second step."""
    data = body(request)
    user = authenticate(request, username=data.get("email", ""), password=data.get("password", ""))
    if user is None:  # user_login_failed was sent: already recorded
        return problem(401, "invalid credentials")
    if _profile(user).mfa_enabled:
        token = signing.dumps({"uid": user.pk}, salt=_MFA_SALT)
        return JsonResponse({"mfa_required": True, "ephemeral_token": token})
    hd.set_login_method(request, "password")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse(_me(user))


@require_POST
def login_mfa_view(request: HttpRequest) -> JsonResponse:
    """The second step: the ephemeral token and a TOTP code."""
    data = body(request)
    try:
        uid = signing.loads(data.get("ephemeral_token", ""), salt=_MFA_SALT, max_age=300)["uid"]
        user = User.objects.get(pk=uid)
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError):
        return problem(401, "invalid or expired token")
    auth = {"method": "password+totp", "mfa": True}
    if not totp.verify(_profile(user).totp_secret, data.get("code", "")):
        # No Django signal for this one: the password was right, the code wrong.
        hd.record(hd.login_failed_event(user, reason="mfa_failed", auth=auth), tenants=audit.user_tenants(user)
                  or [audit.PLATFORM_TENANT])
        return problem(401, "invalid code")
    hd.set_login_method(request, "password+totp")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse(_me(user))


def _sso_login(request: HttpRequest, email: str, name: str, method: str, provider: str) -> JsonResponse:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        first, _, last = (name or "").partition(" ")
        user = User.objects.create_user(username=email, email=email, first_name=first, last_name=last)
        user.set_unusable_password()
        user.save()
    hd.set_login_method(request, method, provider=provider)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse(_me(user))


def _sso_failed(claimed: str, auth: dict) -> None:
    """A provider answer that did not verify: recorded against the account it claimed, so that
    account's organisations see the attempt (the platform's log when nobody has the address)."""
    user = User.objects.filter(email__iexact=claimed).first() if claimed else None
    ev = hd.login_failed_event(user, identifier=claimed, reason="provider_error", auth=auth)
    hd.record(ev, tenants=audit.user_tenants(user) or [audit.PLATFORM_TENANT])


def oauth_callback(request: HttpRequest, provider: str) -> JsonResponse:
    """Google or GitHub redirects here with a code (simulated: it carries the identity)."""
    if provider not in ("google", "github"):
        return problem(404, "unknown provider")
    code = request.GET.get("code", "")
    ident = sso.read_oauth_code(provider, code)
    if ident is None:
        _sso_failed(sso.claimed_email(code), {"method": "oauth:" + provider, "provider": provider, "mfa": False})
        return problem(401, "the provider's answer did not verify")
    return _sso_login(request, ident["email"], ident.get("name", ""), "oauth:" + provider, provider)


@require_POST
def saml_acs(request: HttpRequest, idp: str) -> JsonResponse:
    """The SAML assertion consumer service of one identity provider."""
    response = request.POST.get("SAMLResponse", "")
    email = sso.read_saml_response(idp, response)
    if email is None:
        _sso_failed(sso.claimed_name_id(response), {"method": "saml", "provider": idp, "mfa": False})
        return problem(401, "the SAML response did not verify")
    return _sso_login(request, email, "", "saml", idp)


@require_POST
def logout_view(request: HttpRequest) -> JsonResponse:
    logout(request)  # user_logged_out: recorded
    return JsonResponse({"ok": True})


@require_POST
@login_required
def set_password(request: HttpRequest) -> JsonResponse:
    """Change one's own password: ``user.password_change`` in every organisation of the user."""
    data = body(request)
    user = request.user
    if not user.check_password(data.get("current_password", "")):
        return problem(400, "current_password is wrong")
    if len(data.get("new_password", "")) < 8:
        return problem(400, "new_password is too short")
    user.set_password(data["new_password"])
    user.save()
    update_session_auth_hash(request, user)
    audit.account_event(user, {
        "action": "user.password_change",
        "category": "authentication",
        "severity": "low",
        "targets": [audit.user_target(user)],
        "changes": [{"field": "password", "redacted": True}],
    })
    return JsonResponse({"ok": True})


@require_POST
@login_required
def mfa_activate(request: HttpRequest) -> JsonResponse:
    """Start enrolling an authenticator: returns the secret to scan."""
    p = _profile(request.user)
    if p.mfa_enabled:
        return problem(409, "2FA is already on")
    p.totp_secret = totp.new_secret()
    p.save()
    return JsonResponse({"secret": p.totp_secret})


@require_POST
@login_required
def mfa_confirm(request: HttpRequest) -> JsonResponse:
    """Finish enrolling with a first code: 2FA is on."""
    p = _profile(request.user)
    if not p.totp_secret or not totp.verify(p.totp_secret, body(request).get("code", "")):
        return problem(400, "invalid code")
    p.mfa_enabled = True
    p.save()
    audit.account_event(request.user, {"action": "user.mfa_enable", "category": "authentication",
                                       "severity": "low", "targets": [audit.user_target(request.user)],
                                       "metadata": {"factor": "totp"}})
    return JsonResponse({"mfa_enabled": True})


@require_POST
@login_required
def mfa_deactivate(request: HttpRequest) -> JsonResponse:
    """Turn 2FA off (a current code is required)."""
    p = _profile(request.user)
    if not p.mfa_enabled or not totp.verify(p.totp_secret, body(request).get("code", "")):
        return problem(400, "invalid code")
    p.mfa_enabled, p.totp_secret = False, ""
    p.save()
    audit.account_event(request.user, {"action": "user.mfa_disable", "category": "authentication",
                                       "severity": "medium", "targets": [audit.user_target(request.user)],
                                       "metadata": {"factor": "totp"}})
    return JsonResponse({"mfa_enabled": False})


@login_required
def me(request: HttpRequest) -> JsonResponse:
    """GET: the account; PATCH: change name, email (and password): ``user.update`` with field diffs."""
    user = request.user
    if request.method == "GET":
        return JsonResponse(_me(user))
    if request.method != "PATCH":
        return problem(405, "GET or PATCH")
    data = body(request)
    before = audit.account_fields(user)
    for f in ("first_name", "last_name", "email"):
        if f in data:
            setattr(user, f, str(data[f]))
    if data.get("password"):
        user.set_password(data["password"])
    user.save()
    if data.get("password"):
        update_session_auth_hash(request, user)
    changes = hd.model_changes(before, audit.account_fields(user))
    if changes:
        audit.account_event(user, {"action": "user.update", "targets": [audit.user_target(user)],
                                   "changes": changes})
    return JsonResponse(_me(user))
