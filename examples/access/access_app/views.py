"""Access's JSON API: the routes behind its 21 state-changing operations.

The signed-in user comes from the identity header of the proxy in front of
Access (Cloudflare Access here, ``Cf-Access-Authenticated-User-Email``).
"""

from datetime import datetime

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError

import hashtrail

from . import operations as ops
from .models import AccessRequest, App, OktaGroup, OktaUser, RoleRequest, Tag, db

IDENTITY_HEADER = "Cf-Access-Authenticated-User-Email"

api = Blueprint("api", __name__, url_prefix="/api")


def current_user():
    """The signed-in OktaUser, or None."""
    if "current_user" not in g:
        email = request.headers.get(IDENTITY_HEADER, "")
        g.current_user = OktaUser.query.filter_by(email=email).first() if email else None
    return g.current_user


def actor():
    """The Hashtrail actor for the signed-in user (the extension's actor loader)."""
    user = current_user()
    if user is None:
        return None
    return {"type": "user", "id": user.id, "email": user.email, "name": user.display_name,
            "roles": ["admin"] if user.is_admin else [], "auth": {"method": "oauth:okta", "provider": "okta"}}


def problem(status, title, field=None, detail=None):
    """An RFC 9457 problem answer naming the field at fault."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail or title}
    if field:
        body["errors"] = [{"field": field, "message": detail or title}]
    resp = jsonify(body)
    resp.status_code = status
    resp.content_type = "application/problem+json"
    return resp


@api.before_request
def authenticate():
    if current_user() is None:
        return problem(401, "sign in through Access's identity proxy")
    return None


@api.errorhandler(ops.OperationError)
def operation_error(err):
    db.session.rollback()
    return problem(err.status, err.message, err.field)


@api.errorhandler(IntegrityError)
def integrity_error(err):
    db.session.rollback()
    return problem(409, "the change conflicts with existing data", detail=str(err.orig))


def _body():
    return request.get_json(force=True, silent=True) or {}


def _get(model, ident):
    obj = db.session.get(model, ident)
    if obj is None or getattr(obj, "deleted_at", None) is not None:
        raise ops.OperationError(404, f"no {model.__tablename__} {ident}")
    return obj


def _ending_at(body):
    value = body.get("ending_at")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise ops.OperationError(400, "ending_at is not an RFC 3339 time", "ending_at") from None


def _group_json(group):
    return {"id": group.id, "name": group.name, "type": group.type, "description": group.description,
            "app_id": group.app_id, "tags": sorted(t.name for t in group.tags)}


@api.post("/requests")
def create_access_request():
    b = _body()
    group = _get(OktaGroup, b.get("group_id"))
    req = ops.create_access_request(current_user(), group, bool(b.get("group_owner")), b.get("reason", ""),
                                    _ending_at(b))
    return jsonify({"id": req.id, "status": req.status}), 201


@api.put("/requests/<int:req_id>")
def resolve_access_request(req_id):
    b = _body()
    req = _get(AccessRequest, req_id)
    ops.resolve_access_request(current_user(), req, bool(b.get("approved")), b.get("reason", ""), _ending_at(b))
    return jsonify({"id": req.id, "status": req.status})


@api.post("/role-requests")
def create_role_request():
    b = _body()
    role, group = _get(OktaGroup, b.get("role_id")), _get(OktaGroup, b.get("group_id"))
    req = ops.create_role_request(current_user(), role, group, bool(b.get("group_owner")), b.get("reason", ""))
    return jsonify({"id": req.id, "status": req.status}), 201


@api.put("/role-requests/<int:req_id>")
def resolve_role_request(req_id):
    b = _body()
    req = _get(RoleRequest, req_id)
    ops.resolve_role_request(current_user(), req, bool(b.get("approved")), b.get("reason", ""), _ending_at(b))
    return jsonify({"id": req.id, "status": req.status})


@api.put("/groups/<int:group_id>/members")
def modify_group_users(group_id):
    b = _body()
    ops.modify_group_users(current_user(), _get(OktaGroup, group_id), b.get("members_to_add", []),
                           b.get("members_to_remove", []), b.get("owners_to_add", []),
                           b.get("owners_to_remove", []), b.get("created_reason", ""), _ending_at(b))
    return jsonify({"ok": True})


@api.put("/roles/<int:role_id>/groups")
def modify_role_groups(role_id):
    b = _body()
    ops.modify_role_groups(current_user(), _get(OktaGroup, role_id), b.get("groups_to_add", []),
                           b.get("groups_to_remove", []), b.get("owner_groups_to_add", []),
                           b.get("owner_groups_to_remove", []), b.get("created_reason", ""), _ending_at(b))
    return jsonify({"ok": True})


@api.post("/groups")
def create_group():
    b = _body()
    group = ops.create_group(current_user(), b.get("name"), b.get("description", ""),
                             b.get("type", "okta_group"), b.get("app_id"), b.get("tags", []))
    return jsonify(_group_json(group)), 201


@api.put("/groups/<int:group_id>")
def update_group(group_id):
    b = _body()
    group = ops.update_group(current_user(), _get(OktaGroup, group_id),
                             {k: b[k] for k in ("name", "description") if k in b}, b.get("tags"))
    return jsonify(_group_json(group))


@api.delete("/groups/<int:group_id>")
def delete_group(group_id):
    ops.delete_group(current_user(), _get(OktaGroup, group_id))
    return "", 204


@api.post("/apps")
def create_app():
    b = _body()
    app = ops.create_app(current_user(), b.get("name"), b.get("description", ""), b.get("tags", []))
    return jsonify({"id": app.id, "name": app.name}), 201


@api.put("/apps/<int:app_id>")
def update_app(app_id):
    b = _body()
    app = ops.update_app(current_user(), _get(App, app_id),
                         {k: b[k] for k in ("name", "description") if k in b}, b.get("tags"))
    return jsonify({"id": app.id, "name": app.name})


@api.delete("/apps/<int:app_id>")
def delete_app(app_id):
    ops.delete_app(current_user(), _get(App, app_id))
    return "", 204


@api.post("/tags")
def create_tag():
    b = _body()
    tag = ops.create_tag(current_user(), b.get("name"), b.get("description", ""), b.get("constraints"))
    return jsonify({"id": tag.id, "name": tag.name}), 201


@api.put("/tags/<int:tag_id>")
def update_tag(tag_id):
    b = _body()
    tag = ops.update_tag(current_user(), _get(Tag, tag_id),
                         {k: b[k] for k in ("name", "description", "constraints", "enabled") if k in b})
    return jsonify({"id": tag.id, "name": tag.name})


@api.delete("/tags/<int:tag_id>")
def delete_tag(tag_id):
    ops.delete_tag(current_user(), _get(Tag, tag_id))
    return "", 204


@api.get("/audit/groups/<int:group_id>")
def group_audit(group_id):
    """Who changed this group, newest first: read back from Hashtrail."""
    group = _get(OktaGroup, group_id)
    if not ops._is_owner(current_user(), group):
        raise ops.OperationError(403, f"only owners of {group.name} may read its audit log")
    reader = hashtrail.Reader(current_app.config["HASHTRAIL_URL"], current_app.config["HASHTRAIL_READ_KEY"])
    tenant, limit = current_app.config["HASHTRAIL_TENANT"], min(int(request.args.get("limit", 100)), 1000)
    page = reader.events(tenant, target=f"group:{group.id}", limit=limit)
    if group.type == "role_group":  # what was done with the role, too (role requests, assignments)
        page += reader.events(tenant, target=f"role:{group.id}", limit=limit)
        page = sorted({e["id"]: e for e in page}.values(), key=lambda e: e["seq"], reverse=True)[:limit]
    return jsonify({"events": page})
