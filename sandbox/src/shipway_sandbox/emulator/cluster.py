"""The API server's write and read semantics over the store (no HTTP here).

Every operation is synchronous and thus atomic on the event loop. A write is planned first (see
:mod:`planning`: computed and validated, nothing stored), then committed; the request path (:mod:`writing`)
calls admission webhooks between the two, and a dry run stops after planning. A commit larger than etcd takes
is refused (:mod:`limits`). After each write, the built-in controllers of a real control plane react (see
:mod:`collecting`): at once for what the registry itself does (finalizer completion, CRD serving), a moment
later (:mod:`controllers`) for the garbage collector, the namespace controller and the ServiceAccount
controller.

Lists are consistent snapshots: a list with ``limit`` answers the first page at the current resourceVersion
and a ``continue`` token (``base64url`` of ``{"v":"meta.k8s.io/v1","rv":RV,"start":"KEY\\x00"}``, as etcd3's
storage encodes it) from which later pages are served as the store was at that resourceVersion, with a true
``remainingItemCount`` (omitted when a selector is used, as etcd cannot count those). A token whose
resourceVersion has been compacted away is 410 Expired, with a new token to go on inconsistently (rv -1); a
malformed one is 400.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from typing import Any

from shipway_sandbox.emulator import collecting, deletion, errors, limits, objects, paging, planning, stamping
from shipway_sandbox.emulator.access import Authorizer
from shipway_sandbox.emulator.controllers import Timers, Timing
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec
from shipway_sandbox.emulator.selectors import Selector
from shipway_sandbox.emulator.store import ObjectStore

CONTINUE_VERSION = "meta.k8s.io/v1"
INCONSISTENT_CONTINUE = ("The provided continue parameter is too old to display a consistent list result. You can "
                         "start a new list without the continue parameter, or use the continue token in this response "
                         "to retrieve the remainder of the results. Continuing with the provided token results in an "
                         "inconsistent list - objects that were created, modified, or deleted between the time the "
                         "first chunk was returned and now may show up in the list.")


class ExpiredContinue(errors.Gone):
    """410 for a compacted continue token, carrying a token to go on from the current state."""

    def __init__(self, token: str) -> None:
        super().__init__(INCONSISTENT_CONTINUE)
        self.token = token

    def status(self) -> objects.Body:
        body = super().status()
        body["metadata"] = {"continue": self.token}
        return body


class Cluster:
    def __init__(self, *, catalogue: Catalogue, store: ObjectStore, timing: Timing | None = None,
                 timers: Timers | None = None) -> None:
        self.catalogue = catalogue
        self.store = store
        self.timing = timing or Timing()
        self.timers = timers or Timers()
        self.running: set[str] = set()  # re-entrancy guards of the controllers in `collecting`
        self.gc_owners: dict[str, None] = {}  # uids of owners being deleted with the orphan/foreground finalizer
        self.gc_unserved: dict[str, None] = {}  # uids the collector could not handle: their resource is not served
        # who decides requests (None: everyone may do everything), for the checks of the RBAC storage and of the
        # OwnerReferencesPermissionEnforcement admission plugin (see :mod:`guards`)
        self.authorizer: Callable[[], Authorizer | None] = lambda: None
        self.owner_references_permission_enforcement = True
        self.min_request_timeout = 1800.0  # watches without timeoutSeconds end after 1 to 2 times this

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, spec: ResourceSpec, namespace: str | None, name: str) -> objects.Body:
        body = self.store.get(spec, namespace if spec.namespaced else None, name)
        if body is None:
            raise errors.not_found(spec.plural, name, spec.group)
        return self._as_version(spec, body)

    def list(self, spec: ResourceSpec, namespace: str | None, selector: Selector, *,
             limit: int = 0, continue_token: str | None = None) -> objects.Body:
        scope = namespace if spec.namespaced else None
        start, revision = "", self.store.changes.revision
        at: int | None = None  # the first page, and an inconsistent continuation, read the current state
        if continue_token:
            start, continued = decode_continue(continue_token)
            if continued != -1:  # a consistent continuation: the state at the first page's resourceVersion
                revision = at = continued
        try:
            listing = self.store.listing(spec, scope, at)
        except errors.Gone as exc:
            raise ExpiredContinue(encode_continue(start, -1)) from exc
        page = paging.page_of(listing, start=start, limit=limit, accept=selector,
                              everything=bool(getattr(selector, "everything", False)))
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if page.more:
            meta["continue"] = encode_continue(page.last_key + "\x00", revision)
            if page.remaining is not None:
                meta["remainingItemCount"] = page.remaining
        return {
            "kind": f"{spec.kind}List",
            "apiVersion": spec.group_version,
            "metadata": meta,
            "items": [self._as_version(spec, b) for b in page.items],
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
        """Store a planned write and let the controllers react; :class:`planning.Stale` when the stored object is no
        longer the one the write was planned from (nothing is changed then)."""
        try:
            return self._commit(write)
        finally:
            self.timers.drain()  # without an event loop, the controllers' reactions run now

    def _commit(self, write: planning.Write) -> objects.Body:
        spec = write.spec
        current = self.store.get(spec, write.namespace, write.name)
        if write.old is None:
            if current is not None:
                if write.upsert:
                    raise planning.Stale()
                raise errors.already_exists(spec.plural, write.name, spec.group)
            if spec.namespaced and write.namespace:
                planning.check_namespace_open(self.store, write.namespace, spec, write.name)
        elif current is None or _revision(current) != _revision(write.old):
            raise planning.Stale()
        if write.action == "noop":
            return self._as_version(spec, current if current is not None else write.preview())
        if write.action == "remove":
            assert current is not None
            removed = self.store.remove(spec, current)
            collecting.after_remove(self, spec, removed)
            return self._as_version(spec, removed)
        assert write.new is not None
        limits.check_stored_size(spec, write.new)
        body = stamping.with_revision(objects.deep_copy(write.new), self.store.changes.next_revision())
        if write.action == "create":
            stored = self.store.write(spec, body, old=None)
            collecting.after_create(self, spec, stored)
            return self._as_version(spec, stored)
        if collecting.deleted_by_update(spec, body):  # the last finalizer removed: one DELETED event, no MODIFIED
            assert current is not None
            removed = self.store.remove(spec, current, final=body)
            collecting.after_remove(self, spec, removed)
            return self._as_version(spec, removed)
        result = self.store.write(spec, body, old=current)
        collecting.after_update(self, spec, result)
        return self._as_version(spec, self.store.get(spec, write.namespace, write.name) or result)

    def delete_stored(self, spec: ResourceSpec, stored: objects.Body, *,
                      policy: deletion.Policy = "Background") -> objects.Body:
        """A controller's DELETE of a stored object (see :mod:`deletion`): removed now, or marked for deletion
        while finalizers (or a namespace's content) remain."""
        action, marked = deletion.outcome(spec, stored, policy)
        if action == "noop":
            return stored
        if action == "mark":
            assert marked is not None
            body = stamping.with_revision(marked, self.store.changes.next_revision())
            result = self.store.write(spec, body, old=stored)
            collecting.after_update(self, spec, result)
            return result
        removed = self.store.remove(spec, stored)
        collecting.after_remove(self, spec, removed)
        return removed

    # -- helpers -------------------------------------------------------------------------------------
    def schedule_service_account(self, namespace: str) -> None:
        self.timers.later(f"serviceaccount/{namespace}", self.timing.service_account_delay,
                          functools.partial(collecting.ensure_default_service_account, self, namespace))

    @staticmethod
    def _as_version(spec: ResourceSpec, body: objects.Body) -> objects.Body:
        if body.get("apiVersion") == spec.group_version:
            return body
        return {**body, "apiVersion": spec.group_version}


def _revision(body: objects.Body) -> str | None:
    value = objects.meta_of(body).get("resourceVersion")
    return None if value is None else str(value)


def encode_continue(start: str, revision: int) -> str:
    """etcd3's ``storage.EncodeContinue``: base64url (no padding) of the token's JSON."""
    token = json.dumps({"v": CONTINUE_VERSION, "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[str, int]:
    """The start key and resourceVersion of a continue token; 400 as ``storage.DecodeContinue`` words it."""
    def invalid(detail: str) -> errors.BadRequest:
        return errors.BadRequest(f"invalid continue token: {detail}")

    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid(f"continue key is not valid: {exc}") from exc
    if not isinstance(decoded, dict):
        raise invalid("continue key is not valid")
    if decoded.get("v") != CONTINUE_VERSION:
        raise invalid(f"continue key is not valid: server does not recognize this encoded version "
                      f"{decoded.get('v') or ''}")
    revision, start = decoded.get("rv"), decoded.get("start")
    if not isinstance(revision, int) or revision == 0:
        raise invalid("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise invalid("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")
    return start, revision
