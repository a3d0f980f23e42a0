"""Reading the audit log back: security history, project histories, retention.

- A user's **security history** (``/manage/account/security-history/``):
  every event about the account (``target=user:<id>``), with IP addresses,
  read with a ``read`` key; only the user sees it.
- A project's **public history** (``/project/<name>/history/``): read with
  a viewer token the app mints per project (filter ``target:project:<id>``,
  IP addresses, user agents and e-mail addresses hidden), so the public page
  cannot show more than that even if the app had a bug. The token is also
  served to the browser (``.../history/token``) for a client-side embed.
- **Account deletion** erases the user's personal data from the log
  (``erase_user``): the events stay, with salted commitments in place of the
  values, and the log still verifies.
- The **admin view** (``/admin/audit/?q=...``): any search of the log, for
  the administrators named in ``warehouse.admins``.
- **Retention**: project history forever; what is only about a user (sign-ins,
  2FA, tokens) for 400 days (seed 001's "user events: a limit").
"""

import threading
import time
from datetime import datetime

import hashtrail

#: Fields a public project history never shows.
PUBLIC_HIDDEN = ["context.ip", "context.user_agent", "context.session_id", "actor.email"]

#: The tenant's retention policy; the first matching rule wins.
RETENTION_RULES = [
    {"name": "hashtrail", "category": "system", "keep": "forever"},
    {"name": "projects", "filter": "target:project:*", "keep": "forever"},
    {"name": "sign-ins", "category": "authentication", "keep": "400d"},
    {"name": "accounts", "action": "user.*", "keep": "400d"},
    {"name": "tokens", "action": "api_key.*", "keep": "400d"},
]


def _settings(request):
    s = request.registry.settings
    return s["hashtrail.url"], s["hashtrail.tenant"]


def security_history(request, user, limit=100):
    """The account's events, newest first."""
    url, tenant = _settings(request)
    reader = hashtrail.Reader(url, request.registry.settings["warehouse.hashtrail_read_key"])
    return reader.events(tenant, target=f"user:{user.id}", limit=limit)


def project_history(request, project, limit=100):
    """A project's full history for its maintainers (IP addresses included)."""
    url, tenant = _settings(request)
    reader = hashtrail.Reader(url, request.registry.settings["warehouse.hashtrail_read_key"])
    return reader.events(tenant, target=f"project:{project.id}", limit=limit)


def search(request, q, limit=100):
    """The admin view: any search of the whole log (docs/search.md syntax)."""
    url, tenant = _settings(request)
    reader = hashtrail.Reader(url, request.registry.settings["warehouse.hashtrail_read_key"])
    return reader.events(tenant, q=q or None, limit=limit)


def erase_user(request, user_id):
    """GDPR erasure: delete the user's personal data from every event of the
    log (their name, e-mail, IP addresses, user agents), keeping the events
    and the log's proofs. Returns the number of events redacted."""
    url, tenant = _settings(request)
    request.hashtrail.flush(timeout=30)  # the account's last events first
    admin = hashtrail.Admin(url, request.registry.settings["warehouse.hashtrail_admin_key"])
    return admin.request("POST", f"/v1/tenants/{tenant}/subjects/user:{user_id}/erase")["redacted_events"]


class ViewerTokens:
    """Viewer tokens per project, minted on demand and reused until a minute
    before they expire."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}

    def get(self, request, project):
        """``{"token", "token_id", "expires_at"}`` for the project's public history."""
        url, tenant = _settings(request)
        key = (tenant, project.id)
        with self.lock:
            cached = self.tokens.get(key)
            if cached and cached[1] - time.time() > 60:
                return cached[0]
        minter = hashtrail.Reader(url, request.registry.settings["warehouse.hashtrail_admin_key"])
        tok = minter.create_viewer_token(tenant, f"target:project:{project.id}", hidden_fields=PUBLIC_HIDDEN,
                                         expires_in="15m")
        expires = datetime.fromisoformat(tok["expires_at"].replace("Z", "+00:00")).timestamp()
        with self.lock:
            self.tokens[key] = (tok, expires)
        return tok


viewer_tokens = ViewerTokens()


def public_history(request, project, limit=100):
    """A project's history as the public sees it, read with its viewer token."""
    url, tenant = _settings(request)
    tok = viewer_tokens.get(request, project)
    return hashtrail.Reader(url, tok["token"]).events(tenant, limit=limit)


def _rule_key(rule):
    return tuple((k, rule.get(k) or None) for k in ("name", "filter", "category", "action", "keep"))


def configure_retention(admin, tenant):
    """Set the tenant's retention policy unless it is already this one;
    returns the policy in force."""
    current = admin.get_retention(tenant)
    if [_rule_key(r) for r in current.get("rules") or []] == [_rule_key(r) for r in RETENTION_RULES] \
            and current.get("default") == "forever":
        return current
    return admin.put_retention(tenant, RETENTION_RULES, default="forever", version=int(current.get("version", 0)))
