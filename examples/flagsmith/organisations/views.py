"""Organisation administration and the audit views.

Creates, renames and deletes of organisations, projects, environments,
roles and groups are recorded by ``hashtrail.django.audit_model``, users and
groups given roles and users added to groups by ``audit_m2m``
(organisations/audit.py); the views record the rest: accounts an admin
creates or deletes, permissions given to users, roles and groups.
Every event is recorded on commit (ATOMIC_REQUESTS): a request that fails
records nothing.
"""

from typing import Any, Optional

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from . import audit
from .http import body, login_required, problem
from .models import (PERMISSIONS, Environment, Membership, Organisation, PermissionGroup, Project, Role,
                     UserProjectPermission)

User = get_user_model()


def _admin_of(request: HttpRequest, org: Organisation) -> Optional[JsonResponse]:
    """None when the caller administers ``org``, else the error answer."""
    m = Membership.objects.filter(user=request.user, organisation=org).first()
    if m is None:
        return problem(404, "no such organisation")
    if m.role != Membership.ADMIN:
        return problem(403, "organisation admins only")
    return None


def _member_of(request: HttpRequest, org: Organisation) -> Optional[JsonResponse]:
    if not Membership.objects.filter(user=request.user, organisation=org).exists():
        return problem(404, "no such organisation")
    return None


@require_http_methods(["POST"])
@login_required
def organisations(request: HttpRequest) -> JsonResponse:
    """Create an organisation; its creator is its first admin."""
    name = str(body(request).get("name", "")).strip()
    if not name:
        return problem(400, "name is required")
    org = Organisation.objects.create(name=name)
    Membership.objects.create(user=request.user, organisation=org, role=Membership.ADMIN)
    return JsonResponse({"id": org.pk, "name": org.name, "tenant": org.tenant}, status=201)


@require_http_methods(["POST"])
@login_required
def org_users(request: HttpRequest, org_id: int) -> JsonResponse:
    """An admin creates an account in the organisation: ``user.create`` with its name and email."""
    org = get_object_or_404(Organisation, pk=org_id)
    denied = _admin_of(request, org)
    if denied:
        return denied
    data = body(request)
    email = str(data.get("email", "")).strip().lower()
    if "@" not in email:
        return problem(400, "email is required")
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=email, email=email, password=data.get("password") or None,
                                            first_name=data.get("first_name", ""), last_name=data.get("last_name", ""))
    except IntegrityError:
        return problem(409, "an account with this email exists")
    Membership.objects.create(user=user, organisation=org, role=data.get("role", Membership.USER))
    audit.org_event(org, {
        "action": "user.create",
        "targets": [audit.user_target(user)],
        "changes": [{"field": "email", "new": user.email}, {"field": "name", "new": user.get_full_name()},
                    {"field": "password", "redacted": True}],
    })
    return JsonResponse({"id": user.pk, "email": user.email}, status=201)


@require_http_methods(["DELETE"])
@login_required
def org_user(request: HttpRequest, org_id: int, user_id: int) -> JsonResponse:
    """An admin deletes an account: ``user.delete`` (name and email) in every organisation it was in."""
    org = get_object_or_404(Organisation, pk=org_id)
    denied = _admin_of(request, org)
    if denied:
        return denied
    user = get_object_or_404(User, pk=user_id, memberships__organisation=org)
    if user.pk == request.user.pk:
        return problem(400, "use another admin to delete your own account")
    tenants = audit.user_tenants(user)
    target = audit.user_target(user)
    audit.account_event(user, {
        "action": "user.delete",
        "targets": [target],
        "changes": [{"field": "email", "old": user.email}, {"field": "name", "old": user.get_full_name()}],
    }, tenants=tenants)
    user.delete()
    return JsonResponse({}, status=204)


@require_http_methods(["POST"])
@login_required
def projects(request: HttpRequest) -> JsonResponse:
    """Create a project (``project.create``, by audit_model); a taken name is 409 and records nothing."""
    data = body(request)
    org = get_object_or_404(Organisation, pk=data.get("organisation"))
    denied = _admin_of(request, org)
    if denied:
        return denied
    try:
        with transaction.atomic():
            p = Project.objects.create(organisation=org, name=str(data.get("name", "")))
            for env in data.get("environments") or ["Development", "Production"]:
                Environment.objects.create(project=p, name=env)
    except IntegrityError:
        return problem(409, "a project with this name exists")
    return JsonResponse({"id": p.pk, "name": p.name}, status=201)


