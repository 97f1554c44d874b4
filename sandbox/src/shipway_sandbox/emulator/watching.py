"""Watch streams as the API server serves them: newline-delimited JSON events over chunked HTTP.

* no ``resourceVersion`` (or ``"0"``): synthetic ADDED events for the current state, then changes;
* a ``resourceVersion``: only the changes after it (410 Gone as an ERROR event when too old);
* label/field selectors filter events, and an object that stops (starts) matching is sent as
  DELETED (ADDED), as the watch cache does;
* ``timeoutSeconds`` ends the stream; without it the server ends it after a random time between
  ``--min-request-timeout`` (1800 s) and twice that, as kube-apiserver does (clients must re-watch);
* ``allowWatchBookmarks`` adds periodic BOOKMARK events: only ``kind``, ``apiVersion`` and
  ``metadata.resourceVersion`` (the store's latest, once every event before it was sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
from collections.abc import Mapping

import aiohttp.web

from shipway_sandbox.emulator import errors, events, objects, paths
from shipway_sandbox.emulator.cluster import Cluster
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.selectors import Selector
from shipway_sandbox.emulator.store import served_as


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatchRequest:
    spec: ResourceSpec
    namespace: str | None
    name: str | None
    selector: Selector
    since: int | None
    timeout: float | None
    bookmarks: bool

    @classmethod
    def from_query(cls, spec: ResourceSpec, namespace: str | None, name: str | None, selector: Selector,
                   query: Mapping[str, str]) -> WatchRequest:
        raw_rv = query.get("resourceVersion") or ""
        try:
            since = int(raw_rv) if raw_rv not in ("", "0") else None
            timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        except ValueError as exc:
            raise errors.BadRequest(f"invalid watch parameter: {exc}") from exc
        return cls(spec=spec, namespace=namespace if spec.namespaced else None, name=name, selector=selector,
                   since=since, timeout=timeout, bookmarks=paths.go_bool(query.get("allowWatchBookmarks")))

    def matches(self, body: objects.Body | None) -> bool:
        if body is None:
            return False
        meta = objects.meta_of(body)
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.name is not None and meta.get("name") != self.name:
            return False
        return self.selector(body)

    def event_of(self, change: events.Change) -> objects.Body | None:
        """The event this watcher sees for a change, if any (its objects as this watch's version serves them)."""
        old = None if change.old is None else served_as(self.spec, change.old)
        new = served_as(self.spec, change.new)
        was, now = self.matches(old), self.matches(new)
        if change.type == "DELETED":
            kind = "DELETED" if now or was else None
        elif was and now:
            kind = "MODIFIED"
        elif now:
            kind = "ADDED"
        elif was:
            kind = "DELETED"
        else:
            kind = None
        return None if kind is None else {"type": kind, "object": self.versioned(new)}

    def versioned(self, body: objects.Body) -> objects.Body:
        if body.get("apiVersion") == self.spec.group_version:
            return body
        return {**body, "apiVersion": self.spec.group_version}


async def serve(raw_request: aiohttp.web.BaseRequest, watch: WatchRequest, *, cluster: Cluster,
                bookmark_interval: float) -> aiohttp.web.StreamResponse:
    resource = cluster.store.group_resource(watch.spec)
    initial: list[objects.Body] = []
    try:
        replay, subscription = cluster.store.changes.subscribe(resource, since=watch.since)
    except errors.Gone as exc:
        replay, subscription = [], None
        initial.append({"type": "ERROR", "object": exc.status()})
    if subscription is not None and watch.since is None:
        scope = watch.namespace
        initial = [{"type": "ADDED", "object": watch.versioned(b)}
                   for b in cluster.store.scan(watch.spec, scope) if watch.matches(b)]
    initial += [e for e in (watch.event_of(c) for c in replay) if e is not None]

    response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(raw_request)
    try:
        for event in initial:
            await _send(response, event)
        if subscription is not None:
            await _stream(response, watch, subscription, cluster=cluster, bookmark_interval=bookmark_interval)
    except ConnectionError:
        pass
    finally:
        if subscription is not None:
            cluster.store.changes.unsubscribe(subscription)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


async def _stream(response: aiohttp.web.StreamResponse, watch: WatchRequest, subscription: events.Subscription,
                  *, cluster: Cluster, bookmark_interval: float) -> None:
    loop = asyncio.get_running_loop()
    timeout = watch.timeout
    if timeout is None and cluster.min_request_timeout > 0:  # kube-apiserver's randomized watch timeout
        timeout = cluster.min_request_timeout * (1.0 + random.random())  # noqa: S311 (not for security)
    deadline = None if timeout is None else loop.time() + timeout
    next_bookmark = loop.time() + bookmark_interval
    while True:
        now = loop.time()
        waits = [deadline - now] if deadline is not None else []
        if watch.bookmarks:
            waits.append(next_bookmark - now)
        try:
            change = await asyncio.wait_for(subscription.queue.get(), timeout=max(0.0, min(waits)) if waits else None)
        except TimeoutError:
            if deadline is not None and loop.time() >= deadline:
                return
            next_bookmark = loop.time() + bookmark_interval
            await _send(response, _bookmark(watch, cluster.store.changes.revision))
            continue
        if change is None:  # the server is shutting down
            return
        event = watch.event_of(change)
        if event is not None:
            await _send(response, event)


def _bookmark(watch: WatchRequest, revision: int) -> objects.Body:
    return {"type": "BOOKMARK", "object": {
        "kind": watch.spec.kind, "apiVersion": watch.spec.group_version,
        "metadata": {"resourceVersion": str(revision)},
    }}


async def _send(response: aiohttp.web.StreamResponse, event: objects.Body) -> None:
    await response.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
