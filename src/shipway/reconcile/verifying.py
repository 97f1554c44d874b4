"""Checking credentials against their registries in the background.

A check never blocks a reconcile: the reconciler says which entries it uses (``want``), and the verifier
checks each fingerprint once (however many pipelines share it), then again on a slow schedule with jitter
(never sooner than the interval); a result that changes an outcome calls ``on_change`` with the fingerprint
so the pipelines that use it are queued. An unreachable registry is a result like any other and never stops delivery.

Fairness: checks wait in one lane per registry (``host[:port]``). At most ``per_registry`` checks of one
registry run at a time and at most ``concurrency`` in all; a free slot goes to the lanes in turn (round
robin), and every check ends after ``check_timeout`` seconds at the latest. ``per_registry`` is below
``concurrency``, so registries that hang (accept connections and never answer) hold at most
``per_registry`` slots each: while fewer than ``concurrency / per_registry`` of them hang (two, by default)
the check of any other registry starts at once, never behind theirs. However many hang, a check starts
within ``check_timeout`` times the number of lanes ahead of it divided by ``concurrency``, rounded up.

A record holds only the coarse outcome (``Unauthorized``, ``Unreachable``): statuses are read by tenants.
The detailed reason goes to the operator's log.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import functools
import logging
import random
from collections.abc import Callable
from pathlib import Path

from shipway.adapters.registry import Credential, Outcome, RegistryClient
from shipway.core.layers import EffectiveEntry
from shipway.core.timestamps import kube_time
from shipway.core.verification import PATTERN, VerificationRecord, check_target

log = logging.getLogger(__name__)
DEFAULT_VERIFY_INTERVAL = 6 * 3600.0  # seconds between re-checks of an unchanged credential (+0-10%)


def _now() -> str:
    return kube_time(datetime.datetime.now(datetime.UTC))


@dataclasses.dataclass(slots=True)
class _Lane:
    waiting: collections.deque[str] = dataclasses.field(default_factory=collections.deque)
    running: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class LaneLoad:
    """How many checks of one registry run, and how many wait for their turn."""

    running: int
    waiting: int


class Verifier:
    """Background checks of credentials. ``timeout`` bounds each exchange with a registry and
    ``check_timeout`` (three times ``timeout`` when not given) each check as a whole. ``insecure`` and
    ``trusted_realms`` are read at each check: the platform may change them at any time."""

    def __init__(self, *, interval: float, jitter: float = 0.1, concurrency: int = 4, ca_file: Path | None = None,
                 timeout: float = 10.0, on_change: Callable[[str], None] = lambda fingerprint: None,
                 per_registry: int = 2, check_timeout: float | None = None,
                 trusted_realms: frozenset[str] = frozenset()) -> None:
        if concurrency < 2 or not 1 <= per_registry < concurrency:
            raise ValueError("need concurrency >= 2 and 1 <= per_registry < concurrency")
        if timeout <= 0 or (check_timeout is not None and check_timeout <= 0):
            raise ValueError("timeouts must be positive")
        self.interval = interval
        self.jitter = jitter
        self.records: dict[str, VerificationRecord] = {}
        self.insecure: frozenset[str] = frozenset()
        self.trusted_realms = trusted_realms
        self.checks = 0
        self._concurrency = concurrency
        self._per_registry = per_registry
        self._ca_file = ca_file
        self._timeout = timeout
        self._check_timeout = 3 * timeout if check_timeout is None else check_timeout
        self._on_change = on_change
        self._entries: dict[str, EffectiveEntry] = {}
        self._scheduled: dict[str, asyncio.Handle | asyncio.Task[None]] = {}
        self._queued: dict[str, str] = {}  # fingerprint -> its lane, while it waits for its turn
        self._lanes: dict[str, _Lane] = {}
        self._turns: collections.deque[str] = collections.deque()  # lanes with waiting checks, in turn
        self._running = 0
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def want(self, entries: list[EffectiveEntry]) -> None:
        """Make sure every entry is (being) checked; entries seen before are left to their schedule."""
        if not self.enabled or self._closed:
            return
        for entry in entries:
            fingerprint = entry.fingerprint
            if fingerprint in self._scheduled or fingerprint in self._queued or fingerprint in self.records:
                continue
            self._entries[fingerprint] = entry
            self._start(fingerprint)

    def forget(self, live: set[str]) -> None:
        """Stop checking fingerprints no pipeline uses any more (a rotated-away credential)."""
        for fingerprint in [f for f in {*self._entries, *self.records} if f not in live]:
            handle = self._scheduled.pop(fingerprint, None)
            if handle is not None:
                handle.cancel()
            lane = self._queued.pop(fingerprint, None)
            if lane is not None:
                self._lanes[lane].waiting.remove(fingerprint)
                self._tidy(lane)
            self._entries.pop(fingerprint, None)
            self.records.pop(fingerprint, None)

    def load(self) -> dict[str, LaneLoad]:
        """Per registry with checks running or waiting: how many of each."""
        return {key: LaneLoad(lane.running, len(lane.waiting)) for key, lane in self._lanes.items()}

    def close(self) -> None:
        """Cancel every timer and check; nothing is checked any more."""
        self._closed = True
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()
        self._queued.clear()
        self._turns.clear()
        for lane in self._lanes.values():
            lane.waiting.clear()

    async def aclose(self) -> None:
        """:meth:`close`, then wait until the cancelled checks have ended."""
        running = [h for h in self._scheduled.values() if isinstance(h, asyncio.Task)]
        self.close()
        await asyncio.gather(*running, return_exceptions=True)

    def _start(self, fingerprint: str) -> None:
        self._scheduled.pop(fingerprint, None)
        entry = self._entries.get(fingerprint)
        if entry is None or self._closed:
            return
        target = check_target(entry)
        if target is None:  # a glob key names no single registry: nothing to ask
            loop = asyncio.get_running_loop()
            self._scheduled[fingerprint] = loop.call_soon(self._finish, fingerprint, None, PATTERN, PATTERN)
            return
        key = target.lower()
        lane = self._lanes.setdefault(key, _Lane())
        lane.waiting.append(fingerprint)
        self._queued[fingerprint] = key
        if key not in self._turns:
            self._turns.append(key)
        self._dispatch()

    def _dispatch(self) -> None:
        """Start waiting checks while slots are free, one lane after the other."""
        passed = 0
        while self._running < self._concurrency and passed < len(self._turns):
            key = self._turns[0]
            self._turns.rotate(-1)
            lane = self._lanes[key]
            if lane.running >= self._per_registry:
                passed += 1
                continue
            passed = 0
            fingerprint = lane.waiting.popleft()
            if not lane.waiting:
                self._turns.remove(key)
            del self._queued[fingerprint]
            lane.running += 1
            self._running += 1
            self.checks += 1
            task = asyncio.get_running_loop().create_task(self._check(fingerprint), name=f"verify-{fingerprint}")
            task.add_done_callback(functools.partial(self._ended, key, fingerprint))  # even if never started
            self._scheduled[fingerprint] = task

    def _ended(self, key: str, fingerprint: str, task: asyncio.Task[None]) -> None:
        self._lanes[key].running -= 1
        self._running -= 1
        if self._scheduled.get(fingerprint) is task:
            del self._scheduled[fingerprint]
        self._tidy(key)
        if not self._closed:
            self._dispatch()

    def _tidy(self, key: str) -> None:
        lane = self._lanes.get(key)
        if lane is not None and not lane.waiting:
            if key in self._turns:
                self._turns.remove(key)
            if not lane.running:
                del self._lanes[key]

    async def _check(self, fingerprint: str) -> None:
        entry = self._entries.get(fingerprint)
        target = None if entry is None else check_target(entry)
        if entry is None or target is None:
            return
        outcome, detail = await self._verify(target, entry)
        ok = outcome is Outcome.VERIFIED
        self._finish(fingerprint, ok, None if ok else str(outcome), detail)

    async def _verify(self, target: str, entry: EffectiveEntry) -> tuple[Outcome, str]:
        """The outcome of one check, and the detailed reason for the log (never a secret)."""
        try:
            async with asyncio.timeout(self._check_timeout):
                async with RegistryClient(ca_file=self._ca_file, insecure_registries=self.insecure,
                                          trusted_realms=self.trusted_realms, timeout=self._timeout,
                                          deadline=self._check_timeout) as client:
                    result = await client.verify(
                        target, credential=Credential(entry.entry.username, entry.entry.password),
                        check_push=False)
        except TimeoutError:
            return Outcome.UNREACHABLE, "timeout (the whole check)"
        except Exception as error:  # a bad key, say: reported, never raised into the loop
            return Outcome.UNREACHABLE, type(error).__name__
        return result.outcome, str(result.valid.reason or "valid")

    def _finish(self, fingerprint: str, ok: bool | None, reason: str | None, detail: str) -> None:
        self._scheduled.pop(fingerprint, None)
        entry = self._entries.get(fingerprint)
        if entry is None or self._closed:
            return
        now = _now()
        previous = self.records.get(fingerprint)
        changed = previous is None or previous.ok != ok or previous.reason != reason
        self.records[fingerprint] = VerificationRecord(
            registry=entry.registry, fingerprint=fingerprint, ok=ok, reason=reason, checked_at=now,
            changed_at=now if changed else previous.changed_at if previous else now)
        log.info("verified %s (%s): %s", entry.registry, fingerprint, detail)
        # Jitter only upwards, as client-go's wait.Jitter: re-checks spread out, and a credential is never
        # checked more than once per interval, however the rounds fall.
        delay = self.interval * (1 + random.uniform(0.0, self.jitter))  # noqa: S311 - jitter only
        self._scheduled[fingerprint] = asyncio.get_running_loop().call_later(delay, self._start, fingerprint)
        self._on_change(fingerprint)
