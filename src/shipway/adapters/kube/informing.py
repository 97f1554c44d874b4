"""An informer for one resource: list, then watch from the list's resourceVersion; after a 410 Gone, relist
and tell what vanished.

* LIST in pages (``limit`` + ``continue``; an expired continue token restarts the list), keeping the
  resourceVersion of its first page;
* WATCH from there with bookmarks and a server-side ``timeoutSeconds`` (jittered); a watch that ends
  normally is resumed from the last resourceVersion seen (events and bookmarks move it);
* 410 Gone (an HTTP status or an ERROR event) means the server no longer has the changes since that point:
  the informer lists again and emits ADDED or MODIFIED for new or changed objects (by resourceVersion) page
  by page, then DELETED for every object it had delivered that the new list lacks, so that after every
  relist the consumer's view equals the server's (a list is never held decoded as a whole);
* connection and server errors are retried with capped exponential backoff and jitter.

Events go to ``on_event(type, body)`` (ADDED, MODIFIED or DELETED); ``on_synced()`` is awaited once, after
the first list has been delivered. ``transform(body)`` may shrink each object to what the consumer needs, or
answer None to treat the object as absent (it is then reported DELETED if it was delivered before). The
DELETED of a relist carries a tombstone (apiVersion, kind, name, namespace, and the list's resourceVersion):
the last state is the consumer's own. The informer keeps only (namespace, name) → resourceVersion, and
logs kinds, names and counts, never an object's content.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from shipway.adapters.kube.connecting import collection_path, status_of
from shipway.adapters.kube.resources import Kind

log = logging.getLogger(__name__)

Body = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
EventHandler = Callable[[str, Body], Awaitable[None]]
SyncedHandler = Callable[[], Awaitable[None]]
Transform = Callable[[Body], Body | None]

READ_GRACE = 30.0  # seconds of silence past the server's own watch timeout before the stream is deemed dead
YIELD_EVERY = 64  # a list's objects handed over between two turns given to the event loop's other tasks
_RANDOM = random.SystemRandom()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Backoff:
    """Capped exponential backoff with jitter: ``initial * factor**(attempt-1)``, plus up to ``jitter`` of it."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return min(self.maximum, base * (1.0 + _RANDOM.uniform(0.0, self.jitter)))


class _Gone(Exception):
    """The server no longer has the changes since our resourceVersion: relist."""


class _Failed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code


def _meta(body: Body) -> Body:
    meta = body.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _key(body: Body) -> Key:
    meta = _meta(body)
    return sys.intern(str(meta.get("namespace") or "")), sys.intern(str(meta.get("name") or ""))


def _version(body: Body) -> str:
    return str(_meta(body).get("resourceVersion") or "")


