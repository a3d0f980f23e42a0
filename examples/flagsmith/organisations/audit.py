"""Everything this app sends to Hashtrail, in one place.

Tenancy: one Hashtrail tenant per organisation (``org-<id>``), written with
one installation-wide ingest key. Flagsmith's audit log belongs to an
organisation (its admins see their own organisation's log and nothing
else), and a tenant is exactly that isolation unit: its own log, Merkle
tree, retention and keys. Events about the account itself -- sign-ins,
sign-outs, failed sign-ins, password and 2FA changes, name and email
changes -- concern every organisation the user belongs to, so they are
fanned out: one request, ``"tenants": [...]``, and the server writes the
same event (same id) into each organisation's log. A per-project view is a
query on the organisation's tenant, ``target:project:<id>``.
"""

from typing import Any, Dict, List, Optional

from django.conf import settings

import hashtrail
import hashtrail.django as hd

from .models import Environment, Organisation, PermissionGroup, Project, Role

#: Where account events of a user who belongs to no organisation go.
PLATFORM_TENANT = "flagsmith-platform"


def user_tenants(user: Any) -> List[str]:
    """The tenants of every organisation ``user`` belongs to (settings USER_TENANTS)."""
    if user is None or user.pk is None:
        return []
    ids = user.memberships.order_by("organisation_id").values_list("organisation_id", flat=True)
    return ["org-%d" % i for i in ids]


def user_target(user: Any) -> Dict[str, Any]:
    """``user:<id>`` named by the user's name (else email)."""
    return {"type": "user", "id": str(user.pk), "name": user.get_full_name() or user.email}


def project_target(p: Project) -> Dict[str, Any]:
    return {"type": "project", "id": str(p.pk), "name": p.name}


def role_target(r: Role) -> Dict[str, Any]:
    return {"type": "role", "id": str(r.pk), "name": r.name}


def group_target(g: PermissionGroup) -> Dict[str, Any]:
    return {"type": "group", "id": str(g.pk), "name": g.name}


def account_event(user: Any, event: Dict[str, Any], tenants: Optional[List[str]] = None) -> Dict[str, Any]:
    """Record an event about ``user``'s own account in every organisation of the user, on commit."""
    ts = tenants if tenants is not None else user_tenants(user)
    return hd.record_on_commit(event, tenants=ts or [PLATFORM_TENANT])


def org_event(org: Organisation, event: Dict[str, Any]) -> Dict[str, Any]:
    """Record an event in one organisation's log, on commit."""
    return hd.record_on_commit(event, tenants=[org.tenant])


def account_fields(user: Any) -> Dict[str, Any]:
    """The audited fields of an account (the password is audited as changed, never shown)."""
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "password": user.password,
    }


def register() -> None:
    """Audit the organisation's objects and assignments (each on commit)."""

    def org_of(obj: Any) -> List[str]:
        return ["org-%d" % obj.organisation_id]

    hd.audit_model(Organisation, object_type="organisation", fields=["name"],
                   targets=lambda o: [{"type": "organisation", "id": str(o.pk), "name": o.name}],
                   tenants=lambda o: [o.tenant])
    hd.audit_model(Project, object_type="project", fields=["name"],
                   targets=lambda p: [project_target(p)], tenants=org_of)
    hd.audit_model(Environment, object_type="environment", fields=["name"],
                   targets=lambda e: [{"type": "environment", "id": str(e.pk), "name": e.name},
                                      {"type": "project", "id": str(e.project_id)}],
                   tenants=lambda e: ["org-%d" % Project.objects.filter(pk=e.project_id)
                                      .values_list("organisation_id", flat=True).first()])
    hd.audit_model(Role, object_type="role", fields=["name"], targets=lambda r: [role_target(r)],
                   tenants=org_of, category="authorization")
    hd.audit_model(PermissionGroup, object_type="group", fields=["name"], targets=lambda g: [group_target(g)],
                   tenants=org_of, category="authorization")
    # Assignments, from whichever side (views, the shell, an admin), one event per pair.
    hd.audit_m2m(Role.users, add="role.assign", remove="role.unassign",
                 targets=lambda r, u: [role_target(r), user_target(u)], tenants=org_of)
    hd.audit_m2m(Role.groups, add="role.assign", remove="role.unassign",
                 targets=lambda r, g: [role_target(r), group_target(g)], tenants=org_of)
    hd.audit_m2m(PermissionGroup.users, add="member.add", remove="member.remove",
                 targets=lambda g, u: [group_target(g), user_target(u)], tenants=org_of)


_reader: Optional[hashtrail.Reader] = None


def reader() -> hashtrail.Reader:
    """The read side: the audit views query Hashtrail with an installation-wide read key."""
    global _reader
    if _reader is None:
        _reader = hashtrail.Reader(settings.HASHTRAIL["URL"], settings.HASHTRAIL_READ_KEY)
    return _reader


def search(tenant: str, q: str = "", limit: int = 100, **filters: Any) -> List[Dict[str, Any]]:
    """Events of one organisation's log; an organisation with no events yet has none."""
    try:
        return reader().events(tenant, q=q or None, limit=limit, **filters)
    except hashtrail.APIError as e:
        if getattr(e, "status", None) == 404:
            return []
        raise
