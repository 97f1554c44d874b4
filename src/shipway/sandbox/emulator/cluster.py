"""The API server's write and read semantics over the store (no HTTP here).

Every operation is synchronous and thus atomic on the event loop. A write is planned first (see
:mod:`planning`: computed and validated, nothing stored), then committed; the request path (:mod:`writing`)
calls admission webhooks between the two, and a dry run stops after planning. After each write, the built-in
controllers of a real control plane run (see :mod:`collecting`): the garbage collector, the
namespace and CRD cleanup, the finalizer completion, and (later, asynchronously) the ServiceAccount
controller.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from shipway.sandbox.emulator import collecting, errors, objects, planning, resources, stamping
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

    # -- writes: planned (see :mod:`planning`), then committed --------------------------------------
    def create(self, spec: ResourceSpec, namespace: str | None, incoming: objects.Body) -> objects.Body:
        return self.commit(planning.plan_create(self.store, spec, namespace, incoming))

    def update(self, spec: ResourceSpec, namespace: str | None, name: str, incoming: objects.Body, *,
               subresource: str | None) -> objects.Body:
        return self.commit(planning.plan_update(self.store, spec, namespace, name, incoming,
                                                subresource=subresource))

    def patch(self, spec: ResourceSpec, namespace: str | None, name: str, *, content_type: str,
              document: Any, subresource: str | None) -> tuple[objects.Body, bool]:
        """The patched object, and whether the patch created it (server-side apply only)."""
        write = planning.plan_patch(self.store, spec, namespace, name, content_type=content_type,
                                    document=document, subresource=subresource)
        return self.commit(write), write.operation == "CREATE"

    def delete(self, spec: ResourceSpec, namespace: str | None, name: str, *,
               options: objects.Body | None = None) -> objects.Body:
        return self.commit(planning.plan_delete(self.store, spec, namespace, name, options=options))

    def commit(self, write: planning.Write) -> objects.Body:
        """Store a planned write and run the controllers after it; :class:`planning.Stale` when the stored
        object is no longer the one the write was planned from (nothing is changed then)."""
        spec = write.spec
        current = self.store.get(spec, write.namespace, write.name)
        if write.old is None:
            if current is not None:
                if write.upsert:
                    raise planning.Stale()
                raise errors.already_exists(spec.plural, write.name, spec.group)
            if spec.namespaced and write.namespace:
                planning.check_namespace_open(self.store, write.namespace)
        elif current is None or _revision(current) != _revision(write.old):
            raise planning.Stale()
        if write.orphan and current is not None:
            collecting.orphan_dependents(self, str(objects.meta_of(current).get("uid")))
            current = self.store.get(spec, write.namespace, write.name) or current
        if write.action == "noop":
            return self._as_version(spec, current if current is not None else write.preview())
        if write.action == "remove":
            assert current is not None
            return self._as_version(spec, self.delete_stored(spec, current))
        assert write.new is not None
        body = stamping.with_revision(objects.deep_copy(write.new), self.store.changes.next_revision())
        if write.action == "create":
            stored = self.store.write(spec, body, old=None)
            collecting.after_create(self, spec, stored)
            return self._as_version(spec, stored)
        result = self.store.write(spec, body, old=current)
        collecting.after_update(self, spec, result)
        return self._as_version(spec, self.store.get(spec, write.namespace, write.name) or result)

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
    def schedule_service_account(self, namespace: str) -> None:
        self._schedule_service_account(lambda: collecting.ensure_default_service_account(self, namespace))

    @staticmethod
    def _as_version(spec: ResourceSpec, body: objects.Body) -> objects.Body:
        if body.get("apiVersion") == spec.group_version:
            return body
        return {**body, "apiVersion": spec.group_version}


def _revision(body: objects.Body) -> str | None:
    value = objects.meta_of(body).get("resourceVersion")
    return None if value is None else str(value)


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
