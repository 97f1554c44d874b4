"""The API server's write and read semantics over the store (no HTTP here).

Every operation is synchronous and thus atomic on the event loop. After each write, the built-in
controllers of a real control plane run (see :mod:`collecting`): the garbage collector, the
namespace and CRD cleanup, the finalizer completion, and (later, asynchronously) the ServiceAccount
controller.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from shipway.sandbox.emulator import collecting, errors, objects, patches, resources, schemas, stamping
from shipway.sandbox.emulator.resources import Catalogue, ResourceSpec
from shipway.sandbox.emulator.selectors import Selector
from shipway.sandbox.emulator.store import ObjectStore

Scheduler = Callable[[Callable[[], None]], None]


class Cluster:
    def __init__(self, *, catalogue: Catalogue, store: ObjectStore, schedule_service_account: Scheduler) -> None:
        self.catalogue = catalogue
        self.store = store
        self._schedule_service_account = schedule_service_account
        self.running: set[str] = set()  # re-entrancy guards of the controllers in `collecting`

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, spec: ResourceSpec, namespace: str | None, name: str) -> objects.Body:
        body = self.store.get(spec, namespace if spec.namespaced else None, name)
        if body is None:
            raise errors.not_found(spec.plural, name, spec.group)
        return self._as_version(spec, body)

    def list(self, spec: ResourceSpec, namespace: str | None, selector: Selector, *,
             limit: int = 0, continue_token: str | None = None) -> objects.Body:
        items = [b for b in self.store.scan(spec, namespace if spec.namespaced else None) if selector(b)]
        after = _decode_continue(continue_token)
        if after is not None:
            items = [b for b in items if _sort_key(b) > after]
        meta: dict[str, Any] = {"resourceVersion": str(self.store.changes.revision)}
        if limit > 0 and len(items) > limit:
            items = items[:limit]
            meta["continue"] = _encode_continue(_sort_key(items[-1]))
            meta["remainingItemCount"] = 0
        return {
            "kind": f"{spec.kind}List",
            "apiVersion": spec.group_version,
            "metadata": meta,
            "items": [self._as_version(spec, b) for b in items],
        }

    # -- writes --------------------------------------------------------------------------------------
    def create(self, spec: ResourceSpec, namespace: str | None, incoming: objects.Body) -> objects.Body:
        if not isinstance(incoming, dict):
            raise errors.BadRequest("the request body must be a JSON object")
        namespace = namespace or objects.meta_of(incoming).get("namespace") if spec.namespaced else None
        if spec.namespaced and namespace:
            self._check_namespace_open(namespace)
        name = objects.meta_of(incoming).get("name")
        if name and self.store.get(spec, namespace, str(name)) is not None:
            raise errors.already_exists(spec.plural, str(name), spec.group)
        body = stamping.prepare_new(spec, _decoded(spec, incoming), namespace=namespace,
                                    revision=self.store.changes.revision + 1)
        _validate(spec, body, old=None)
        if self.store.get(spec, objects.meta_of(body).get("namespace"), objects.meta_of(body)["name"]):
            raise errors.already_exists(spec.plural, objects.meta_of(body)["name"], spec.group)
        self.store.changes.next_revision()
        stored = self.store.write(spec, body, old=None)
        collecting.after_create(self, spec, stored)
        return self._as_version(spec, stored)

    def update(self, spec: ResourceSpec, namespace: str | None, name: str, incoming: objects.Body, *,
               subresource: str | None) -> objects.Body:
        if not isinstance(incoming, dict):
            raise errors.BadRequest("the request body must be a JSON object")
        stored = self._stored(spec, namespace, name)
        stamping.check_precondition(spec, stored, incoming)
        return self._commit(spec, stored, incoming, subresource=subresource)

    def patch(self, spec: ResourceSpec, namespace: str | None, name: str, *, content_type: str,
              document: Any, subresource: str | None) -> tuple[objects.Body, bool]:
        """The patched object, and whether the patch created it (server-side apply only)."""
        stored = self.store.get(spec, namespace if spec.namespaced else None, name)
        if stored is None:
            if content_type != patches.APPLY or subresource:
                raise errors.not_found(spec.plural, name, spec.group)
            meta = objects.metadata(document)
            if meta.get("name", name) != name:
                raise errors.BadRequest(f"the name of the object ({meta['name']}) does not match the name on"
                                        f" the URL ({name})")
            meta["name"] = name
            return self.create(spec, namespace, document), True
        if content_type != patches.JSON_PATCH:
            stamping.check_precondition(spec, stored, document)
        patched = patches.apply_patch(content_type, stored, document)
        if content_type == patches.JSON_PATCH:
            stamping.check_precondition(spec, stored, patched)
        objects.metadata(patched)["resourceVersion"] = None
        return self._commit(spec, stored, patched, subresource=subresource), False

    def delete(self, spec: ResourceSpec, namespace: str | None, name: str, *,
               options: objects.Body | None = None) -> objects.Body:
        stored = self._stored(spec, namespace, name)
        options = options or {}
        preconditions = options.get("preconditions") or {}
        if preconditions.get("resourceVersion") not in (None, objects.meta_of(stored).get("resourceVersion")):
            raise errors.conflict(spec.plural, name, spec.group)
        if preconditions.get("uid") not in (None, objects.meta_of(stored).get("uid")):
            raise errors.conflict(spec.plural, name, spec.group)
        if options.get("propagationPolicy") == "Orphan":
            collecting.orphan_dependents(self, str(objects.meta_of(stored).get("uid")))
        return self._as_version(spec, self.delete_stored(spec, stored))

    def delete_stored(self, spec: ResourceSpec, stored: objects.Body) -> objects.Body:
        """Delete now, or only mark as deleting while finalizers (or a namespace's content) remain."""
        if objects.is_deleting(stored):
            return stored
        if objects.finalizers_of(stored) or spec.key == resources.NAMESPACES.key:
            marked = stamping.with_revision(stamping.mark_deleting(stored), self.store.changes.next_revision())
            result = self.store.write(spec, marked, old=stored)
            collecting.after_update(self, spec, result)
            return result
        removed = self.store.remove(spec, stored)
        collecting.after_remove(self, spec, removed)
        return removed

    # -- helpers -------------------------------------------------------------------------------------
    def _commit(self, spec: ResourceSpec, stored: objects.Body, incoming: objects.Body, *,
                subresource: str | None) -> objects.Body:
        body = stamping.prepare_update(spec, stored, _decoded(spec, incoming), subresource=subresource)
        _validate(spec, body, old=stored)
        if body == stored:
            return self._as_version(spec, stored)  # a no-op write: no new resourceVersion, no event
        stamping.with_revision(body, self.store.changes.next_revision())
        result = self.store.write(spec, body, old=stored)
        collecting.after_update(self, spec, result)
        return self._as_version(spec, self.store.get(spec, objects.meta_of(result).get("namespace"),
                                                     objects.meta_of(result)["name"]) or result)

    def _stored(self, spec: ResourceSpec, namespace: str | None, name: str) -> objects.Body:
        stored = self.store.get(spec, namespace if spec.namespaced else None, name)
        if stored is None:
            raise errors.not_found(spec.plural, name, spec.group)
        return stored

    def _check_namespace_open(self, namespace: str) -> None:
        ns = self.store.get(resources.NAMESPACES, None, namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if objects.is_deleting(ns):
            raise errors.Forbidden(f"unable to create new content in namespace {namespace} because it is being"
                                   " terminated", details=errors.details("namespaces", namespace))

    def schedule_service_account(self, namespace: str) -> None:
        self._schedule_service_account(lambda: collecting.ensure_default_service_account(self, namespace))

    @staticmethod
    def _as_version(spec: ResourceSpec, body: objects.Body) -> objects.Body:
        if body.get("apiVersion") == spec.group_version:
            return body
        return {**body, "apiVersion": spec.group_version}


def _decoded(spec: ResourceSpec, incoming: objects.Body) -> objects.Body:
    """A custom object as the API server decodes it: pruned to its CRD's schema, defaulted."""
    return incoming if spec.schema is None else schemas.prune_and_default(spec.schema, incoming)


def _validate(spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None) -> None:
    """422 Invalid, every cause listed, when a custom object breaks its CRD's schema (ratcheting on updates)."""
    if spec.schema is None:
        return
    causes = schemas.validate(spec.schema, body, old=old)
    if causes:
        name = str(objects.meta_of(body).get("name") or "")
        raise errors.invalid(spec.kind, spec.group, name, [c.as_json() for c in causes],
                             message=schemas.message(spec.kind, spec.group, name, causes))


def _sort_key(body: objects.Body) -> str:
    meta = objects.meta_of(body)
    return f"{meta.get('namespace') or ''}\x00{meta.get('name')}"


def _encode_continue(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_continue(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError as exc:
        raise errors.Gone("the provided continue parameter is too old or malformed") from exc
