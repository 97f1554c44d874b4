"""What a DELETE does to the object itself, as the generic registry's ``Store.Delete`` decides (pure).

The propagation policy (``k8s.io/apiserver/pkg/registry/generic/registry/store.go``,
``deletionFinalizersForGarbageCollection``): ``DeleteOptions.orphanDependents`` first, then
``propagationPolicy``, then the ``orphan`` or ``foregroundDeletion`` finalizer the object already has, else
Background. The object then:

* Background, no finalizer: is removed at once (its dependents are collected later by the garbage collector);
* Orphan: gets the ``orphan`` finalizer and a ``deletionTimestamp``; the garbage collector removes the
  dependents' references to it, then the finalizer, and so the object;
* Foreground: gets the ``foregroundDeletion`` finalizer and a ``deletionTimestamp``; the garbage collector
  deletes the dependents and removes the finalizer once no dependent with ``blockOwnerDeletion: true`` is left;
* with other finalizers: gets a ``deletionTimestamp`` and stays until they are removed.

Deleting an object already being deleted changes only its GC finalizers (when the policy differs), never its
``deletionTimestamp``. A Namespace is never removed by a DELETE: it becomes ``Terminating`` (see
:mod:`collecting`), unless it is already finalized.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from shipway_sandbox.emulator import errors, objects, resources, stamping
from shipway_sandbox.emulator.resources import ResourceSpec

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
Policy = Literal["Orphan", "Foreground", "Background"]
POLICIES = ("Orphan", "Foreground", "Background")


def policy_of(options: Mapping[str, Any] | None, stored: objects.Body) -> Policy:
    options = options or {}
    orphan = options.get("orphanDependents")
    if orphan is not None and options.get("propagationPolicy") is not None:
        raise errors.invalid_options("DeleteOptions", "propagationPolicy", "FieldValueInvalid",
                                     f'Invalid value: "{options["propagationPolicy"]}": orphanDependents and '
                                     "deletionPropagation cannot be both set")
    if orphan is not None:
        return "Orphan" if orphan else "Background"
    chosen = options.get("propagationPolicy")
    if chosen is not None:
        if chosen not in POLICIES:
            raise errors.invalid_options("DeleteOptions", "propagationPolicy", "FieldValueNotSupported",
                                         f'Unsupported value: "{chosen}": supported values: "Foreground", '
                                         '"Background", "Orphan", "nil"')
        return chosen  # type: ignore[no-any-return]
    finalizers = objects.finalizers_of(stored)
    if ORPHAN in finalizers:
        return "Orphan"
    if FOREGROUND in finalizers:
        return "Foreground"
    return "Background"


def finalizers_after(stored: objects.Body, policy: Policy) -> list[str]:
    kept = [f for f in objects.finalizers_of(stored) if f not in (ORPHAN, FOREGROUND)]
    if policy == "Orphan":
        kept.append(ORPHAN)
    elif policy == "Foreground":
        kept.append(FOREGROUND)
    return kept


def outcome(spec: ResourceSpec, stored: objects.Body, policy: Policy) -> tuple[str, objects.Body | None]:
    """``("remove", None)``, ``("noop", None)`` or ``("mark", the object marked for deletion)``."""
    finalizers = finalizers_after(stored, policy)
    changed = set(finalizers) != set(objects.finalizers_of(stored))
    namespace = spec.key == resources.NAMESPACES.key
    if objects.is_deleting(stored):
        if namespace and not finalizers and not ((stored.get("spec") or {}).get("finalizers")):
            return "remove", None
        if not changed:
            return "noop", None
        return "mark", _with_finalizers(objects.deep_copy(stored), finalizers)
    if finalizers or namespace:
        return "mark", _with_finalizers(stamping.mark_deleting(stored), finalizers)
    return "remove", None


def _with_finalizers(body: objects.Body, finalizers: list[str]) -> objects.Body:
    meta = objects.metadata(body)
    if finalizers:
        meta["finalizers"] = finalizers
    else:
        meta.pop("finalizers", None)
    return body


def precondition_conflict(spec: ResourceSpec, name: str, stored: objects.Body,
                          preconditions: Mapping[str, Any]) -> errors.Conflict | None:
    """The 409 of ``storage.Preconditions.Check`` (uid, then resourceVersion), or None."""
    meta = objects.meta_of(stored)
    uid, version = preconditions.get("uid"), preconditions.get("resourceVersion")
    if uid not in (None, "") and uid != meta.get("uid"):
        detail = f"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta.get('uid')}"
    elif version not in (None, "") and str(version) != str(meta.get("resourceVersion")):
        detail = (f"Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object "
                  f"meta: {meta.get('resourceVersion')}")
    else:
        return None
    return conflict(spec, name, detail)


def conflict(spec: ResourceSpec, name: str, detail: str) -> errors.Conflict:
    """``apierrors.NewConflict``: ``Operation cannot be fulfilled on <resource> "<name>": <detail>``."""
    return errors.Conflict(f'Operation cannot be fulfilled on {spec.qualified} "{name}": {detail}',
                           details=errors.details(spec.plural, name, spec.group))
