"""Warehouse's views that make audit events, and the views that read them.

Each state change calls ``user.record_event(...)`` or
``project.record_event(...)`` as Warehouse does; the event reaches
Hashtrail after the request's transaction commits (see ``audit``).
"""

import html
import logging
import secrets

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.response import Response
from pyramid.security import forget, remember
from pyramid.view import view_config
from sqlalchemy.exc import IntegrityError

import hashtrail
import hashtrail.catalog
from hashtrail.transport import NetworkError

from . import history
from .db import problem
from .models import APIToken, Project, Release, Role, User
from .security import check_password, check_totp, hash_password, new_token_secret, token_hash

log = logging.getLogger(__name__)


def _body(request):
    try:
        return request.json_body if request.body else {}
    except ValueError:
        return dict(request.POST)


def _signed_in(request):
    user = request.identity
    if user is None:
        raise HTTPForbidden(json_body={"title": "sign in first", "status": 403})
    if getattr(request, "api_token", None) is not None:
        raise HTTPForbidden(json_body={"title": "API tokens may only upload", "status": 403})
    return user


def _project(request, roles=("Owner",)):
    project = request.db.query(Project).filter_by(name=request.matchdict["name"]).first()
    if project is None:
        raise HTTPNotFound()
    if roles:
        user = _signed_in(request)
        role = request.db.query(Role).filter_by(user_id=user.id, project_id=project.id).first()
        if role is None or role.role_name not in roles:
            raise HTTPForbidden(json_body={"title": f"you are not an {' or '.join(roles)} of {project.name}"})
    return project


def _act_as(request, user, auth):
    """A view that learns the user itself (sign-in, sign-up) sets the actor."""
    request.auth = auth
    hashtrail.set_actor({"type": "user", "id": str(user.id), "name": user.username, "email": user.email,
                         "auth": auth})


# Accounts ------------------------------------------------------------------


@view_config(route_name="accounts.register", request_method="POST", renderer="json")
def register(request):
    b = _body(request)
    for field in ("username", "email", "password"):
        if not b.get(field):
            return problem(400, f"{field} is required", field)
    user = User(username=b["username"], email=b["email"], password=hash_password(b["password"]))
    request.db.add(user)
    try:
        request.db.flush()
    except IntegrityError:
        request.db.rollback()
        return problem(400, "this username or email is already in use", "username")
    _act_as(request, user, {"method": "password", "mfa": False})
    user.record_event(tag="account:create", request=request)
    request.response.headers.extend(remember(request, str(user.id)))
    request.session["auth"] = {"method": "password", "mfa": False}
    return {"id": user.id, "username": user.username}


@view_config(route_name="accounts.login", request_method="POST", renderer="json")
def login(request):
    b = _body(request)
    user = request.db.query(User).filter_by(username=b.get("username", "")).first()
    if user is None:
        return problem(401, "invalid username or password", "username")
    method = "password+totp" if user.has_two_factor else "password"
    failure = None
    if not check_password(user.password, b.get("password", "")):
        failure = hashtrail.catalog.INVALID_CREDENTIALS
    elif user.has_two_factor and not check_totp(user.totp_secret, b.get("totp_value")):
        failure = hashtrail.catalog.MFA_FAILED
    if failure:
        # An attempt, not a change: recorded now, whatever the transaction does.
        user.record_event(tag="account:login:failure", request=request, after_commit=False,
                          actor={"type": "user", "id": str(user.id), "name": user.username,
                                 "auth": {"method": method, "mfa": user.has_two_factor}},
                          error=failure)
        return problem(401, "invalid username, password or two-factor code", "password")
    auth = {"method": method, "mfa": user.has_two_factor}
    _act_as(request, user, auth)
    user.record_event(tag="account:login:success", request=request)
    request.response.headers.extend(remember(request, str(user.id)))
    request.session["auth"] = auth
    return {"id": user.id, "auth": auth}


@view_config(route_name="accounts.logout", request_method="POST", renderer="json")
def logout(request):
    user = _signed_in(request)
    user.record_event(tag="account:logout", request=request)
    request.response.headers.extend(forget(request))
    request.session.invalidate()
    return {"ok": True}


