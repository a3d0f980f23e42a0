"""``python -m warehouse_app.setup_hashtrail TENANT``: the deploy step that
sets the tenant's retention policy (project events forever, user events 400
days), with ``HASHTRAIL_URL`` and the tenant's admin key in
``HASHTRAIL_ADMIN_KEY``. Running it again changes nothing."""

import json
import os
import sys

import hashtrail

from .history import configure_retention


def main(argv=None):
    """Set the policy and print it."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    admin = hashtrail.Admin(os.environ["HASHTRAIL_URL"], os.environ["HASHTRAIL_ADMIN_KEY"])
    print(json.dumps(configure_retention(admin, argv[0]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
