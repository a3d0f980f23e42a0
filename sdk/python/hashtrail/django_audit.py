"""Model auditing for Django: creates, updates (field diffs, secrets redacted) and
deletes of a model, and members added to or removed from a many-to-many
relation, each recorded on commit. Part of :mod:`hashtrail.django`'s API
(import it from there)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import hashtrail


def _record_on_commit(event: Dict[str, Any], *, using: str, tenants: Optional[List[str]]) -> None:
    from hashtrail.django import record_on_commit

    record_on_commit(event, using=using, tenants=tenants)


def snapshot(instance: Any, fields: Optional[Iterable[str]] = None, exclude: Iterable[str] = ()) -> Dict[str, Any]:
    """The instance's concrete field values as JSON values, keyed by field name.

    Foreign keys are their raw id (``owner`` -> the owner's pk), so taking a
    snapshot never queries the database. ``fields`` keeps only those names.
    """
    keep = set(fields) if fields is not None else None
    skip = set(exclude)
    out: Dict[str, Any] = {}
    for f in instance._meta.concrete_fields:
        if (keep is not None and f.name not in keep) or f.name in skip:
            continue
        out[f.name] = hashtrail.to_json_value(getattr(instance, f.attname))
    return out


def model_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, secret: Iterable[str] = ()
) -> List[Dict[str, Any]]:
    """Wire ``changes`` between two snapshots: ``[{"field", "old", "new"}]``.

    A field whose name is secret (``hashtrail.is_secret_name``: password,
    token, api_key...) or listed in ``secret`` is ``{"field", "redacted":
    true}`` with neither value. A field on one side only has no ``old``
    (added) or no ``new`` (removed). Unchanged fields are left out.
    """
    extra = frozenset(secret)
    return hashtrail.diff(before, after, secret=lambda name: name in extra or hashtrail.is_secret_name(name))


def _default_target(instance: Any, object_type: str) -> Dict[str, Any]:
    t = {"type": object_type, "id": str(instance.pk)}
    name = str(instance)
    if name:
        t["name"] = name[:200]
    return t


def audit_model(
    model: Any,
    *,
    object_type: Optional[str] = None,
    fields: Optional[Iterable[str]] = None,
    exclude: Iterable[str] = (),
    secret: Iterable[str] = (),
    targets: Optional[Callable[[Any], List[Dict[str, Any]]]] = None,
    tenants: Optional[Callable[[Any], Sequence[str]]] = None,
    category: Optional[str] = None,
) -> Callable[[], None]:
    """Record ``<type>.create``, ``<type>.update`` and ``<type>.delete`` for ``model``, on commit.

    ``object_type`` defaults to the model name (``user``); an update carries
    the changed fields (:func:`model_changes`, secrets redacted) and is not
    recorded when nothing audited changed. ``targets(instance)`` names the
    targets (default ``[{type, id: pk, name: str(instance)}]``);
    ``tenants(instance)`` the tenants for an installation-wide key. The old
    values are read from the database before the save (one query per update).
    Returns a function that stops the auditing.
    """
    kind = object_type or model._meta.model_name
    keep = list(fields) if fields is not None else None
    skip = list(exclude)
    uid = "hashtrail.audit_model.%s.%s." % (model._meta.label_lower, kind)
    from django.db.models import signals

    def target_list(instance: Any) -> List[Dict[str, Any]]:
        return list(targets(instance)) if targets else [_default_target(instance, kind)]

    def emit(instance: Any, verb: str, changes: Optional[List[Dict[str, Any]]], using: str) -> None:
        ev: Dict[str, Any] = {"action": "%s.%s" % (kind, verb), "targets": target_list(instance)}
        if category:
            ev["category"] = category
        if changes:
            ev["changes"] = changes
        ts = list(tenants(instance)) if tenants else None
        _record_on_commit(ev, using=using, tenants=ts)

    def pre_save(sender: Any, instance: Any, raw: bool = False, using: Optional[str] = None, **kw: Any) -> None:
        if raw or instance.pk is None:
            instance._hashtrail_before = None
            return
        old = sender._default_manager.using(using).filter(pk=instance.pk).first()
        instance._hashtrail_before = snapshot(old, keep, skip) if old is not None else None

    def post_save(sender: Any, instance: Any, created: bool = False, raw: bool = False, using: str = "default",
                  **kw: Any) -> None:
        if raw:
            return
        before = getattr(instance, "_hashtrail_before", None)
        if created or before is None:
            emit(instance, "create", None, using)
            return
        changes = model_changes(before, snapshot(instance, keep, skip), secret=secret)
        if changes:
            emit(instance, "update", changes, using)

    def post_delete(sender: Any, instance: Any, using: str = "default", **kw: Any) -> None:
        emit(instance, "delete", None, using)

    hooks = [(signals.pre_save, pre_save), (signals.post_save, post_save), (signals.post_delete, post_delete)]
    for sig, fn in hooks:
        sig.connect(fn, sender=model, weak=False, dispatch_uid=uid + fn.__name__)

    def undo() -> None:
        for sig, fn in hooks:
            sig.disconnect(sender=model, dispatch_uid=uid + fn.__name__)

    return undo


def audit_m2m(
    field: Any,
    *,
    add: str,
    remove: str,
    targets: Optional[Callable[[Any, Any], List[Dict[str, Any]]]] = None,
    tenants: Optional[Callable[[Any], Sequence[str]]] = None,
    category: Optional[str] = None,
) -> Callable[[], None]:
    """Record each member added to or removed from a many-to-many relation, on commit.

    ``field`` is the relation's descriptor (``Role.users``, ``Group.user_set``
    or its reverse); changes from either side, and ``clear()``, are recorded
    as one ``add`` or ``remove`` action per pair (``role.assign`` /
    ``role.unassign``, ``member.add`` / ``member.remove``).
    ``targets(owner, member)`` names them (default ``[owner, member]``, each
    ``{type: model name, id, name}``); ``tenants(owner)`` the tenants for an
    installation-wide key. Returns a function that stops the auditing.
    """
    from django.db.models import signals

    m2m = field.field  # the ManyToManyField, from either side's descriptor
    through = m2m.remote_field.through
    own, mem = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()  # the through model's two foreign keys
    uid = "hashtrail.audit_m2m.%s" % through._meta.label_lower

    def emit(owner: Any, member: Any, verb: str, using: str) -> None:
        ts = targets(owner, member) if targets else [_default_target(owner, owner._meta.model_name),
                                                     _default_target(member, member._meta.model_name)]
        ev: Dict[str, Any] = {"action": verb, "targets": ts}
        if category:
            ev["category"] = category
        _record_on_commit(ev, using=using, tenants=list(tenants(owner)) if tenants else None)

    def changed(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any,
                using: str = "default", **kw: Any) -> None:
        if action == "pre_clear":  # who is about to go: clear() names nobody
            mine, other = (mem, own) if reverse else (own, mem)
            rows = through._default_manager.using(using).filter(**{mine: instance.pk})
            instance._hashtrail_cleared = set(rows.values_list(other, flat=True))
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        pks = instance.__dict__.pop("_hashtrail_cleared", set()) if action == "post_clear" else pk_set
        verb = add if action == "post_add" else remove
        for other in model._default_manager.using(using).filter(pk__in=pks or ()).order_by("pk"):
            owner, member = (other, instance) if reverse else (instance, other)
            emit(owner, member, verb, using)

    signals.m2m_changed.connect(changed, sender=through, weak=False, dispatch_uid=uid)

    def undo() -> None:
        signals.m2m_changed.disconnect(sender=through, dispatch_uid=uid)

    return undo
