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

from shipway.sandbox.emulator import (
    errors,
    event_rules,
    event_versions,
    objects,
    patches,
    policies,
    resources,
    schemas,
    stamping,
    webhooks,
)
from shipway.sandbox.emulator.resources import ResourceSpec
from shipway.sandbox.emulator.store import ObjectStore

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
    orphan: bool = False  # propagationPolicy Orphan: dependents lose their reference first
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
    if spec.namespaced and namespace:
        check_namespace_open(store, namespace)
    name = objects.meta_of(incoming).get("name")
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
    stored = stored_object(store, spec, namespace, name)
    options = options or {}
    preconditions = options.get("preconditions") or {}
    meta = objects.meta_of(stored)
    if preconditions.get("resourceVersion") not in (None, meta.get("resourceVersion")):
        raise errors.conflict(spec.plural, name, spec.group)
    if preconditions.get("uid") not in (None, meta.get("uid")):
        raise errors.conflict(spec.plural, name, spec.group)
    write = Write(operation="DELETE", action="remove", spec=spec, namespace=meta.get("namespace"), name=name,
                  old=stored, orphan=options.get("propagationPolicy") == "Orphan")
    if objects.is_deleting(stored):
        write.action, write.new = "noop", stored
    elif objects.finalizers_of(stored) or spec.key == resources.NAMESPACES.key:
        write.action, write.new = "mark", stamping.mark_deleting(stored)
    return write


def _plan_replace(spec: ResourceSpec, stored: objects.Body, incoming: objects.Body, *,
                  subresource: str | None) -> Write:
    body = stamping.prepare_update(spec, stored, decoded(spec, incoming), subresource=subresource)
    validate(spec, body, old=stored)
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


def check_namespace_open(store: ObjectStore, namespace: str) -> None:
    ns = store.get(resources.NAMESPACES, None, namespace)
    if ns is None:
        raise errors.not_found("namespaces", namespace)
    if objects.is_deleting(ns):
        raise errors.Forbidden(f"unable to create new content in namespace {namespace} because it is being"
                               " terminated", details=errors.details("namespaces", namespace))


def decoded(spec: ResourceSpec, incoming: objects.Body) -> objects.Body:
    """The object as the API server decodes it: a custom object pruned and defaulted to its CRD's schema,
    a webhook configuration, an admission policy or binding with its defaults."""
    if webhooks.is_configuration(spec):
        return webhooks.defaulted(incoming)
    if policies.is_policy(spec) or policies.is_binding(spec):
        return policies.defaulted(spec, incoming)
    return incoming if spec.schema is None else schemas.prune_and_default(spec.schema, incoming)


def validate(spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None) -> None:
    """422 Invalid, every cause listed: a custom object against its CRD's schema (ratcheting on updates), a
    webhook configuration, an admission policy or binding against the rules of admissionregistration/v1
    (a policy's CEL compiled), an Event against the rules of its version (:mod:`event_rules`)."""
    if webhooks.is_configuration(spec):
        webhooks.validate_configuration(spec, body, old=old)
        return
    if policies.is_policy(spec) or policies.is_binding(spec):
        policies.validate(spec, body)
        return
    if event_versions.is_event(spec.group, spec.plural):
        event_rules.validate(spec, body, old=old)
        return
    if spec.schema is None:
        return
    causes = schemas.validate(spec.schema, body, old=old)
    if causes:
        name = str(objects.meta_of(body).get("name") or "")
        raise errors.invalid(spec.kind, spec.group, name, [c.as_json() for c in causes],
                             message=schemas.message(spec.kind, spec.group, name, causes))