@require_http_methods(["DELETE", "PATCH"])
@login_required
def project(request: HttpRequest, project_id: int) -> JsonResponse:
    """Rename (``project.update``) or delete (``project.delete``) a project."""
    p = get_object_or_404(Project, pk=project_id)
    denied = _admin_of(request, p.organisation)
    if denied:
        return denied
    if request.method == "DELETE":
        p.delete()
        return JsonResponse({}, status=204)
    p.name = str(body(request).get("name", p.name))
    p.save()
    return JsonResponse({"id": p.pk, "name": p.name})


@require_http_methods(["PUT"])
@login_required
def project_user_permissions(request: HttpRequest, project_id: int, user_id: int) -> JsonResponse:
    """Give a user permissions on a project directly: ``user.permission_grant``/``_revoke``
    (targets: the user, the permission, the project, so the project's view shows them)."""
    p = get_object_or_404(Project, pk=project_id)
    denied = _admin_of(request, p.organisation)
    if denied:
        return denied
    user = get_object_or_404(User, pk=user_id, memberships__organisation=p.organisation)
    upp = UserProjectPermission.objects.get_or_create(user=user, project=p)[0]
    return _set_permissions(upp, p.organisation, audit.user_target(user), "user", body(request).get("permissions"),
                            (audit.project_target(p),))


@require_http_methods(["POST"])
@login_required
def roles(request: HttpRequest, org_id: int) -> JsonResponse:
    """Create a role (``role.create``)."""
    org = get_object_or_404(Organisation, pk=org_id)
    denied = _admin_of(request, org)
    if denied:
        return denied
    r = Role.objects.create(organisation=org, name=str(body(request).get("name", "")))
    return JsonResponse({"id": r.pk, "name": r.name}, status=201)


def _role(request: HttpRequest, role_id: int) -> Any:
    r = get_object_or_404(Role, pk=role_id)
    return r, _admin_of(request, r.organisation)


@require_http_methods(["DELETE", "PATCH"])
@login_required
def role(request: HttpRequest, role_id: int) -> JsonResponse:
    """Rename (``role.update``) or delete (``role.delete``) a role."""
    r, denied = _role(request, role_id)
    if denied:
        return denied
    if request.method == "DELETE":
        r.delete()
        return JsonResponse({}, status=204)
    r.name = str(body(request).get("name", r.name))
    r.save()
    return JsonResponse({"id": r.pk, "name": r.name})


def _set_permissions(obj: Any, org: Organisation, target: dict, kind: str, wanted: Any,
                     extra_targets: tuple = ()) -> Any:
    if not isinstance(wanted, list) or any(p not in PERMISSIONS for p in wanted):
        return problem(400, "permissions must be a list of " + ", ".join(PERMISSIONS))
    old, new = set(obj.permissions), set(wanted)
    obj.permissions = sorted(new)
    obj.save(update_fields=["permissions"])
    for verb, perms in (("permission_grant", new - old), ("permission_revoke", old - new)):
        for perm in sorted(perms):
            audit.org_event(org, {"action": "%s.%s" % (kind, verb), "category": "authorization",
                                  "targets": [target, {"type": "permission", "id": perm}, *extra_targets]})
    return JsonResponse({"permissions": obj.permissions})


@require_http_methods(["PUT"])
@login_required
def role_permissions(request: HttpRequest, role_id: int) -> JsonResponse:
    """Set a role's permissions: one ``role.permission_grant``/``_revoke`` per permission changed."""
    r, denied = _role(request, role_id)
    if denied:
        return denied
    return _set_permissions(r, r.organisation, audit.role_target(r), "role", body(request).get("permissions"))


@require_http_methods(["POST", "DELETE"])
@login_required
def role_users(request: HttpRequest, role_id: int, user_id: Optional[int] = None) -> JsonResponse:
    """Give a role to a user (``role.assign``) or take it away (``role.unassign``)."""
    r, denied = _role(request, role_id)
    if denied:
        return denied
    uid = user_id if user_id is not None else body(request).get("user_id")
    user = get_object_or_404(User, pk=uid, memberships__organisation=r.organisation)
    has = r.users.filter(pk=user.pk).exists()
    if request.method == "POST" and not has:
        r.users.add(user)  # role.assign: audit_m2m (organisations/audit.py)
    elif request.method == "DELETE" and has:
        r.users.remove(user)  # role.unassign
    return JsonResponse({"users": list(r.users.values_list("pk", flat=True))})