@view_config(route_name="manage.account.password", request_method="POST", renderer="json")
def change_password(request):
    user, b = _signed_in(request), _body(request)
    if not check_password(user.password, b.get("password", "")):
        return problem(400, "the current password is wrong", "password")
    if len(b.get("new_password", "")) < 8:
        return problem(400, "the new password is too short", "new_password")
    user.password = hash_password(b["new_password"])
    user.record_event(tag="account:password:change", request=request,
                      changes=[{"field": "password", "redacted": True}])
    return {"ok": True}


@view_config(route_name="manage.account.totp", request_method="POST", renderer="json")
def enable_totp(request):
    user, b = _signed_in(request), _body(request)
    if user.has_two_factor:
        return problem(400, "two-factor authentication is already on")
    if not check_totp(b.get("secret", ""), b.get("totp_value")):
        return problem(400, "invalid two-factor code", "totp_value")
    user.totp_secret = b["secret"]
    user.record_event(tag="account:two_factor:method_added", request=request, additional={"method": "totp"})
    return {"ok": True}


@view_config(route_name="manage.account.totp.delete", request_method="POST", renderer="json")
def disable_totp(request):
    user, b = _signed_in(request), _body(request)
    if not user.has_two_factor or not check_totp(user.totp_secret, b.get("totp_value")):
        return problem(400, "invalid two-factor code", "totp_value")
    user.totp_secret = None
    user.record_event(tag="account:two_factor:method_removed", request=request, additional={"method": "totp"})
    return {"ok": True}


@view_config(route_name="manage.account.token", request_method="POST", renderer="json")
def create_token(request):
    user, b = _signed_in(request), _body(request)
    if not b.get("description"):
        return problem(400, "description is required", "description")
    project = None
    if b.get("project"):
        request.matchdict["name"] = b["project"]
        project = _project(request, roles=("Owner", "Maintainer"))
    secret = new_token_secret()
    token = APIToken(id="tok_" + secrets.token_hex(8), user=user, description=b["description"],
                     secret_hash=token_hash(secret), project=project)
    request.db.add(token)
    extra = [{"type": "api_key", "id": token.id, "name": token.description}]
    if project is not None:
        extra.append(project.audit_target())
    user.record_event(tag="account:api_token:added", request=request, targets=extra,
                      additional={"description": token.description,
                                  "caveats": {"project": project.name} if project else {"user": user.username}})
    return {"id": token.id, "token": secret}


@view_config(route_name="manage.account.token.delete", request_method="POST", renderer="json")
def delete_token(request):
    user = _signed_in(request)
    token = request.db.query(APIToken).filter_by(id=request.matchdict["token_id"], user_id=user.id).first()
    if token is None:
        raise HTTPNotFound()
    extra = [{"type": "api_key", "id": token.id, "name": token.description}]
    if token.project is not None:
        extra.append(token.project.audit_target())
    request.db.delete(token)
    user.record_event(tag="account:api_token:removed", request=request, targets=extra,
                      additional={"description": token.description})
    return {"ok": True}


@view_config(route_name="manage.account.delete", request_method="POST", renderer="json")
def delete_account(request):
    """Delete the account, then erase its personal data from the audit log."""
    user, b = _signed_in(request), _body(request)
    if not check_password(user.password, b.get("password", "")):
        return problem(400, "the password is wrong", "password")
    sole = []
    for role in request.db.query(Role).filter_by(user_id=user.id, role_name="Owner"):
        owners = request.db.query(Role).filter_by(project_id=role.project_id, role_name="Owner").count()
        if owners == 1:
            sole.append(role.project.name)
    if sole:
        return problem(400, f"transfer or delete these projects first: {', '.join(sorted(sole))}", "projects")
    user.record_event(tag="account:delete", request=request)
    request.db.query(Release).filter_by(uploader_id=user.id).update({"uploader_id": None})
    request.db.query(APIToken).filter_by(user_id=user.id).delete()
    request.db.query(Role).filter_by(user_id=user.id).delete()
    user_id = user.id
    request.db.delete(user)
    request.db.commit()  # the account is gone and account:delete recorded; now the log's copy of its data
    request.response.headers.extend(forget(request))
    request.session.invalidate()
    try:
        redacted = history.erase_user(request, user_id)
    except (hashtrail.HashtrailError, NetworkError):
        log.warning("audit erasure of user %s failed; erase subject user:%s with an admin key", user_id, user_id)
        request.response.status = 202
        return {"ok": True, "erased": False}
    return {"ok": True, "erased": True, "redacted_events": redacted}


