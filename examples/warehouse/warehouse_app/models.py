"""Warehouse's data model, cut down to what its audit events are about.

Warehouse (PyPI) kept two event tables, ``UserEvent`` and ``ProjectEvent``
(tag, time, IP, JSON ``additional``), filled by ``user.record_event(...)`` and
``project.record_event(...)``. Here the same calls send the events to
Hashtrail once the request's transaction commits; the tables are gone.
"""

from datetime import datetime, timezone

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base, relationship

from . import audit

Base = declarative_base()


def utcnow():
    """The current time in UTC (stored naive)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class HasEvents:
    """``record_event`` for users and projects, as Warehouse spells it."""

    def record_event(self, *, tag, request, additional=None, action=None, targets=None, **fields):
        """Queue an audit event about this object for after the commit.

        ``tag`` is Warehouse's event tag (``account:login:success``); the
        Hashtrail action is ``action`` or the one the tag maps to.
        """
        audit.record_event(request, self, tag=tag, additional=additional, action=action,
                           extra_targets=targets, **fields)


class User(Base, HasEvents):
    """An account."""

    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    username = Column(String(50), unique=True, nullable=False)
    email = Column(String(255), unique=True, nullable=False)
    password = Column(String(255), nullable=False)
    totp_secret = Column(String(64))
    created = Column(DateTime, nullable=False, default=utcnow)

    @property
    def has_two_factor(self):
        """Whether the account has a second factor."""
        return self.totp_secret is not None

    def audit_target(self):
        """The Hashtrail target naming this user."""
        return {"type": "user", "id": str(self.id), "name": self.username}


class Project(Base, HasEvents):
    """A project on the index."""

    __tablename__ = "projects"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), unique=True, nullable=False)
    created = Column(DateTime, nullable=False, default=utcnow)
    releases = relationship("Release", back_populates="project", order_by="Release.id")
    roles = relationship("Role", back_populates="project")

    def audit_target(self):
        """The Hashtrail target naming this project."""
        return {"type": "project", "id": str(self.id), "name": self.name}


class Role(Base):
    """A user's role on a project: ``Owner`` or ``Maintainer``."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("user_id", "project_id", name="one_role"),)
    id = Column(Integer, primary_key=True)
    role_name = Column(String(20), nullable=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    project_id = Column(Integer, ForeignKey("projects.id"), nullable=False)
    user = relationship("User")
    project = relationship("Project", back_populates="roles")


class Release(Base):
    """One version of a project, uploaded with an API token."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("project_id", "version", name="one_version"),)
    id = Column(Integer, primary_key=True)
    project_id = Column(Integer, ForeignKey("projects.id"), nullable=False)
    version = Column(String(100), nullable=False)
    yanked = Column(Boolean, nullable=False, default=False)
    yanked_reason = Column(Text)
    uploader_id = Column(Integer, ForeignKey("users.id"))  # None once the uploader deleted their account
    created = Column(DateTime, nullable=False, default=utcnow)
    project = relationship("Project", back_populates="releases")
    uploader = relationship("User")


class APIToken(Base):
    """An upload token (``pypi-...``): for all the user's projects or one."""

    __tablename__ = "api_tokens"
    id = Column(String(32), primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    description = Column(String(100), nullable=False)
    secret_hash = Column(String(64), nullable=False)
    project_id = Column(Integer, ForeignKey("projects.id"))
    created = Column(DateTime, nullable=False, default=utcnow)
    last_used = Column(DateTime)
    user = relationship("User")
    project = relationship("Project")
