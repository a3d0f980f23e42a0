"""Access's state-changing operations, each one transaction.

Each public function checks what it needs, changes the database, queues its
audit events with :func:`audit.record`, and commits. The events reach
Hashtrail only after the commit succeeded: an operation that fails anywhere
(a check, a constraint at commit) leaves no event behind.
"""

from . import audit
from .models import (
    AccessRequest,
    App,
    OktaGroup,
    OktaUser,
    OktaUserGroupMember,
    RoleGroupMap,
    RoleRequest,
    Tag,
    db,
    utcnow,
)


class OperationError(Exception):
    """An operation refused: ``status`` is the HTTP status to answer."""

    def __init__(self, status, message, field=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _require(cond, status, message, field=None):
    if not cond:
        raise OperationError(status, message, field)


def _is_owner(user, group):
    if user.is_admin:
        return True
    return (
        OktaUserGroupMember.query.filter_by(user_id=user.id, group_id=group.id, is_owner=True).first()
        is not None
    )


def _require_admin(user):
    _require(user.is_admin, 403, "only Access admins may do this")


def _require_owner(user, group):
    _require(_is_owner(user, group), 403, f"only owners of {group.name} may do this")


def _changes(obj, fields, values):
    """Apply ``values`` to ``obj`` and return Hashtrail change entries."""
    changes = []
    for name in fields:
        if name not in values:
            continue
        old, new = getattr(obj, name), values[name]
        if old != new:
            setattr(obj, name, new)
            changes.append({"field": name, "old": old, "new": new})
    return changes


def _set_tags(obj, tag_ids):
    """Replace ``obj.tags``; returns the change entry, or None."""
    old = sorted(t.name for t in obj.tags)
    tags = []
    for tid in tag_ids:
        tag = db.session.get(Tag, tid)
        _require(tag is not None, 404, f"no tag {tid}", "tags_to_add")
        tags.append(tag)
    obj.tags = tags
    new = sorted(t.name for t in tags)
    return None if old == new else {"field": "tags", "old": old, "new": new}


# Group membership -------------------------------------------------------


def _add_user(user, group, owner, reason, ending_at):
    row = OktaUserGroupMember.query.filter_by(user_id=user.id, group_id=group.id, is_owner=owner).first()
    if row is None:
        row = OktaUserGroupMember(user_id=user.id, group_id=group.id, is_owner=owner)
        db.session.add(row)
    row.ended_at = ending_at
    row.created_reason = reason or ""
    audit.record({
        "action": "owner.add" if owner else "member.add",
        "category": "authorization",
        "severity": "medium" if owner else "low",
        "reason": reason or None,
        "targets": [audit.group_target(group), audit.user_target(user)],
        "metadata": {"ending_at": audit.iso(ending_at), "group_type": group.type},
    })


def _remove_user(user, group, owner):
    row = OktaUserGroupMember.query.filter_by(user_id=user.id, group_id=group.id, is_owner=owner).first()
    if row is None:
        return
    db.session.delete(row)
    audit.record({
        "action": "owner.remove" if owner else "member.remove",
        "category": "authorization",
        "severity": "low",
        "targets": [audit.group_target(group), audit.user_target(user)],
        "metadata": {"group_type": group.type},
    })


def modify_group_users(current, group, members_to_add=(), members_to_remove=(), owners_to_add=(),
                       owners_to_remove=(), reason="", ending_at=None):
    """Add and remove members and owners of ``group`` in one transaction."""
    _require_owner(current, group)
    for ids, owner, add in ((members_to_add, False, True), (owners_to_add, True, True),
                            (members_to_remove, False, False), (owners_to_remove, True, False)):
        for uid in ids:
            user = db.session.get(OktaUser, uid)
            _require(user is not None, 404, f"no user {uid}")
            if add:
                _add_user(user, group, owner, reason, ending_at)
            else:
                _remove_user(user, group, owner)
    db.session.commit()


# Role groups ------------------------------------------------------------


def _assign_role(role, group, owner, reason, ending_at):
    row = RoleGroupMap.query.filter_by(role_group_id=role.id, group_id=group.id, is_owner=owner).first()
    if row is None:
        row = RoleGroupMap(role_group_id=role.id, group_id=group.id, is_owner=owner)
        db.session.add(row)
    row.ended_at = ending_at
    row.created_reason = reason or ""
    audit.record({
        "action": "role.assign",
        "category": "authorization",
        "severity": "medium",
        "reason": reason or None,
        "targets": [audit.role_target(role), audit.group_target(group)],
        "metadata": {"as_owner": owner, "ending_at": audit.iso(ending_at)},
    })


def modify_role_groups(current, role, groups_to_add=(), groups_to_remove=(), owner_groups_to_add=(),
                       owner_groups_to_remove=(), reason="", ending_at=None):
    """Assign the role group ``role`` to groups (as member or owner), or unassign it."""
    _require(role.type == "role_group", 400, f"{role.name} is not a role group", "role_id")
    _require_owner(current, role)
    for ids, owner, add in ((groups_to_add, False, True), (owner_groups_to_add, True, True),
                            (groups_to_remove, False, False), (owner_groups_to_remove, True, False)):
        for gid in ids:
            group = db.session.get(OktaGroup, gid)
            _require(group is not None and group.deleted_at is None, 404, f"no group {gid}")
            _require(group.type != "role_group", 400, "a role cannot be assigned to a role", "groups_to_add")
            if add:
                _assign_role(role, group, owner, reason, ending_at)
                continue
            row = RoleGroupMap.query.filter_by(role_group_id=role.id, group_id=group.id, is_owner=owner).first()
            if row is None:
                continue
            db.session.delete(row)
            audit.record({
                "action": "role.unassign",
                "category": "authorization",
                "severity": "low",
                "targets": [audit.role_target(role), audit.group_target(group)],
                "metadata": {"as_owner": owner},
            })
    db.session.commit()


# Access requests ----------------------------------------------------------


def create_access_request(current, group, ownership, reason, ending_at=None):
    """``current`` asks to join (or own) ``group``."""
    _require(bool(reason and reason.strip()), 400, "a reason is required", "reason")
    req = AccessRequest(requester_user_id=current.id, requested_group_id=group.id,
                        request_ownership=ownership, request_reason=reason)
    db.session.add(req)
    db.session.flush()
    audit.record({
        "action": "access_request.create",
        "category": "access",
        "reason": reason,
        "targets": [{"type": "access_request", "id": str(req.id)}, audit.group_target(group)],
        "metadata": {"request_ownership": ownership, "ending_at": audit.iso(ending_at)},
    })
    db.session.commit()
    return req


def _resolve(req, current, approved, reason):
    _require(req.status == "PENDING", 409, f"request {req.id} is already {req.status.lower()}", "status")
    _require_owner(current, req.requested_group)
    _require(current.id != req.requester_user_id or current.is_admin, 403, "you cannot approve your own request")
    req.status = "APPROVED" if approved else "REJECTED"
    req.resolver_user_id = current.id
    req.resolution_reason = reason
    req.resolved_at = utcnow()


def resolve_access_request(current, req, approved, reason, ending_at=None):
    """Approve (adding the requester to the group) or reject an access request."""
    _resolve(req, current, approved, reason)
    group, requester = req.requested_group, req.requester
    audit.record({
        "action": "access_request.approve" if approved else "access_request.reject",
        "category": "access",
        "severity": "medium" if approved else "info",
        "reason": reason or None,
        "targets": [{"type": "access_request", "id": str(req.id)}, audit.group_target(group),
                    audit.user_target(requester)],
        "metadata": {"request_ownership": req.request_ownership, "request_reason": req.request_reason,
                     "ending_at": audit.iso(ending_at)},
    })
    if approved:
        _add_user(requester, group, req.request_ownership, reason, ending_at)
    db.session.commit()


def create_role_request(current, role, group, ownership, reason):
    """An owner of the role group ``role`` asks for it to gain ``group``."""
    _require(role.type == "role_group", 400, f"{role.name} is not a role group", "role_id")
    _require_owner(current, role)
    _require(bool(reason and reason.strip()), 400, "a reason is required", "reason")
    req = RoleRequest(requester_user_id=current.id, requester_role_id=role.id, requested_group_id=group.id,
                      request_ownership=ownership, request_reason=reason)
    db.session.add(req)
    db.session.flush()
    audit.record({
        "action": "role_request.create",
        "category": "access",
        "reason": reason,
        "targets": [{"type": "role_request", "id": str(req.id)}, audit.role_target(role),
                    audit.group_target(group)],
        "metadata": {"request_ownership": ownership},
    })
    db.session.commit()
    return req


def resolve_role_request(current, req, approved, reason, ending_at=None):
    """Approve (assigning the role to the group) or reject a role request."""
    _resolve(req, current, approved, reason)
    audit.record({
        "action": "role_request.approve" if approved else "role_request.reject",
        "category": "access",
        "severity": "medium" if approved else "info",
        "reason": reason or None,
        "targets": [{"type": "role_request", "id": str(req.id)}, audit.role_target(req.requester_role),
                    audit.group_target(req.requested_group), audit.user_target(req.requester)],
        "metadata": {"request_ownership": req.request_ownership, "request_reason": req.request_reason},
    })
    if approved:
        _assign_role(req.requester_role, req.requested_group, req.request_ownership, reason, ending_at)
    db.session.commit()


# Groups, apps and tags --------------------------------------------------------


def create_group(current, name, description="", type="okta_group", app_id=None, tag_ids=()):
    """Create a group (admins)."""
    _require_admin(current)
    group = OktaGroup(name=name, description=description, type=type, app_id=app_id)
    db.session.add(group)
    _set_tags(group, tag_ids)
    db.session.flush()
    audit.record({
        "action": "group.create",
        "category": "authorization",
        "targets": [audit.group_target(group)],
        "metadata": {"group_type": type, "app_id": app_id, "tags": sorted(t.name for t in group.tags)},
    })
    db.session.commit()
    return group


def update_group(current, group, values, tag_ids=None):
    """Rename or re-describe a group, or change its tags (owners)."""
    _require_owner(current, group)
    before = audit.group_target(group)
    changes = _changes(group, ("name", "description"), values)
    if tag_ids is not None:
        tag_change = _set_tags(group, tag_ids)
        if tag_change:
            changes.append(tag_change)
    if not changes:
        return group
    audit.record({
        "action": "group.update",
        "category": "authorization",
        "severity": "low",
        "targets": [before],
        "changes": changes,
    })
    db.session.commit()
    return group


def delete_group(current, group):
    """Delete a group with its memberships and role mappings (admins); its
    pending requests must be resolved first."""
    _require_admin(current)
    _require(group.deleted_at is None, 404, f"group {group.id} is already deleted")
    OktaUserGroupMember.query.filter_by(group_id=group.id).delete()
    RoleGroupMap.query.filter((RoleGroupMap.group_id == group.id) | (RoleGroupMap.role_group_id == group.id)).delete()
    pending = AccessRequest.query.filter_by(requested_group_id=group.id, status="PENDING").count()
    pending += RoleRequest.query.filter(
        ((RoleRequest.requested_group_id == group.id) | (RoleRequest.requester_role_id == group.id))
        & (RoleRequest.status == "PENDING")).count()
    _require(pending == 0, 409, f"{group.name} has {pending} pending requests: resolve them first")
    group.deleted_at = utcnow()
    audit.record({
        "action": "group.delete",
        "category": "authorization",
        "severity": "medium",
        "targets": [audit.group_target(group)],
        "metadata": {"group_type": group.type},
    })
    db.session.commit()


def create_app(current, name, description="", tag_ids=()):
    """Create an app and its owners' app group (admins)."""
    _require_admin(current)
    app = App(name=name, description=description)
    db.session.add(app)
    _set_tags(app, tag_ids)
    db.session.flush()
    owners = OktaGroup(name=f"App-{name}-Owners", type="app_group", app_id=app.id)
    db.session.add(owners)
    db.session.flush()
    audit.record({
        "action": "app.create",
        "category": "configuration",
        "targets": [audit.app_target(app), audit.group_target(owners)],
        "metadata": {"tags": sorted(t.name for t in app.tags)},
    })
    db.session.commit()
    return app


def update_app(current, app, values, tag_ids=None):
    """Rename or re-describe an app, or change its tags (admins)."""
    _require_admin(current)
    before = audit.app_target(app)
    changes = _changes(app, ("name", "description"), values)
    if tag_ids is not None:
        tag_change = _set_tags(app, tag_ids)
        if tag_change:
            changes.append(tag_change)
    if not changes:
        return app
    audit.record({"action": "app.update", "category": "configuration", "targets": [before], "changes": changes})
    db.session.commit()
    return app


def delete_app(current, app):
    """Delete an app and its app groups (admins)."""
    _require_admin(current)
    _require(app.deleted_at is None, 404, f"app {app.id} is already deleted")
    groups = OktaGroup.query.filter_by(app_id=app.id, deleted_at=None).all()
    for g in groups:
        OktaUserGroupMember.query.filter_by(group_id=g.id).delete()
        RoleGroupMap.query.filter_by(group_id=g.id).delete()
        g.deleted_at = utcnow()
    audit.record({
        "action": "app.delete",
        "category": "configuration",
        "severity": "medium",
        "targets": [audit.app_target(app)] + [audit.group_target(g) for g in groups],
    })
    app.deleted_at = utcnow()
    db.session.commit()


def create_tag(current, name, description="", constraints=None):
    """Create a tag (admins)."""
    _require_admin(current)
    tag = Tag(name=name, description=description, constraints=constraints or {})
    db.session.add(tag)
    db.session.flush()
    audit.record({
        "action": "tag.create",
        "category": "configuration",
        "targets": [audit.tag_target(tag)],
        "metadata": {"constraints": tag.constraints},
    })
    db.session.commit()
    return tag


def update_tag(current, tag, values):
    """Change a tag's name, description, constraints or enabled flag (admins)."""
    _require_admin(current)
    before = audit.tag_target(tag)
    changes = _changes(tag, ("name", "description", "constraints", "enabled"), values)
    if not changes:
        return tag
    audit.record({"action": "tag.update", "category": "configuration", "targets": [before], "changes": changes})
    db.session.commit()
    return tag


def delete_tag(current, tag):
    """Delete a tag, taking it off every group and app (admins)."""
    _require_admin(current)
    for model in (OktaGroup, App):
        for obj in model.query.filter(model.tags.any(Tag.id == tag.id)).all():
            obj.tags = [t for t in obj.tags if t.id != tag.id]
    audit.record({"action": "tag.delete", "category": "configuration", "severity": "medium",
                  "targets": [audit.tag_target(tag)]})
    db.session.delete(tag)
    db.session.commit()
