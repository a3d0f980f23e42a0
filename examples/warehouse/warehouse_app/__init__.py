"""A cut-down PyPI Warehouse (Pyramid + SQLAlchemy) auditing into Hashtrail.

``main({}, **settings)`` is the WSGI app. Settings:

- ``sqlalchemy.url``: Warehouse's own database;
- ``hashtrail.url``, ``hashtrail.api_key`` (an ``ingest`` key),
  ``hashtrail.tenant``, ``hashtrail.trusted_proxies``: read by
  ``hashtrail.pyramid``;
- ``warehouse.hashtrail_read_key``: reads a user's security history;
- ``warehouse.hashtrail_admin_key``: mints the viewer tokens of the public
  project histories;
- ``warehouse.admins``: user names of the administrators (the admin view);
- ``warehouse.session_secret``: signs the session cookie.
"""

from pyramid.config import Configurator
from pyramid.session import SignedCookieSessionFactory

from .security import SecurityPolicy, actor


def main(global_config=None, **settings):
    """The WSGI app."""
    with Configurator(settings=settings) as config:
        config.set_session_factory(SignedCookieSessionFactory(
            settings.get("warehouse.session_secret", "change-me"), httponly=True, samesite="Lax"))
        config.set_security_policy(SecurityPolicy())
        config.include("hashtrail.pyramid")
        config.set_hashtrail_actor_loader(actor)
        config.include(".db")
        config.include(".routes")
        config.scan(".views")
        return config.make_wsgi_app()