@view_config(route_name="manage.account.security_history", request_method="GET", renderer="json")
def security_history(request):
    user = _signed_in(request)
    out = []
    for e in history.security_history(request, user):
        a, ctx = e.get("actor") or {}, e.get("context") or {}
        own = a.get("id") == str(user.id)  # another user's IP address is theirs, not shown here
        out.append({
            "time": e["time"], "action": e["action"], "tag": (e.get("metadata") or {}).get("tag"),
            "outcome": e.get("outcome"), "error": e.get("error"), "by": a.get("name") or a.get("id"),
            "ip": ctx.get("ip") if own else None, "user_agent": ctx.get("user_agent") if own else None,
            "auth": a.get("auth") if own else None, "description": e.get("description"),
        })
    return {"events": out}


# Projects ------------------------------------------------------------------------


def _create_project(request, user, name):
    project = Project(name=name)
    request.db.add(project)
    request.db.add(Role(user=user, project=project, role_name="Owner"))
    request.db.flush()
    project.record_event(tag="project:create", request=request, targets=[user.audit_target()],
                         additional={"created_by": user.username})
    return project


@view_config(route_name="manage.projects", request_method="POST", renderer="json")
def create_project(request):
    user, b = _signed_in(request), _body(request)
    if not b.get("name"):
        return problem(400, "name is required", "name")
    if request.db.query(Project).filter_by(name=b["name"]).first():
        return problem(400, "this project name is taken", "name")
    project = _create_project(request, user, b["name"])
    return {"id": project.id, "name": project.name}


@view_config(route_name="manage.project.roles", request_method="POST", renderer="json")
def add_collaborator(request):
    project, b = _project(request), _body(request)
    if b.get("role_name") not in ("Owner", "Maintainer"):
        return problem(400, "role_name must be Owner or Maintainer", "role_name")
    other = request.db.query(User).filter_by(username=b.get("username", "")).first()
    if other is None:
        return problem(400, "no such user", "username")
    request.db.add(Role(user=other, project=project, role_name=b["role_name"]))
    project.record_event(tag="project:role:add", request=request,
                         targets=[{"type": "role", "id": b["role_name"]}, other.audit_target()],
                         additional={"role_name": b["role_name"], "target_user": other.username})
    return {"ok": True}


@view_config(route_name="manage.project.role.delete", request_method="POST", renderer="json")
def remove_collaborator(request):
    project = _project(request)
    other = request.db.query(User).filter_by(username=request.matchdict["username"]).first()
    role = other and request.db.query(Role).filter_by(user_id=other.id, project_id=project.id).first()
    if not role:
        raise HTTPNotFound()
    request.db.delete(role)
    project.record_event(tag="project:role:remove", request=request,
                         targets=[{"type": "role", "id": role.role_name}, other.audit_target()],
                         additional={"role_name": role.role_name, "target_user": other.username})
    return {"ok": True}


@view_config(route_name="manage.project.release.yank", request_method="POST", renderer="json")
def yank_release(request):
    project, b = _project(request, roles=("Owner", "Maintainer")), _body(request)
    release = request.db.query(Release).filter_by(project_id=project.id, version=request.matchdict["version"]).first()
    if release is None:
        raise HTTPNotFound()
    release.yanked, release.yanked_reason = True, b.get("reason", "")
    project.record_event(tag="project:release:yank", request=request, reason=release.yanked_reason or None,
                         targets=[{"type": "release", "id": f"{project.name}=={release.version}"}],
                         additional={"version": release.version})
    return {"ok": True}


