"""Field managers of requests: Update entries on every write, and server-side apply as a planned write.

:func:`track` wraps any planned create, update or patch (see :mod:`planning`) and records its manager in the
object's ``metadata.managedFields`` (see :mod:`managed_fields` for the rules); :func:`plan_apply` plans an
``application/apply-patch+yaml`` patch: the configuration merged into the live object with field ownership,
conflicts (409 ``Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using
shipway.dev/v1alpha1: .spec.registry.push.registry``, unless ``force=true``) and the removal of fields the
manager stopped applying; the object is created when it does not exist (201).

Both run inside :meth:`writing.Writer.run`'s plan, so a write re-planned after a concurrent change recomputes
its ownership from the object it actually replaces, and a dry run answers the managedFields it would store.
"""

from __future__ import annotations

from typing import Any

from shipway_sandbox.emulator import errors, managed_fields, objects, planning
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.store import ObjectStore

UNSET: Any = object()  # the request did not send metadata.managedFields


def manager_for(field_manager: str | None, user_agent: str | None) -> str:
    """The request's manager: ``fieldManager``, else the User-Agent's prefix (``kubectl``, ``python-httpx``)."""
    return field_manager or managed_fields.manager_from_user_agent(user_agent)


def sent_managed_fields(body: Any) -> Any:
    """The ``metadata.managedFields`` a request's object carries (:data:`UNSET` when none)."""
    if not isinstance(body, dict):
        return UNSET
    meta = objects.meta_of(body)
    return meta.get("managedFields", UNSET)


def _store(write: planning.Write, managers: managed_fields.Managers) -> planning.Write:
    assert write.new is not None
    meta = objects.metadata(write.new)
    listed = managed_fields.encoded(managers)
    if listed:
        meta["managedFields"] = listed
    else:
        meta.pop("managedFields", None)
    if write.action in ("update", "noop") and write.old is not None:
        write.action = "noop" if write.new == write.old else "update"
    return write


def track(write: planning.Write, *, manager: str, sent: Any = UNSET) -> planning.Write:
    """Record ``manager``'s Update in a planned create, update or patch (``sent``: the managedFields the
    request's object carried, which replace the stored ones when given; ``[{}]`` clears them)."""
    if write.new is None or write.action not in ("create", "update", "noop"):
        return write
    spec = write.spec
    subresource = write.subresource or ""
    stored = objects.meta_of(write.old).get("managedFields") if write.old is not None else None
    if not subresource and managed_fields.is_reset(sent):
        return _store(write, {})
    if not subresource and isinstance(sent, list) and managed_fields.entries_of(sent):
        base = managed_fields.entries_of(sent)
    else:
        base = managed_fields.entries_of(stored)
    managers = managed_fields.update(managed_fields.root_schema(spec), write.old or {}, write.new, base,
                                     manager=manager, api_version=spec.group_version, subresource=subresource,
                                     has_status=spec.has_status, now=objects.now_rfc3339())
    return _store(write, managers)


def conflict(error: managed_fields.ApplyConflicts) -> errors.StatusError:
    """409 Conflict with a ``FieldManagerConflict`` cause per field (``NewApplyConflict``)."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {entry.describe()}",
               "field": managed_fields.path_text(path)} for entry, path in error.conflicts]
    return errors.StatusError({"status": "Failure", "code": 409, "reason": "Conflict", "message": str(error),
                               "details": {"causes": causes}})


def check_config(spec: ResourceSpec, config: Any) -> objects.Body:
    """What the API server checks of an apply body before applying it (400 BadRequest)."""
    if not isinstance(config, dict):
        raise errors.BadRequest("error decoding YAML: the apply configuration must be an object")
    if objects.meta_of(config).get("managedFields"):
        raise errors.BadRequest("metadata.managedFields must be nil")
    if config.get("apiVersion") != spec.group_version:
        raise errors.BadRequest(f"Incorrect version specified in apply patch. Specified patch version: "
                                f"{config.get('apiVersion') or ''}, expected: {spec.group_version}")
    if config.get("kind") != spec.kind:
        raise errors.BadRequest(f"Incorrect kind specified in apply patch. Specified patch kind: "
                                f"{config.get('kind') or ''}, expected: {spec.kind}")
    return config


def plan_apply(store: ObjectStore, spec: ResourceSpec, namespace: str | None, name: str, config: objects.Body, *,
               manager: str, force: bool, subresource: str | None) -> planning.Write:
    """Plan a server-side apply of ``config`` by ``manager`` (a creation when the object does not exist)."""
    meta = objects.meta_of(config)
    if meta.get("name", name) != name:
        raise errors.BadRequest(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
    schema = managed_fields.root_schema(spec)
    stored = store.get(spec, namespace if spec.namespaced else None, name)
    options = {"manager": manager, "api_version": spec.group_version, "subresource": subresource or "",
               "has_status": spec.has_status, "force": force, "now": objects.now_rfc3339()}
    if stored is None:
        if subresource:
            raise errors.not_found(spec.plural, name, spec.group)
        body = objects.deep_copy(config)
        objects.metadata(body)["name"] = name
        merged, managers = _apply(schema, None, body, {}, options)
        return _store(planning.plan_create(store, spec, namespace, merged, upsert=True), managers)
    merged, managers = _apply(schema, stored, config, managed_fields.entries_of(
        objects.meta_of(stored).get("managedFields")), options)
    objects.metadata(merged)["resourceVersion"] = meta.get("resourceVersion") or objects.meta_of(stored).get(
        "resourceVersion")  # a resourceVersion in the configuration is a precondition, as in any patch
    return _store(planning.plan_update(store, spec, namespace, name, merged, subresource=subresource), managers)


def _apply(schema: Any, live: Any, config: objects.Body, managers: managed_fields.Managers,
           options: dict[str, Any]) -> tuple[objects.Body, managed_fields.Managers]:
    try:
        merged, result = managed_fields.apply(schema, live, config, managers, **options)
    except managed_fields.ApplyConflicts as error:
        raise conflict(error) from error
    return merged, result
