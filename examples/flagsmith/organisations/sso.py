"""Simulated identity providers: Google and GitHub (OAuth) and a SAML IdP.

A real deployment exchanges the OAuth code with the provider, or checks the
SAML assertion's XML signature. Here the provider is simulated: the callback
carries the identity itself, signed with a secret shared with the test's
"provider" (settings.SSO_SIMULATION_SECRET), so the app's callback code path
-- verify, find or create the user, log in, record how -- is the real one.
"""

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from typing import Dict, Optional

from django.conf import settings


def _sig(data: bytes) -> str:
    return hmac.new(settings.SSO_SIMULATION_SECRET.encode(), data, hashlib.sha256).hexdigest()


def make_oauth_code(provider: str, email: str, name: str = "") -> str:
    """What the simulated provider redirects back with (the test plays the provider)."""
    body = base64.urlsafe_b64encode(json.dumps({"iss": provider, "email": email, "name": name}).encode()).decode()
    return body + "." + _sig(body.encode())


def read_oauth_code(provider: str, code: str) -> Optional[Dict[str, str]]:
    """The identity in ``code`` when its signature and issuer hold, else None."""
    body, _, sig = code.partition(".")
    if not hmac.compare_digest(_sig(body.encode()), sig):
        return None
    try:
        ident = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return ident if ident.get("iss") == provider and ident.get("email") else None


def claimed_email(code: str) -> str:
    """The address a code claims, verified or not (a forged one is recorded by what it claimed)."""
    try:
        ident = json.loads(base64.urlsafe_b64decode(code.partition(".")[0].encode()))
    except ValueError:
        return ""
    return str(ident.get("email", "")) if isinstance(ident, dict) else ""


def make_saml_response(idp: str, email: str) -> str:
    """A base64 SAMLResponse as the simulated IdP posts it to the ACS URL."""
    inner = "<Issuer>%s</Issuer><NameID>%s</NameID>" % (idp, email)
    xml = '<Response><Assertion>%s<Signature>%s</Signature></Assertion></Response>' % (inner, _sig(inner.encode()))
    return base64.b64encode(xml.encode()).decode()


def read_saml_response(idp: str, response: str) -> Optional[str]:
    """The NameID (email) of a SAMLResponse whose signature and issuer hold, else None."""
    try:
        root = ET.fromstring(base64.b64decode(response))
    except (ValueError, ET.ParseError):
        return None
    a = root.find("Assertion")
    if a is None:
        return None
    issuer, name_id, sig = a.findtext("Issuer"), a.findtext("NameID"), a.findtext("Signature") or ""
    inner = "<Issuer>%s</Issuer><NameID>%s</NameID>" % (issuer, name_id)
    if issuer != idp or not name_id or not hmac.compare_digest(_sig(inner.encode()), sig):
        return None
    return name_id


def claimed_name_id(response: str) -> str:
    """The NameID a SAMLResponse claims, verified or not (a forged one is recorded by what it claimed)."""
    try:
        return ET.fromstring(base64.b64decode(response)).findtext("Assertion/NameID") or ""
    except (ValueError, ET.ParseError):
        return ""