@view_config(route_name="forklift.legacy.file_upload", request_method="POST", renderer="json")
def file_upload(request):
    """``twine upload``: HTTP Basic ``__token__`` and the release's form."""
    user, token = request.identity, getattr(request, "api_token", None)
    if user is None or token is None:
        return problem(403, "uploads need an API token (username __token__)")
    name, version = request.POST.get("name", ""), request.POST.get("version", "")
    if not name or not version:
        return problem(400, "name and version are required", "name" if not name else "version")
    project = request.db.query(Project).filter_by(name=name).first()
    if token.project_id is not None and (project is None or token.project_id != project.id):
        return problem(403, f"this token is scoped to {token.project.name}, not {name}")
    if project is None:
        project = _create_project(request, user, name)
    elif not request.db.query(Role).filter_by(user_id=user.id, project_id=project.id).first():
        return problem(403, f"{user.username} may not upload to {name}")
    release = Release(project=project, version=version, uploader=user)
    request.db.add(release)
    try:
        request.db.flush()
    except IntegrityError:
        request.db.rollback()
        return problem(400, f"{name} {version} already exists", "version")
    # Which token published it, and whether its owner has 2FA (seed 001).
    project.record_event(tag="project:release:add", request=request,
                         targets=[{"type": "release", "id": f"{name}=={version}"}, user.audit_target()],
                         additional={"version": version, "publisher_two_factor": user.has_two_factor,
                                     # (not "token": Hashtrail redacts values under secret-like names)
                                     "token_id": token.id, "token_name": token.description,
                                     "token_scope": "project" if token.project_id else "user"})
    return {"ok": True, "project": name, "version": version}


@view_config(route_name="manage.project.history", request_method="GET", renderer="json")
def maintainer_history(request):
    project = _project(request, roles=("Owner", "Maintainer"))
    return {"events": history.project_history(request, project)}


@view_config(route_name="admin.audit", request_method="GET", renderer="json")
def admin_audit(request):
    """PyPI administrators search every event: ``?q=action:user.login_failed``."""
    user = _signed_in(request)
    if user.username not in request.registry.settings.get("warehouse.admins", "").split():
        raise HTTPForbidden(json_body={"title": "administrators only", "status": 403})
    try:
        found = history.search(request, request.params.get("q", ""), int(request.params.get("limit", 100)))
    except hashtrail.APIError as err:
        if err.status != 400:
            raise
        return problem(400, err.problem.get("detail") or err.problem.get("title") or "bad search", "q")
    return {"events": found}


# The public project history, through a viewer token -------------------------------


@view_config(route_name="packaging.project.history.token", request_method="GET", renderer="json")
def public_history_token(request):
    project = _project(request, roles=())
    tok = history.viewer_tokens.get(request, project)
    return {"token": tok["token"], "expires_at": tok["expires_at"], "url": request.registry.settings["hashtrail.url"],
            "tenant": request.registry.settings["hashtrail.tenant"]}


def _who(e):
    a = e.get("actor") or {}
    who = a.get("name") or a.get("id") or "someone"
    auth = a.get("auth") or {}
    meta = e.get("metadata") or {}
    if auth.get("method") == "api_token":
        who += f" with API token {meta.get('token_name') or auth.get('credential_id')}"
    if "publisher_two_factor" in meta:
        who += " (2FA on)" if meta["publisher_two_factor"] else " (2FA off)"
    return who


@view_config(route_name="packaging.project.history", request_method="GET")
def public_history(request):
    project = _project(request, roles=())
    rows = "".join(
        f'<tr><td>{html.escape(e["time"])}</td><td>{html.escape((e.get("metadata") or {}).get("tag") or e["action"])}</td>'
        f'<td>{html.escape(_who(e))}</td><td>{html.escape(e.get("description") or "")}</td></tr>'
        for e in history.public_history(request, project))
    tok = history.viewer_tokens.get(request, project)
    body = (f"<!doctype html><title>{html.escape(project.name)} history</title>"
            f'<h1>{html.escape(project.name)}: project history</h1>'
            f'<table id="history" data-hashtrail-token="{html.escape(tok["token"])}">'
            f"<tr><th>when</th><th>what</th><th>who</th><th></th></tr>{rows}</table>")
    return Response(body, content_type="text/html")

