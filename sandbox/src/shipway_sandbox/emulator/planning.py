"""Writes computed against the store but not committed: the first half of every create, update, patch, delete.

A :class:`Write` holds what the API server has in hand just before it asks admission and writes to etcd: the
stored object it started from (``old``), the object it would store (``new``: decoded, defaulted, stamped,
validated) and what committing means (``action``). Planning reads the store and changes nothing, so:

* a dry run is a plan that is never committed (:meth:`Write.preview` is its answer);
* validating admission sees ``new``/``old`` before anything is stored (:mod:`admission`);
* committing (:meth:`Cluster.commit`) re-checks that the stored object is still ``old``; when it moved on,
  it raises :class:`Stale` and the writer plans (and admits) again, as the API server's ``GuaranteedUpdate``
  retries its update function, admission included, on an etcd conflict.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from shipway_sandbox.emulator import (
    builtin_rules,
    builtin_types,
    deletion,
    errors,
    event_rules,
    event_versions,
    fielderrors,
    objects,
    patches,
    policies,
    resources,
    schemas,
    stamping,
    webhooks,
)
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.store import ObjectStore

Operation = Literal["CREATE", "UPDATE", "DELETE"]
Action = Literal["create", "update", "noop", "mark", "remove"]


class Stale(Exception):
    """The stored object changed between planning and committing: plan again."""


@dataclasses.dataclass(kw_only=True)
class Write:
    operation: Operation
    action: Action
    spec: ResourceSpec
    namespace: str | None
    name: str
    subresource: str | None = None
    old: objects.Body | None = None  # the stored object the write was computed from (None: a creation)
    new: objects.Body | None = None  # the object to store (None: a removal)
    upsert: bool = False  # an apply that creates: a concurrent creation means plan again, not 409
    named: bool = True  # False when the request had only a generateName (admission is then told no name)

    @property
    def admitted_object(self) -> objects.Body | None:
        """``request.object`` of an AdmissionReview: what would be stored (no resourceVersion yet on create)."""
        if self.operation == "DELETE" or self.new is None:
            return None
        return self.preview() if self.operation == "CREATE" else self.new

    def preview(self) -> objects.Body:
        """The answer of a dry run: the object as it would be, nothing stored and no resourceVersion used."""
        if self.action == "create" and self.new is not None:
            body = objects.deep_copy(self.new)
            objects.metadata(body).pop("resourceVersion", None)  # as kube-apiserver: set only by storage
            return versioned(self.spec, body)
        if self.action == "remove" or self.new is None:
            assert self.old is not None
            return versioned(self.spec, self.old)
        return versioned(self.spec, self.new)


def versioned(spec: ResourceSpec, body: objects.Body) -> objects.Body:
    """The body as served by this version of its resource (no conversion: ``conversion: None``)."""
    if body.get("apiVersion") == spec.group_version:
        return body
    return {**body, "apiVersion": spec.group_version}


# -- planning ------------------------------------------------------------------------------------------
def plan_create(store: ObjectStore, spec: ResourceSpec, namespace: str | None, incoming: Any, *,
                upsert: bool = False) -> Write:
    if not isinstance(incoming, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    namespace = namespace or objects.meta_of(incoming).get("namespace") if spec.namespaced else None
    name = objects.meta_of(incoming).get("name")
    if spec.namespaced and namespace:
        check_namespace_open(store, namespace, spec,
                             str(name or objects.meta_of(incoming).get("generateName") or ""))
    if name and store.get(spec, namespace, str(name)) is not None:
        raise errors.already_exists(spec.plural, str(name), spec.group)
    body = stamping.prepare_new(spec, decoded(spec, incoming), namespace=namespace,
                                revision=store.changes.revision + 1)
    validate(spec, body, old=None)
    meta = objects.meta_of(body)
    if store.get(spec, meta.get("namespace"), meta["name"]) is not None:
        raise errors.already_exists(spec.plural, meta["name"], spec.group)
    return Write(operation="CREATE", action="create", spec=spec, namespace=meta.get("namespace"),
                 name=str(meta["name"]), new=body, upsert=upsert, named=bool(name))


def plan_update(store: ObjectStore, spec: ResourceSpec, namespace: str | None, name: str, incoming: Any, *,
                subresource: str | None) -> Write:
    if not isinstance(incoming, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    stored = stored_object(store, spec, namespace, name)
    stamping.check_precondition(spec, stored, incoming)
    uid, stored_uid = objects.meta_of(incoming).get("uid"), objects.meta_of(stored).get("uid")
    if uid not in (None, "") and uid != stored_uid:  # an update's object uid is a precondition (409)
        raise deletion.conflict(spec, name, f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                                            f"{stored_uid}")
    return _plan_replace(spec, stored, incoming, subresource=subresource)


def plan_patch(store: ObjectStore, spec: ResourceSpec, namespace: str | None, name: str, *, content_type: str,
               document: Any, subresource: str | None) -> Write:
    """A patch (a CREATE when a server-side apply creates the object, else an UPDATE)."""
    stored = store.get(spec, namespace if spec.namespaced else None, name)
    if stored is None:
        if content_type != patches.APPLY or subresource:
            raise errors.not_found(spec.plural, name, spec.group)
        document = objects.deep_copy(document)
        meta = objects.metadata(document)
        if meta.get("name", name) != name:
            raise errors.BadRequest(f"the name of the object ({meta['name']}) does not match the name on"
                                    f" the URL ({name})")
        meta["name"] = name
        return plan_create(store, spec, namespace, document, upsert=True)
    if content_type != patches.JSON_PATCH:
        stamping.check_precondition(spec, stored, document)
    patched = patches.apply_patch(content_type, stored, document)
    if content_type == patches.JSON_PATCH:
        stamping.check_precondition(spec, stored, patched)
    objects.metadata(patched)["resourceVersion"] = None
    return _plan_replace(spec, stored, patched, subresource=subresource)


def plan_delete(store: ObjectStore, spec: ResourceSpec, namespace: str | None, name: str, *,
                options: objects.Body | None = None) -> Write:
    """A DELETE: the object removed, marked for deletion (finalizers, a propagation policy, a namespace), or left
    as it is (already being deleted the same way); see :mod:`deletion`."""
    stored = stored_object(store, spec, namespace, name)
    options = options or {}
    conflict = deletion.precondition_conflict(spec, name, stored, options.get("preconditions") or {})
    if conflict is not None:
        raise conflict
    action, marked = deletion.outcome(spec, stored, deletion.policy_of(options, stored))
    meta = objects.meta_of(stored)
    write = Write(operation="DELETE", action="remove", spec=spec, namespace=meta.get("namespace"), name=name,
                  old=stored)
    if action == "noop":
        write.action, write.new = "noop", stored
    elif action == "mark":
        write.action, write.new = "mark", marked
    return write


def _plan_replace(spec: ResourceSpec, stored: objects.Body, incoming: objects.Body, *,
                  subresource: str | None) -> Write:
    uid, stored_uid = objects.meta_of(incoming).get("uid"), objects.meta_of(stored).get("uid")
    if uid not in (None, "") and uid != stored_uid and subresource is None:  # a patch that changes it
        name = str(objects.meta_of(stored).get("name") or "")
        fielderrors.raise_if(spec.kind, spec.group, name, [fielderrors.immutable("metadata.uid", str(uid))])
    body = stamping.prepare_update(spec, stored, decoded(spec, incoming), subresource=subresource)
    validate(spec, body, old=stored, subresource=subresource)
    meta = objects.meta_of(stored)
    return Write(operation="UPDATE", action="noop" if body == stored else "update", spec=spec,
                 namespace=meta.get("namespace"), name=str(meta["name"]), subresource=subresource,
                 old=stored, new=body)


# -- reads and rules shared with the commit ------------------------------------------------------------
def stored_object(store: ObjectStore, spec: ResourceSpec, namespace: str | None, name: str) -> objects.Body:
    stored = store.get(spec, namespace if spec.namespaced else None, name)
    if stored is None:
        raise errors.not_found(spec.plural, name, spec.group)
    return stored


def check_namespace_open(store: ObjectStore, namespace: str, spec: ResourceSpec | None = None,
                         name: str = "") -> None:
    """The NamespaceLifecycle admission plugin: 404 for a missing namespace, 403 (with the cause
    ``NamespaceTerminating``) for one being deleted."""
    ns = store.get(resources.NAMESPACES, None, namespace)
    if ns is None:
        raise errors.not_found("namespaces", namespace)
    if objects.is_deleting(ns):
        detail = f"unable to create new content in namespace {namespace} because it is being terminated"
        plural, group = (spec.plural, spec.group) if spec is not None else ("", "")
        qualified = f"{plural}.{group}" if group else plural
        message = detail if not plural else f'{qualified} "{name}" is forbidden: {detail}' if name else \
            f"{qualified} is forbidden: {detail}"
        found = errors.details(plural, name or None, group) if plural else {}
        found["causes"] = [{"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace"}]
        raise errors.Forbidden(message, details=found)


def decoded(spec: ResourceSpec, incoming: objects.Body) -> objects.Body:
    """The object as the API server decodes it: a built-in kind read into its Go type (400 on a type error, unknown
    fields dropped, empty ``omitempty`` fields left out, defaults: :mod:`builtin_types`), a custom object pruned
    and defaulted to its CRD's schema, a webhook configuration, an admission policy or binding with its
    defaults."""
    if webhooks.is_configuration(spec):
        incoming = webhooks.defaulted(incoming)
    elif policies.is_policy(spec) or policies.is_binding(spec):
        incoming = policies.defaulted(spec, incoming)
    elif spec.schema is not None:
        incoming = schemas.prune_and_default(spec.schema, incoming)
    return builtin_types.decode(spec, incoming)


def validate(spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None,
             subresource: str | None = None) -> None:
    """422 Invalid, every cause listed: the metadata of every object and the fields of the built-in kinds
    (:mod:`builtin_rules`), a custom object against its CRD's schema (ratcheting on updates), a webhook
    configuration, an admission policy or binding against the rules of admissionregistration/v1 (a policy's CEL
    compiled), an Event against the rules of its version (:mod:`event_rules`)."""
    name = str(objects.meta_of(body).get("name") or "")
    found: list[fielderrors.AnyError] = list(
        builtin_rules.errors_of(spec, body, old, subresource=subresource))
    if webhooks.is_configuration(spec) or policies.is_policy(spec) or policies.is_binding(spec) or \
            event_versions.is_event(spec.group, spec.plural):
        fielderrors.raise_if(spec.kind, spec.group, name, found)
        if webhooks.is_configuration(spec):
            webhooks.validate_configuration(spec, body, old=old)
        elif event_versions.is_event(spec.group, spec.plural):
            event_rules.validate(spec, body, old=old)
        else:
            policies.validate(spec, body)
        return
    if spec.schema is not None:
        found += [fielderrors.RawError(c.field, c.reason, c.message)
                  for c in schemas.validate(spec.schema, body, old=old)]
    fielderrors.raise_if(spec.kind, spec.group, name, found)