class Informer:
    """List and watch one resource (all namespaces, or one) and report changes; see the module docstring."""

    def __init__(self, *, http: httpx.AsyncClient, kind: Kind, on_event: EventHandler,
                 on_synced: SyncedHandler | None = None, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 transform: Transform | None = None, page_size: int = 500, watch_timeout: float = 300.0,
                 watch_jitter: float = 0.1, backoff: Backoff | None = None,
                 stop: asyncio.Event | None = None) -> None:
        self._http = http
        self._kind = kind
        self._on_event = on_event
        self._on_synced = on_synced
        self._path = collection_path(kind, namespace)
        self._selectors = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector))
                           if v}
        self._transform = transform
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._watch_jitter = watch_jitter
        self._backoff = backoff or Backoff()
        self._stop = stop
        self._known: dict[Key, str] = {}
        self._failures = 0  # consecutive failures (errors, 410s, empty watches) without progress
        self._what = kind.plural + (f" in {namespace}" if namespace else "")
        self.requests: collections.Counter[str] = collections.Counter()  # "list" (pages), "watch" (streams)
        self.relists = 0  # lists after the first one (410 Gone)
        self.resource_version: str | None = None  # where the next watch resumes
        self.synced = asyncio.Event()

    @property
    def object_count(self) -> int:
        """How many objects the consumer has been told exist."""
        return len(self._known)

    async def run(self) -> None:
        """List and watch until ``stop`` is set (or the task is cancelled); raises what ``on_event`` raises."""
        if self._stop is None:
            await self._run()
            return
        worker = asyncio.ensure_future(self._run())
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (worker, stopper):
                task.cancel()
            await asyncio.gather(worker, stopper, return_exceptions=True)
        error = None if worker.cancelled() else worker.exception()
        if error is not None:
            raise error

    async def _run(self) -> None:
        listed = False
        while True:
            try:
                if not listed:
                    await self._relist()
                    listed = True
                if await self._watch():
                    self._failures = 0
                    continue
                self._failures += 1  # ended at once with nothing said: do not reconnect in a tight loop
                reason = "the watch ended at once"
            except _Gone:
                listed = False
                self._failures += 1
                if self._failures == 1:  # relist at once; again without progress in between: back off
                    log.info("%s: resourceVersion %s is gone (410): relisting", self._what, self.resource_version)
                    continue
                reason = f"resourceVersion {self.resource_version} is gone (410) again"
            except (httpx.RequestError, _Failed) as error:
                self._failures += 1
                reason = f"{type(error).__name__}: {error}" if isinstance(error, httpx.RequestError) else str(error)
            delay = self._backoff.delay(self._failures)
            log.warning("%s: %s; retrying in %.1fs", self._what, reason, delay)
            await asyncio.sleep(delay)

    # -- list -----------------------------------------------------------------------------------------
    async def _relist(self) -> None:
        """List every page and hand over what is new or changed page by page (a list of 10,000 objects is
        never held decoded at once), then what the list lacks as DELETED."""
        while True:  # an expired continue token restarts the whole list, as client-go's pager does
            listed = await self._list_pages()
            if listed is not None:
                break
        seen, version, changed = listed
        if self.synced.is_set():
            self.relists += 1
        gone = [key for key in self._known if key not in seen]
        log.info("%s: listed %d at resourceVersion %s (%d gone, %d new or changed)",
                 self._what, len(seen), version, len(gone), changed)
        for done, key in enumerate(gone, start=1):
            del self._known[key]
            await self._emit("DELETED", self._tombstone(key, version))
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.resource_version = version
        if not self.synced.is_set():
            self.synced.set()
            if self._on_synced is not None:
                await self._on_synced()

    async def _list_pages(self) -> tuple[set[Key], str, int] | None:
        """One paged list: the keys it had, its resourceVersion (the first page's), how many objects were new
        or changed (handed over as they came); None when the continue token expired (list again)."""
        seen: set[Key] = set()
        version: str | None = None
        token: str | None = None
        changed = 0
        while True:
            params = {**self._selectors, "limit": str(self._page_size)}
            if token:
                params["continue"] = token
            self.requests["list"] += 1
            response = await self._http.get(self._path, params=params)
            if response.status_code == 410 and token:
                log.info("%s: the list's continue token expired: listing again", self._what)
                return None
            if response.status_code != 200:
                raise _Failed(*status_of(response))
            try:
                page = response.json()
            except ValueError:
                raise _Failed(200, "an undecodable list") from None
            meta = _meta(page)
            version = version if version is not None else str(meta.get("resourceVersion") or "")
            items = page.get("items") or []
            del page, response  # the page's objects go as they are handed over
            for item in items:
                item.setdefault("apiVersion", self._kind.api_version)  # list items carry neither
                item.setdefault("kind", self._kind.kind)
            # A handler that does not suspend would hold the event loop for a whole page: yield now and then,
            # so a Lease renewal or a probe is never starved by a large list.
            for done, item in enumerate(items, start=1):
                kept = self._keep(item)
                if kept is None:
                    continue
                key, item_version = _key(item), _version(item)
                seen.add(key)
                previous = self._known.get(key)
                if previous != item_version:
                    changed += 1
                    self._known[key] = item_version
                    await self._emit("ADDED" if previous is None else "MODIFIED", kept)
                if done % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            token = meta.get("continue") or None
            if token is None:
                return seen, version, changed

    # -- watch ----------------------------------------------------------------------------------------
    async def _watch(self) -> bool:
        """One watch stream until the server ends it. False when it ended at once without a line."""
        spread = _RANDOM.uniform(1 - self._watch_jitter, 1 + self._watch_jitter)
        seconds = max(1, round(self._watch_timeout * spread))
        params = {**self._selectors, "watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(seconds)}
        if self.resource_version:
            params["resourceVersion"] = self.resource_version
        loop = asyncio.get_running_loop()
        started, lines = loop.time(), 0
        timeout = httpx.Timeout(self._http.timeout.connect, read=seconds + READ_GRACE)
        self.requests["watch"] += 1
        async with self._http.stream("GET", self._path, params=params, timeout=timeout) as response:
            if response.status_code != 200:
                await response.aread()
                code, reason = status_of(response)
                if code == 410:
                    raise _Gone()
                raise _Failed(code, reason)
            async for line in response.aiter_lines():
                if line.strip():
                    lines += 1
                    await self._on_line(line)
        return lines > 0 or loop.time() - started >= 1.0

    async def _on_line(self, line: str) -> None:
        try:
            event = json.loads(line)
            kind, body = str(event["type"]), event["object"]
            if not isinstance(body, dict):
                raise TypeError("the event's object is not an object")
        except (ValueError, KeyError, TypeError) as error:
            raise _Failed(0, f"undecodable watch event ({type(error).__name__})") from None
        if kind == "ERROR":
            code = int(body.get("code") or 0)
            if code == 410:
                raise _Gone()
            raise _Failed(code, str(body.get("reason") or ""))
        self._failures = 0  # the watch is making progress
        if kind in ("ADDED", "MODIFIED", "DELETED"):
            await self._apply(kind, body)
        elif kind != "BOOKMARK":
            log.debug("%s: ignoring a watch event of type %s", self._what, kind)
            return
        version = _version(body)
        if version:
            self.resource_version = version

    async def _apply(self, kind: str, raw: Body) -> None:
        key, version = _key(raw), _version(raw)
        previous = self._known.get(key)
        kept = self._keep(raw)
        if kind == "DELETED" or kept is None:
            if previous is not None:
                del self._known[key]
                await self._emit("DELETED", kept if kept is not None else self._tombstone(key, version))
            return
        self._known[key] = version
        await self._emit("ADDED" if previous is None else "MODIFIED", kept)

    # -- helpers --------------------------------------------------------------------------------------
    def _keep(self, body: Body) -> Body | None:
        return body if self._transform is None else self._transform(body)

    def _tombstone(self, key: Key, version: str) -> Body:
        metadata: Body = {"name": key[1], "resourceVersion": version}
        if key[0]:
            metadata["namespace"] = key[0]
        return {"apiVersion": self._kind.api_version, "kind": self._kind.kind, "metadata": metadata}

    async def _emit(self, kind: str, body: Body) -> None:
        if log.isEnabledFor(logging.DEBUG):
            namespace, name = _key(body)
            log.debug("%s %s %s", kind, self._kind.kind, f"{namespace}/{name}" if namespace else name)
        await self._on_event(kind, body)

