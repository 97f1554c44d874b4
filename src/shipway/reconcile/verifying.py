"""Checking credentials against their registries in the background.

A check never blocks a reconcile: the reconciler says which entries it uses (``want``), and the verifier
checks each fingerprint once, then again on a slow schedule with jitter; a result that changes an outcome
calls ``on_change`` with the fingerprint so the pipelines that use it are queued. Concurrency is bounded; an
unreachable registry is a result like any other and never stops delivery.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
from collections.abc import Callable
from pathlib import Path

from shipway.adapters.registry import Credential, RegistryClient
from shipway.core.layers import EffectiveEntry
from shipway.core.verification import VerificationRecord, check_target

log = logging.getLogger(__name__)
DEFAULT_VERIFY_INTERVAL = 6 * 3600.0  # seconds between re-checks of an unchanged credential (±10% jitter)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Verifier:
    def __init__(self, *, interval: float, jitter: float = 0.1, concurrency: int = 4, ca_file: Path | None = None,
                 timeout: float = 10.0, on_change: Callable[[str], None] = lambda fingerprint: None) -> None:
        self.interval = interval
        self.jitter = jitter
        self.records: dict[str, VerificationRecord] = {}
        self.insecure: frozenset[str] = frozenset()
        self._entries: dict[str, EffectiveEntry] = {}
        self._scheduled: dict[str, asyncio.TimerHandle | asyncio.Task[None]] = {}
        self._limit = asyncio.Semaphore(concurrency)
        self._ca_file = ca_file
        self._timeout = timeout
        self._on_change = on_change
        self.checks = 0

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def want(self, entries: list[EffectiveEntry]) -> None:
        """Make sure every entry is (being) checked; entries seen before are left to their schedule."""
        if not self.enabled:
            return
        for entry in entries:
            if entry.fingerprint in self._scheduled or entry.fingerprint in self.records:
                continue
            self._entries[entry.fingerprint] = entry
            self._start(entry.fingerprint)

    def _start(self, fingerprint: str) -> None:
        self._scheduled[fingerprint] = asyncio.get_running_loop().create_task(
            self._check(fingerprint), name=f"verify-{fingerprint}")

    def _later(self, fingerprint: str) -> None:
        delay = self.interval * (1 + random.uniform(-self.jitter, self.jitter))  # noqa: S311 - jitter only
        self._scheduled[fingerprint] = asyncio.get_running_loop().call_later(delay, self._start, fingerprint)

    def forget(self, live: set[str]) -> None:
        """Stop checking fingerprints no pipeline uses any more (a rotated-away credential)."""
        for fingerprint in [f for f in self._scheduled if f not in live]:
            self._scheduled.pop(fingerprint).cancel()
            self._entries.pop(fingerprint, None)
            self.records.pop(fingerprint, None)

    async def _check(self, fingerprint: str) -> None:
        entry = self._entries.get(fingerprint)
        if entry is None:
            return
        target = check_target(entry)
        ok: bool | None
        reason: str | None
        if target is None:
            ok, reason = None, "pattern"
        else:
            async with self._limit:
                self.checks += 1
                try:
                    async with RegistryClient(ca_file=self._ca_file, insecure_registries=self.insecure,
                                              timeout=self._timeout, deadline=3 * self._timeout) as client:
                        result = await client.verify(
                            target, credential=Credential(entry.entry.username, entry.entry.password),
                            check_push=False)
                    ok, reason = result.valid.ok, None if result.valid.ok else str(result.valid.reason)
                except Exception as error:  # a bad key, say: reported, never raised into the loop
                    ok, reason = False, type(error).__name__
        now = _now()
        previous = self.records.get(fingerprint)
        changed = previous is None or previous.ok != ok or previous.reason != reason
        self.records[fingerprint] = VerificationRecord(
            registry=entry.registry, fingerprint=fingerprint, ok=ok, reason=reason, checked_at=now,
            changed_at=now if changed else previous.changed_at if previous else now)
        log.info("verified %s (%s): %s", entry.registry, fingerprint, "ok" if ok else reason)
        if fingerprint in self._entries:
            self._later(fingerprint)
        self._on_change(fingerprint)

    def close(self) -> None:
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()
