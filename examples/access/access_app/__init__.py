"""A cut-down Discord Access (Flask + SQLAlchemy) that audits into Hashtrail.

``create_app(config)`` builds the app. Configuration (Flask config keys, or
the same names in the environment):

- ``HASHTRAIL_URL``, ``HASHTRAIL_API_KEY`` (an ``ingest`` key),
  ``HASHTRAIL_TENANT``: where the audit events go;
- ``HASHTRAIL_READ_KEY``: a ``read`` key for the group audit page;
- ``HASHTRAIL_TRUSTED_PROXIES``: the proxies whose ``X-Forwarded-For`` is
  believed (Access runs behind Cloudflare Access);
- ``SQLALCHEMY_DATABASE_URI``: Access's own database.
"""

import os

from flask import Flask
from sqlalchemy import event

from hashtrail.flask import Hashtrail

from .models import db
from .streaming import register_cli
from .views import actor, api

CONFIG_KEYS = ("HASHTRAIL_URL", "HASHTRAIL_API_KEY", "HASHTRAIL_TENANT", "HASHTRAIL_READ_KEY",
               "HASHTRAIL_TRUSTED_PROXIES", "SQLALCHEMY_DATABASE_URI")


def _sqlite_foreign_keys(dbapi_connection, _record):
    """SQLite checks foreign keys only when asked, once per connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


def create_app(config=None):
    """The Access app, its database created, auditing into Hashtrail."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///access.db"
    app.config["HASHTRAIL_SERVICE"] = {"name": "access", "version": "1.0"}
    for key in CONFIG_KEYS:
        if key in os.environ:
            app.config[key] = os.environ[key]
    app.config.update(config or {})
    db.init_app(app)
    Hashtrail(app, actor_loader=actor)
    app.register_blueprint(api)
    register_cli(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_foreign_keys)
        db.create_all()
    return app
