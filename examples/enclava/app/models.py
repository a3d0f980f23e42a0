"""Enclava's tables that the example changes (users, API keys, budgets, modules, settings)."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()


def hash_secret(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    email = Column(String, unique=True, nullable=False)
    password_hash = Column(String, nullable=False)
    is_superuser = Column(Boolean, default=False)

    def check_password(self, password: str) -> bool:
        return secrets.compare_digest(self.password_hash, hash_secret(password))


class UserSession(Base):
    __tablename__ = "sessions"
    id = Column(String, primary_key=True)  # the session id (recorded), never the token
    token_hash = Column(String, unique=True, nullable=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    created_at = Column(DateTime, default=datetime.datetime.utcnow)


class APIKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    name = Column(String, nullable=False)
    key_hash = Column(String, nullable=False)
    key_prefix = Column(String, nullable=False)


class Budget(Base):
    __tablename__ = "budgets"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    name = Column(String, nullable=False)
    limit_cents = Column(Integer, nullable=False)
    spent_cents = Column(Integer, default=0, nullable=False)
    period = Column(String, default="monthly", nullable=False)


class Module(Base):
    __tablename__ = "modules"
    name = Column(String, primary_key=True)
    enabled = Column(Boolean, default=False, nullable=False)


class Permission(Base):
    __tablename__ = "user_permissions"
    __table_args__ = (UniqueConstraint("user_id", "permission"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    permission = Column(String, nullable=False)


class Setting(Base):
    __tablename__ = "settings"
    key = Column(String, primary_key=True)
    value = Column(Text, nullable=False)


def make_sessionmaker(url: str) -> sessionmaker:
    """The engine and session factory; creates the tables."""
    engine = create_engine(url, connect_args={"check_same_thread": False} if url.startswith("sqlite") else {})
    Base.metadata.create_all(engine)
    return sessionmaker(bind=engine, expire_on_commit=False)
