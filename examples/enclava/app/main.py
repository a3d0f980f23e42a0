"""The Enclava example's FastAPI app: every audited operation of seed 003.

Each request runs in one SQLAlchemy session; ``audit_service.log(db, entry)``
records the entry only once that session commits. ``hashtrail.asgi``
supplies the request context (client IP through the trusted proxy, user
agent, request id) that Enclava's constructors leave to the caller.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Dict, Iterator, Optional

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import hashtrail
from hashtrail.asgi import HashtrailMiddleware

from . import audit_service as audit
from .audit_log import AuditAction, AuditLog
from .models import APIKey, Budget, Module, Permission, Setting, User, UserSession, hash_secret, make_sessionmaker

SessionLocal = make_sessionmaker(os.environ.get("ENCLAVA_DATABASE_URL", "sqlite:///./enclava.sqlite3"))
if os.environ.get("HASHTRAIL_API_KEY") and not audit.configured():
    # HASHTRAIL_API_KEY: an ingest key of the tenant; HASHTRAIL_READ_KEY: a read key for the audit endpoints.
    audit.configure(os.environ.get("HASHTRAIL_URL", "http://127.0.0.1:8080"), os.environ["HASHTRAIL_API_KEY"],
                    os.environ.get("HASHTRAIL_READ_KEY", ""))
app = FastAPI(title="Enclava (Hashtrail example)")
app.add_middleware(HashtrailMiddleware,
                   trusted_proxies=[p for p in os.environ.get("ENCLAVA_TRUSTED_PROXIES", "127.0.0.1").split(",") if p])


def get_db() -> Iterator[Session]:
    """One session per request. Endpoints commit, as Enclava's do; what is not
    committed when the request ends (an error) is rolled back, and the audit
    entries logged in it are dropped with it."""
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def current_user(request: Request, authorization: str = Header("")) -> Dict[str, Any]:
    """The signed-in user (Bearer session token). Async, so the actor it sets reaches the endpoint."""
    token = authorization[7:] if authorization.startswith("Bearer ") else ""
    db = SessionLocal()
    try:
        s = db.query(UserSession).filter_by(token_hash=hash_secret(token)).first() if token else None
        user = db.get(User, s.user_id) if s else None
        if user is None:
            raise HTTPException(401, "not signed in")
        hashtrail.set_actor({"type": "user", "id": str(user.id), "email": user.email})
        hashtrail.set_context(session_id=s.id)
        return {"id": user.id, "email": user.email, "is_superuser": user.is_superuser, "session_id": s.id}
    finally:
        db.close()


@app.post("/api/v1/users", status_code=201)
def register(body: Dict[str, Any], db: Session = Depends(get_db)) -> Dict[str, Any]:
    u = User(email=body["email"], password_hash=hash_secret(body["password"]), is_superuser=bool(body.get("admin")))
    db.add(u)
    db.flush()
    audit.log(db, AuditLog(user_id=u.id, action=AuditAction.CREATE, resource_type="user", resource_id=str(u.id),
                           description="User registered: %s" % u.email, category="access",
                           new_values={"email": u.email, "is_superuser": u.is_superuser, "password": "set"},
                           tags=["user", "create"]))
    db.commit()
    return {"id": u.id}


@app.post("/api/v1/auth/login")
def login(body: Dict[str, Any], db: Session = Depends(get_db)) -> Dict[str, Any]:
    user = db.query(User).filter_by(email=body.get("email", "")).first()
    if user is None or not user.check_password(body.get("password", "")):
        audit.log_now(AuditLog.create_login_event(user.id if user else None, success=False,
                                                  error_message="invalid email or password"))
        raise HTTPException(401, "invalid email or password")
    token, sid = secrets.token_urlsafe(32), "sess_" + secrets.token_hex(8)
    db.add(UserSession(id=sid, token_hash=hash_secret(token), user_id=user.id))
    audit.log(db, AuditLog.create_login_event(user.id, success=True, session_id=sid))
    db.commit()
    return {"access_token": token, "session_id": sid}


@app.post("/api/v1/auth/logout")
def logout(user: Dict[str, Any] = Depends(current_user), db: Session = Depends(get_db)) -> Dict[str, Any]:
    db.query(UserSession).filter_by(id=user["session_id"]).delete()
    audit.log(db, AuditLog.create_logout_event(user["id"], session_id=user["session_id"]))
    db.commit()
    return {"ok": True}


@app.post("/api/v1/api-keys", status_code=201)
def create_api_key(body: Dict[str, Any], user: Dict[str, Any] = Depends(current_user),
                   db: Session = Depends(get_db)) -> Dict[str, Any]:
    secret = "en_" + secrets.token_urlsafe(24)
    k = APIKey(user_id=user["id"], name=body["name"], key_hash=hash_secret(secret), key_prefix=secret[:7])
    db.add(k)
    try:
        db.flush()  # a duplicate name fails here; the rollback drops the audit entry with it
    except IntegrityError:
        raise HTTPException(409, "an API key with this name exists")
    audit.log(db, AuditLog.create_api_key_event(user["id"], AuditAction.API_KEY_CREATE, k.id, k.name))
    db.commit()
    return {"id": k.id, "key": secret}


@app.delete("/api/v1/api-keys/{key_id}")
def delete_api_key(key_id: int, user: Dict[str, Any] = Depends(current_user),
                   db: Session = Depends(get_db)) -> Dict[str, Any]:
    k = db.query(APIKey).filter_by(id=key_id, user_id=user["id"]).first()
    if k is None:
        raise HTTPException(404, "no such key")
    db.delete(k)
    audit.log(db, AuditLog.create_api_key_event(user["id"], AuditAction.API_KEY_DELETE, k.id, k.name))
    db.commit()
    return {"ok": True}


@app.post("/api/v1/budgets", status_code=201)
def create_budget(body: Dict[str, Any], user: Dict[str, Any] = Depends(current_user),
                  db: Session = Depends(get_db)) -> Dict[str, Any]:
    b = Budget(user_id=user["id"], name=body["name"], limit_cents=int(body["limit_cents"]))
    db.add(b)
    db.flush()
    audit.log(db, AuditLog.create_budget_event(user["id"], AuditAction.BUDGET_CREATE, b.id, b.name,
                                               details={"limit_cents": b.limit_cents}))
    db.commit()
    return {"id": b.id}


@app.put("/api/v1/budgets/{budget_id}")
def update_budget(budget_id: int, body: Dict[str, Any], user: Dict[str, Any] = Depends(current_user),
                  db: Session = Depends(get_db)) -> Dict[str, Any]:
    b = _budget(db, budget_id, user)
    old = {"name": b.name, "limit_cents": b.limit_cents, "period": b.period}
    for f in ("name", "limit_cents", "period"):
        if f in body:
            setattr(b, f, body[f])
    new = {"name": b.name, "limit_cents": b.limit_cents, "period": b.period}
    changed = [f for f in old if old[f] != new[f]]
    audit.log(db, AuditLog.create_data_change_event(
        user["id"], AuditAction.UPDATE, "budget", str(b.id), "Budget updated: %s" % b.name,
        {f: old[f] for f in changed}, {f: new[f] for f in changed}))
    db.commit()
    return new


@app.post("/api/v1/budgets/{budget_id}/usage")
def add_usage(budget_id: int, body: Dict[str, Any], user: Dict[str, Any] = Depends(current_user),
              db: Session = Depends(get_db)) -> Dict[str, Any]:
    """LLM usage charged to a budget; going over it records budget_exceed."""
    b = _budget(db, budget_id, user)
    b.spent_cents += int(body["cents"])
    exceeded = b.spent_cents > b.limit_cents
    if exceeded:
        e = AuditLog.create_budget_event(user["id"], AuditAction.BUDGET_EXCEED, b.id, b.name,
                                         details={"spent_cents": b.spent_cents, "limit_cents": b.limit_cents},
                                         success=False)
        e.error_message = "budget exceeded"
        e.add_tag("over_limit")
        e.update_metadata("model", body.get("model", ""))
        audit.log(db, e)
    db.commit()
    return {"spent_cents": b.spent_cents, "exceeded": exceeded}


def _budget(db: Session, budget_id: int, user: Dict[str, Any]) -> Budget:
    b = db.query(Budget).filter_by(id=budget_id, user_id=user["id"]).first()
    if b is None:
        raise HTTPException(404, "no such budget")
    return b


def _require_admin(user: Dict[str, Any], what: str, db: Session) -> None:
    if not user["is_superuser"]:
        audit.log_now(AuditLog.create_security_event(
            user["id"], "unauthorized_admin_action", "Non-admin attempted: %s" % what,
            details={"attempted": what}))
        raise HTTPException(403, "administrators only")


@app.post("/api/v1/modules/{name}/{verb}")
def toggle_module(name: str, verb: str, user: Dict[str, Any] = Depends(current_user),
                  db: Session = Depends(get_db)) -> Dict[str, Any]:
    if verb not in ("enable", "disable"):
        raise HTTPException(404, "enable or disable")
    _require_admin(user, "module %s %s" % (verb, name), db)
    m = db.get(Module, name) or Module(name=name)
    m.enabled = verb == "enable"
    db.add(m)
    action = AuditAction.MODULE_ENABLE if m.enabled else AuditAction.MODULE_DISABLE
    audit.log(db, AuditLog.create_module_event(user["id"], action, name, details={"enabled": m.enabled}))
    db.commit()
    return {"name": name, "enabled": m.enabled}


@app.post("/api/v1/users/{user_id}/permissions/{permission}")
def grant(user_id: int, permission: str, user: Dict[str, Any] = Depends(current_user),
          db: Session = Depends(get_db)) -> Dict[str, Any]:
    _require_admin(user, "grant %s" % permission, db)
    db.add(Permission(user_id=user_id, permission=permission))
    audit.log(db, AuditLog.create_permission_event(user["id"], AuditAction.PERMISSION_GRANT, user_id, permission))
    db.commit()
    return {"ok": True}


@app.delete("/api/v1/users/{user_id}/permissions/{permission}")
def revoke(user_id: int, permission: str, user: Dict[str, Any] = Depends(current_user),
           db: Session = Depends(get_db)) -> Dict[str, Any]:
    _require_admin(user, "revoke %s" % permission, db)
    db.query(Permission).filter_by(user_id=user_id, permission=permission).delete()
    audit.log(db, AuditLog.create_permission_event(user["id"], AuditAction.PERMISSION_REVOKE, user_id, permission))
    db.commit()
    return {"ok": True}


@app.put("/api/v1/settings/{key}")
def put_setting(key: str, body: Dict[str, Any], user: Dict[str, Any] = Depends(current_user),
                db: Session = Depends(get_db)) -> Dict[str, Any]:
    _require_admin(user, "settings %s" % key, db)
    s = db.get(Setting, key)
    old = s.value if s else None
    if s is None:
        s = Setting(key=key, value="")
        db.add(s)
    s.value = str(body["value"])
    e = AuditLog(user_id=user["id"], action=AuditAction.SYSTEM_CONFIG, resource_type="setting", resource_id=key,
                 description="Setting changed: %s" % key, severity="medium", category="system",
                 old_values={key: old}, new_values={key: s.value}, tags=["settings"])
    audit.log(db, e)
    db.commit()
    return {"key": key, "value": s.value}


@app.get("/api/v1/audit")
def audit_logs(q: Optional[str] = None, security: bool = False, high: bool = False, limit: int = 100,
               user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    """Enclava's audit log endpoint, answered from Hashtrail (``q``: search syntax)."""
    if not user["is_superuser"]:
        raise HTTPException(403, "administrators only")
    parts = [p for p in (q, "category:security,authentication,authorization" if security else None,
                         "severity:>=high" if high else None) if p]
    return {"logs": audit.as_dicts(audit.search(" ".join(parts) or None, limit=limit))}


@app.get("/api/v1/audit/security")
def security(user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    if not user["is_superuser"]:
        raise HTTPException(403, "administrators only")
    return {"logs": audit.as_dicts(audit.security_events(limit=1000))}


@app.get("/api/v1/audit/high-severity")
def high_severity(user: Dict[str, Any] = Depends(current_user)) -> Dict[str, Any]:
    if not user["is_superuser"]:
        raise HTTPException(403, "administrators only")
    return {"logs": audit.as_dicts(audit.high_severity_events(limit=1000))}
