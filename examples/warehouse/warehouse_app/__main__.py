"""``python -m warehouse_app``: serve the example on http://127.0.0.1:6543.

Settings come from the environment: ``HASHTRAIL_URL``, ``HASHTRAIL_API_KEY``
(ingest), ``HASHTRAIL_TENANT``, ``HASHTRAIL_READ_KEY``,
``HASHTRAIL_ADMIN_KEY`` (the tenant's, for viewer tokens),
``WAREHOUSE_DATABASE_URL`` (default ``sqlite:///warehouse.db``).
"""

import os
from wsgiref.simple_server import make_server

from . import main

if __name__ == "__main__":
    env = os.environ
    app = main({}, **{
        "sqlalchemy.url": env.get("WAREHOUSE_DATABASE_URL", "sqlite:///warehouse.db"),
        "hashtrail.url": env["HASHTRAIL_URL"],
        "hashtrail.api_key": env["HASHTRAIL_API_KEY"],
        "hashtrail.tenant": env["HASHTRAIL_TENANT"],
        "hashtrail.service": "warehouse",
        "warehouse.hashtrail_read_key": env["HASHTRAIL_READ_KEY"],
        "warehouse.hashtrail_admin_key": env["HASHTRAIL_ADMIN_KEY"],
        "warehouse.session_secret": env.get("WAREHOUSE_SESSION_SECRET", os.urandom(16).hex()),
    })
    print("serving on http://127.0.0.1:6543")
    make_server("127.0.0.1", 6543, app).serve_forever()
