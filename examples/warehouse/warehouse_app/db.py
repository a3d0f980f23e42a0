"""The database session of a request, committed or rolled back with it.

Like Warehouse's ``pyramid_tm`` set-up: ``request.db`` is one SQLAlchemy
session per request; the transaction commits when the view answers below
400 and rolls back otherwise (or on an exception). A commit refused by a
constraint answers 409. Audit events tied to the transaction
(``hashtrail.sqlalchemy.record_after_commit``) follow the same fate.
"""

from pyramid.response import Response
from pyramid.tweens import EXCVIEW
from sqlalchemy import create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from .models import Base


def problem(status, title, field=None):
    """An RFC 9457 problem answer, naming the field at fault."""
    body = {"type": "about:blank", "title": title, "status": status}
    if field:
        body["errors"] = [{"field": field, "message": title}]
    resp = Response(json_body=body, status=status)
    resp.content_type = "application/problem+json"
    return resp


def includeme(config):
    """Set up the engine, ``request.db`` and the transaction tween."""
    engine = create_engine(config.get_settings().get("sqlalchemy.url", "sqlite:///warehouse.db"), future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    maker = sessionmaker(bind=engine, future=True)
    config.registry.dbmaker = maker

    def db(request):
        session = maker()
        request.add_finished_callback(lambda _r: session.close())
        return session

    config.add_request_method(db, "db", reify=True)
    config.add_tween("warehouse_app.db.tm_tween_factory", over=EXCVIEW)


def tm_tween_factory(handler, registry):
    """Commit the request's session when the answer is a success."""

    def tm_tween(request):
        try:
            response = handler(request)
        except Exception:
            if "db" in request.__dict__:
                request.db.rollback()
            raise
        if "db" not in request.__dict__:
            return response
        if response.status_code >= 400:
            request.db.rollback()
            return response
        try:
            request.db.commit()
        except IntegrityError:
            request.db.rollback()
            return problem(409, "the change conflicts with existing data")
        return response

    return tm_tween
