"""Access's data model, cut down to what its state-changing operations touch.

Discord Access keeps Okta users and groups, the apps that own groups, tags
with constraints, who is a member or owner of which group (directly or
through a role group), and the access and role requests that change it.
"""

from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def utcnow():
    """The current time in UTC (stored naive, as SQLite keeps it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


group_tags = db.Table(
    "group_tag_map",
    db.Column("group_id", db.Integer, db.ForeignKey("okta_group.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.id"), primary_key=True),
)

app_tags = db.Table(
    "app_tag_map",
    db.Column("app_id", db.Integer, db.ForeignKey("app.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.id"), primary_key=True),
)


class OktaUser(db.Model):
    """A person, as synchronised from Okta."""

    id = db.Column(db.String(64), primary_key=True)
    email = db.Column(db.String(255), unique=True, nullable=False)
    display_name = db.Column(db.String(255))
    is_admin = db.Column(db.Boolean, nullable=False, default=False)


class App(db.Model):
    """An application whose access is managed through its app groups
    (deleted ones keep their row, ``deleted_at``)."""

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(255), unique=True, nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    deleted_at = db.Column(db.DateTime)
    tags = db.relationship("Tag", secondary=app_tags, lazy="selectin")


class Tag(db.Model):
    """A label with constraints (e.g. a maximum membership length)."""

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(255), unique=True, nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    constraints = db.Column(db.JSON, nullable=False, default=dict)
    enabled = db.Column(db.Boolean, nullable=False, default=True)


class OktaGroup(db.Model):
    """A group: a plain Okta group, an app group or a role group.

    Deleting one keeps the row (``deleted_at``), as Access does: requests
    and history still point at it."""

    id = db.Column(db.Integer, primary_key=True)
    type = db.Column(db.String(32), nullable=False, default="okta_group")
    name = db.Column(db.String(255), unique=True, nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    app_id = db.Column(db.Integer, db.ForeignKey("app.id"))
    deleted_at = db.Column(db.DateTime)
    app = db.relationship("App")
    tags = db.relationship("Tag", secondary=group_tags, lazy="selectin")

    __table_args__ = (
        db.CheckConstraint("type IN ('okta_group', 'role_group', 'app_group')", name="group_type"),
    )


class OktaUserGroupMember(db.Model):
    """A user's membership (or ownership) of a group."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.String(64), db.ForeignKey("okta_user.id"), nullable=False)
    group_id = db.Column(db.Integer, db.ForeignKey("okta_group.id"), nullable=False)
    is_owner = db.Column(db.Boolean, nullable=False, default=False)
    ended_at = db.Column(db.DateTime)
    created_reason = db.Column(db.Text, nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (db.UniqueConstraint("user_id", "group_id", "is_owner", name="one_membership"),)


class RoleGroupMap(db.Model):
    """A role group granting its members membership (or ownership) of a group."""

    id = db.Column(db.Integer, primary_key=True)
    role_group_id = db.Column(db.Integer, db.ForeignKey("okta_group.id"), nullable=False)
    group_id = db.Column(db.Integer, db.ForeignKey("okta_group.id"), nullable=False)
    is_owner = db.Column(db.Boolean, nullable=False, default=False)
    ended_at = db.Column(db.DateTime)
    created_reason = db.Column(db.Text, nullable=False, default="")

    __table_args__ = (db.UniqueConstraint("role_group_id", "group_id", "is_owner", name="one_role_mapping"),)


class AccessRequest(db.Model):
    """A user asking to become a member or owner of a group."""

    id = db.Column(db.Integer, primary_key=True)
    status = db.Column(db.String(16), nullable=False, default="PENDING")
    requester_user_id = db.Column(db.String(64), db.ForeignKey("okta_user.id"), nullable=False)
    requested_group_id = db.Column(db.Integer, db.ForeignKey("okta_group.id"), nullable=False)
    request_ownership = db.Column(db.Boolean, nullable=False, default=False)
    request_reason = db.Column(db.Text, nullable=False, default="")
    resolver_user_id = db.Column(db.String(64), db.ForeignKey("okta_user.id"))
    resolution_reason = db.Column(db.Text)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    resolved_at = db.Column(db.DateTime)
    requester = db.relationship("OktaUser", foreign_keys=[requester_user_id])
    requested_group = db.relationship("OktaGroup")


class RoleRequest(db.Model):
    """A role's owner asking for the role group to gain a group."""

    id = db.Column(db.Integer, primary_key=True)
    status = db.Column(db.String(16), nullable=False, default="PENDING")
    requester_user_id = db.Column(db.String(64), db.ForeignKey("okta_user.id"), nullable=False)
    requester_role_id = db.Column(db.Integer, db.ForeignKey("okta_group.id"), nullable=False)
    requested_group_id = db.Column(db.Integer, db.ForeignKey("okta_group.id"), nullable=False)
    request_ownership = db.Column(db.Boolean, nullable=False, default=False)
    request_reason = db.Column(db.Text, nullable=False, default="")
    resolver_user_id = db.Column(db.String(64), db.ForeignKey("okta_user.id"))
    resolution_reason = db.Column(db.Text)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    resolved_at = db.Column(db.DateTime)
    requester = db.relationship("OktaUser", foreign_keys=[requester_user_id])
    requester_role = db.relationship("OktaGroup", foreign_keys=[requester_role_id])
    requested_group = db.relationship("OktaGroup", foreign_keys=[requested_group_id])
