"""Warehouse's ``record_event`` on top of Hashtrail.

Warehouse tags events ``account:login:success``, ``project:release:add``...
Each tag maps to an action of Hashtrail's standard catalog where there is
one (so ``action:user.*`` and the OCSF exports work as for any app), or to
an action of Warehouse's own (``release.create``, ``release.yank``). The
tag itself is kept in ``metadata.tag``.

Events about a change of the database go through
``hashtrail.sqlalchemy.record_after_commit``: sent once the request's
transaction commits, dropped if it rolls back. Events about an attempt that
changes nothing (a failed sign-in) are recorded at once.
"""

import hashtrail.catalog
import hashtrail.sqlalchemy

#: Warehouse event tag -> Hashtrail action.
ACTIONS = {
    "account:create": "user.create",
    "account:login:success": "user.login",
    "account:login:failure": "user.login_failed",
    "account:logout": "user.logout",
    "account:delete": "user.delete",
    "account:password:change": "user.password_change",
    "account:two_factor:method_added": "user.mfa_enable",
    "account:two_factor:method_removed": "user.mfa_disable",
    "account:api_token:added": "api_key.create",
    "account:api_token:removed": "api_key.revoke",
    "project:create": "project.create",
    "project:role:add": "role.assign",
    "project:role:remove": "role.unassign",
    "project:release:add": "release.create",
    "project:release:yank": "release.yank",
}

#: Warehouse's own actions (not in the standard catalog): category, severity.
OWN_ACTIONS = {
    "release.create": ("resource", "info"),
    "release.yank": ("resource", "low"),
}


def build_event(subject, tag, additional=None, action=None, extra_targets=None, **fields):
    """The Hashtrail event for ``subject.record_event(tag=...)``."""
    action = action or ACTIONS[tag]
    targets = [subject.audit_target()] + list(extra_targets or ())
    meta = dict(additional or {})
    meta["tag"] = tag
    if action in hashtrail.catalog.ENTRIES:
        ev = hashtrail.catalog.event(action, *targets, metadata=meta)
    else:
        category, severity = OWN_ACTIONS[action]
        ev = {"action": action, "category": category, "severity": severity, "targets": targets, "metadata": meta}
    ev.update({k: v for k, v in fields.items() if v is not None})
    return ev


def record_event(request, subject, *, tag, additional=None, action=None, extra_targets=None,
                 after_commit=True, **fields):
    """Record an event about ``subject`` (a User or a Project).

    ``after_commit`` (the default) ties it to the request's transaction;
    False records it now, whatever the transaction does.
    """
    ev = build_event(subject, tag, additional, action, extra_targets, **fields)
    if request.hashtrail is None:
        return
    if after_commit:
        hashtrail.sqlalchemy.record_after_commit(request.db, request.hashtrail, ev)
    else:
        request.hashtrail.record(ev)