@require_http_methods(["POST", "DELETE"])
@login_required
def role_groups(request: HttpRequest, role_id: int, group_id: Optional[int] = None) -> JsonResponse:
    """Give a role to a group (``role.assign``) or take it away (``role.unassign``)."""
    r, denied = _role(request, role_id)
    if denied:
        return denied
    gid = group_id if group_id is not None else body(request).get("group_id")
    g = get_object_or_404(PermissionGroup, pk=gid, organisation=r.organisation)
    has = r.groups.filter(pk=g.pk).exists()
    if request.method == "POST" and not has:
        r.groups.add(g)  # role.assign
    elif request.method == "DELETE" and has:
        r.groups.remove(g)  # role.unassign
    return JsonResponse({"groups": list(r.groups.values_list("pk", flat=True))})


@require_http_methods(["POST"])
@login_required
def groups(request: HttpRequest, org_id: int) -> JsonResponse:
    """Create a permission group (``group.create``)."""
    org = get_object_or_404(Organisation, pk=org_id)
    denied = _admin_of(request, org)
    if denied:
        return denied
    g = PermissionGroup.objects.create(organisation=org, name=str(body(request).get("name", "")))
    return JsonResponse({"id": g.pk, "name": g.name}, status=201)


def _group(request: HttpRequest, group_id: int) -> Any:
    g = get_object_or_404(PermissionGroup, pk=group_id)
    return g, _admin_of(request, g.organisation)


@require_http_methods(["DELETE", "PATCH"])
@login_required
def group(request: HttpRequest, group_id: int) -> JsonResponse:
    """Rename (``group.update``) or delete (``group.delete``) a group."""
    g, denied = _group(request, group_id)
    if denied:
        return denied
    if request.method == "DELETE":
        g.delete()
        return JsonResponse({}, status=204)
    g.name = str(body(request).get("name", g.name))
    g.save()
    return JsonResponse({"id": g.pk, "name": g.name})


@require_http_methods(["PUT"])
@login_required
def group_permissions(request: HttpRequest, group_id: int) -> JsonResponse:
    """Set a group's permissions: ``group.permission_grant``/``_revoke``."""
    g, denied = _group(request, group_id)
    if denied:
        return denied
    return _set_permissions(g, g.organisation, audit.group_target(g), "group", body(request).get("permissions"))


@require_http_methods(["POST", "DELETE"])
@login_required
def group_users(request: HttpRequest, group_id: int, user_id: Optional[int] = None) -> JsonResponse:
    """Add a user to a group (``member.add``) or remove one (``member.remove``)."""
    g, denied = _group(request, group_id)
    if denied:
        return denied
    uid = user_id if user_id is not None else body(request).get("user_id")
    user = get_object_or_404(User, pk=uid, memberships__organisation=g.organisation)
    has = g.users.filter(pk=user.pk).exists()
    if request.method == "POST" and not has:
        g.users.add(user)  # member.add: audit_m2m (organisations/audit.py)
    elif request.method == "DELETE" and has:
        g.users.remove(user)  # member.remove
    return JsonResponse({"users": list(g.users.values_list("pk", flat=True))})


def _events(request: HttpRequest, tenant: str, scope: str = "") -> JsonResponse:
    q = " ".join(x for x in (scope, request.GET.get("q", "")) if x)
    filters = {k: request.GET[k] for k in ("action", "category", "severity", "outcome", "actor") if k in request.GET}
    limit = max(1, min(int(request.GET.get("limit", "100") or 100), 1000))
    return JsonResponse({"events": audit.search(tenant, q, limit=limit, **filters)})


@require_http_methods(["GET"])
@login_required
def org_audit(request: HttpRequest, org_id: int) -> JsonResponse:
    """The organisation-wide audit log (admins), filtered by ``q`` (search syntax) and the usual filters."""
    org = get_object_or_404(Organisation, pk=org_id)
    denied = _admin_of(request, org)
    return denied or _events(request, org.tenant)


@require_http_methods(["GET"])
@login_required
def project_audit(request: HttpRequest, project_id: int) -> JsonResponse:
    """One project's audit log (members): the organisation's events that target the project."""
    p = get_object_or_404(Project, pk=project_id)
    denied = _member_of(request, p.organisation)
    return denied or _events(request, p.organisation.tenant, "target:project:%d" % p.pk)
