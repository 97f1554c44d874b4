"""The change log every write appends to, and the fan-out of its events to live watchers.

Each write gets the next value of one global resourceVersion counter, as etcd's revision does.
The log keeps the most recent events so a watch can resume from a resourceVersion it has seen: at most
``retention`` changes, none older than ``retention_seconds`` (etcd compacts what is older than five minutes,
the watch cache keeps a bounded window); a watch (or a paginated list) from a resourceVersion older than what
is kept gets 410 Gone, as from a compacted etcd.
:meth:`ChangeLog.compact` drops every kept change at once (as an etcd compaction at the current revision):
only a watch from the current resourceVersion (or none) can start after it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import Callable

from shipway_sandbox.emulator import errors, objects

GroupResource = tuple[str, str]  # (group, plural): the identity of stored objects across versions


@dataclasses.dataclass(frozen=True, kw_only=True)
class Change:
    """One committed write: the object before (None on creation) and after it."""

    revision: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: GroupResource
    namespace: str | None
    old: objects.Body | None
    new: objects.Body


class Subscription:
    """A live watcher's queue of changes of one group-resource (``None`` marks the end of the log)."""

    def __init__(self, resource: GroupResource) -> None:
        self.resource = resource
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue()


class ChangeLog:
    def __init__(self, *, retention: int = 50_000, retention_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._revision = 0
        self._compacted = 0  # the newest revision whose change is no longer kept
        self._log: collections.deque[Change] = collections.deque(maxlen=max(0, retention))
        self._times: collections.deque[float] = collections.deque(maxlen=max(0, retention))
        self.retention_seconds = retention_seconds
        self._clock = clock
        self._subscribers: dict[GroupResource, set[Subscription]] = collections.defaultdict(set)

    @property
    def revision(self) -> int:
        """The resourceVersion of the latest write (the collection resourceVersion of lists)."""
        return self._revision

    def next_revision(self) -> int:
        self._revision += 1
        return self._revision

    @property
    def compacted(self) -> int:
        """Watches from a resourceVersion older than this get 410 Gone."""
        self.expire()
        return self._compacted

    def commit(self, change: Change) -> None:
        if self._log.maxlen == 0:
            self._compacted = change.revision
        elif len(self._log) == self._log.maxlen:
            self._compacted = self._log[0].revision
        self._log.append(change)
        self._times.append(self._clock())
        self.expire()
        for subscription in self._subscribers.get(change.resource, ()):
            subscription.queue.put_nowait(change)

    def subscribe(self, resource: GroupResource, *, since: int | None) -> tuple[list[Change], Subscription]:
        """Changes after ``since`` that are still kept, and a subscription for the later ones."""
        replay = [] if since is None else self.changes_after(resource, since)
        subscription = Subscription(resource)
        self._subscribers[resource].add(subscription)
        return replay, subscription

    def expire(self) -> None:
        """Forget the changes older than ``retention_seconds`` (as etcd's periodic compaction does)."""
        if self.retention_seconds is None:
            return
        horizon = self._clock() - self.retention_seconds
        while self._times and self._times[0] < horizon:
            self._times.popleft()
            self._compacted = self._log.popleft().revision

    def changes_after(self, resource: GroupResource, since: int) -> list[Change]:
        """The kept changes of ``resource`` after revision ``since``; 410 Gone when some of them are not kept."""
        self.expire()
        if since < self._compacted:
            raise errors.Gone(f"too old resource version: {since} ({self._compacted})")
        return [c for c in self._log if c.revision > since and c.resource == resource]

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers[subscription.resource].discard(subscription)

    @property
    def watchers(self) -> int:
        """How many watch streams are open."""
        return sum(len(subscriptions) for subscriptions in self._subscribers.values())

    def compact(self) -> int:
        """Forget every kept change (an etcd compaction at the current revision); the compacted revision."""
        self._log.clear()
        self._times.clear()
        self._compacted = self._revision
        return self._compacted

    def close(self) -> None:
        """End every live watch (used at server shutdown)."""
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.queue.put_nowait(None)
