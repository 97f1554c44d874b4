"""When the control plane's controllers act: their lags (:class:`Timing`) and their timers (:class:`Timers`).

On a real cluster the garbage collector, the namespace controller and the ServiceAccount controller are other
processes (kube-controller-manager) that react to watch events: what they do happens after the request that
caused it has been answered, a moment later. Here each reaction is a timer on the event loop, keyed so that a
burst of changes makes one pass (``gc``, ``namespace/NAME``, ``serviceaccount/NAME``).

Without a running event loop (the cluster used synchronously, as some unit tests do) the reactions queue up
and :meth:`Timers.drain` runs them, in order, at the end of the write that caused them.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Defaults: what a small, idle cluster shows (kube-controller-manager's informers react within milliseconds, the
# ServiceAccount controller's queue and the namespace controller's discovery and per-resource deletions make
# their results appear within about a second).
SERVICE_ACCOUNT_DELAY = 1.0
GC_DELAY = 0.1
NAMESPACE_DELETION_DELAY = 1.0


@dataclasses.dataclass(kw_only=True)
class Timing:
    """The lags of the built-in controllers, in seconds."""

    service_account_delay: float = SERVICE_ACCOUNT_DELAY  # a new namespace (or a deleted ``default``) → ``default``
    gc_delay: float = GC_DELAY  # a change of ownership → the garbage collector's next pass
    namespace_deletion_delay: float = NAMESPACE_DELETION_DELAY  # a deleted namespace → a namespace controller pass


class Timers:
    """Delayed actions, at most one pending per key."""

    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._queued: collections.OrderedDict[str, Callable[[], None]] = collections.OrderedDict()
        self._draining = False

    def later(self, key: str, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` seconds, unless an action of this key is already pending."""
        if key in self._handles or key in self._queued:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._queued[key] = action
            return

        def run() -> None:
            self._handles.pop(key, None)
            try:
                action()
            except Exception:  # a controller's bug must not stop the event loop's other work
                logger.exception("emulator controller %s failed", key)

        self._handles[key] = loop.call_later(max(0.0, delay), run)

    @property
    def pending(self) -> list[str]:
        """The keys of the actions not run yet."""
        return [*self._handles, *self._queued]

    def drain(self) -> None:
        """Run the queued actions (only queued without an event loop), and those they queue, until none is left."""
        if self._draining:
            return
        self._draining = True
        try:
            while self._queued:
                _key, action = self._queued.popitem(last=False)
                action()
        finally:
            self._draining = False

    def cancel(self) -> None:
        """Forget every pending action (the server is shutting down)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        self._queued.clear()
