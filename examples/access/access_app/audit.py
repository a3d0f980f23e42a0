"""The one place Access hands its audit events to Hashtrail.

Every operation builds its event and calls :func:`record` before it
commits. The event is queued on the SQLAlchemy session and sent only after
that session's commit succeeds; a rollback (a constraint violation, a
failed check, an exception) drops it. This replaces the pluggy
``audit_event_logged`` hook of Access PR #360, which fired before some of
an operation's side effects had been committed.
"""

from flask import current_app

import hashtrail.sqlalchemy

from .models import db


def client():
    """The app's Hashtrail client (set up by :class:`hashtrail.flask.Hashtrail`)."""
    return current_app.extensions["hashtrail"].client


def record(event):
    """Record ``event`` once the current transaction commits, never otherwise."""
    hashtrail.sqlalchemy.record_after_commit(db.session(), client(), event)


def user_target(user):
    """A ``user`` target (its name is the person's e-mail address)."""
    return {"type": "user", "id": user.id, "name": user.email}


def group_target(group):
    """A ``group`` target; a role group is a group whose metadata says so."""
    return {"type": "group", "id": str(group.id), "name": group.name}


def role_target(role):
    """A ``role`` target: Access's role groups."""
    return {"type": "role", "id": str(role.id), "name": role.name}


def app_target(app):
    """An ``app`` target."""
    return {"type": "app", "id": str(app.id), "name": app.name}


def tag_target(tag):
    """A ``tag`` target."""
    return {"type": "tag", "id": str(tag.id), "name": tag.name}


def iso(value):
    """An RFC 3339 UTC timestamp for a naive UTC datetime, or None."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
