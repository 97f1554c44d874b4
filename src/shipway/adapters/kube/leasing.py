"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaderelection`` package does it.

The Lease's spec says who leads: ``holderIdentity``, ``leaseDurationSeconds``, ``acquireTime``, ``renewTime``,
``leaseTransitions``. Every write is a PUT carrying the resourceVersion that was read (optimistic
concurrency: a 409 means someone else wrote in between, so the Lease is read again), or the create of an
absent Lease (a 409 AlreadyExists: someone else created it first).

* A follower only reads the Lease, every ``retry_period``. It writes only to acquire: when the Lease is
  absent, released (no holder), or expired. Expiry is judged by the local monotonic clock, as client-go
  does: the holder's record has not changed for its ``leaseDurationSeconds`` since this elector saw it
  change. A peer's ``renewTime`` comes from the peer's clock and is not compared with ours, so skewed
  clocks cannot make two leaders.
* The leader renews every ``renew_period`` (a PUT with its last resourceVersion; no read first). When it
  has not managed to renew for ``renew_deadline`` (shorter than the lease duration, so it steps down before
  any follower may take over) or finds another holder, it stops leading and goes back to following.
* Set ``stop`` to end :meth:`LeaderElector.run` cleanly: a leader then releases the Lease (no holder, a
  one-second duration), so a follower takes over at its next read. Cancelling the task instead releases
  nothing, as a crash would: a follower takes over once the lease has expired.

``on_started_leading`` and ``on_stopped_leading`` are awaited in the election loop: they must return
promptly (start or stop work elsewhere); ``leading`` is an Event set while this elector leads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import logging
import math
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from shipway.adapters.kube.connecting import collection_path, object_path, status_of
from shipway.adapters.kube.resources import Kind

log = logging.getLogger(__name__)

LEASE = Kind("coordination.k8s.io", "v1", "Lease", "leases", True)
Callback = Callable[[], Awaitable[None]]
Body = dict[str, Any]


class _Unavailable(Exception):
    """The Lease could not be read (connection error or refusal): nothing can be concluded."""


def default_identity() -> str:
    """This host's name and a random suffix: unique per process, readable in the Lease."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


def _micro_time(moment: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 with microseconds, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Compete for one Lease; see the module docstring. Durations are in seconds."""

    def __init__(self, *, http: httpx.AsyncClient, namespace: str, name: str, identity: str | None = None,
                 lease_duration: float = 15.0, renew_period: float | None = None,
                 renew_deadline: float | None = None, retry_period: float | None = None,
                 on_started_leading: Callback | None = None, on_stopped_leading: Callback | None = None,
                 stop: asyncio.Event | None = None) -> None:
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_period = renew_period if renew_period is not None else lease_duration / 3
        self.renew_deadline = renew_deadline if renew_deadline is not None else lease_duration * 2 / 3
        self.retry_period = retry_period if retry_period is not None else self.renew_period
        if not 0 < self.renew_period < self.renew_deadline < lease_duration:
            raise ValueError("need 0 < renew_period < renew_deadline < lease_duration")
        self._http = http
        self._namespace, self._name = namespace, name
        self._path = object_path(LEASE, name, namespace)
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._stop = stop or asyncio.Event()
        self._lease: Body | None = None  # the Lease as last read or written
        self._observed_version: str | None = None
        self._observed_at = 0.0  # monotonic time at which the Lease was last seen to change
        self._renewed_at = 0.0  # monotonic time of the leader's last successful write
        self.leading = asyncio.Event()
        self.requests: collections.Counter[str] = collections.Counter()  # "get", "create", "update"

    @property
    def _seconds(self) -> int:
        """``leaseDurationSeconds`` is whole seconds: rounded up, so renew_deadline stays shorter."""
        return max(1, math.ceil(self.lease_duration))

    @property
    def is_leader(self) -> bool:
        return self.leading.is_set()

    @property
    def holder(self) -> str | None:
        """Who holds the Lease, as last seen (None: nobody, or not read yet)."""
        return (self._spec().get("holderIdentity") or None) if self._lease is not None else None

    async def run(self) -> None:
        """Follow or lead until ``stop`` is set; then release the Lease if leading."""
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set():
                attempted_at = loop.time()  # a write's deadline counts from before it was sent
                if not self.is_leader:
                    if await self._try_acquire():
                        self._renewed_at = attempted_at
                        log.info("lease %s/%s acquired by %s", self._namespace, self._name, self.identity)
                        self.leading.set()
                        if self._on_started is not None:
                            await self._on_started()
                        await self._sleep(self.renew_period)
                    else:
                        await self._sleep(self.retry_period)
                    continue
                remaining = self._renewed_at + self.renew_deadline - loop.time()
                renewed = remaining > 0 and await self._try_renew(timeout=remaining)
                if renewed:
                    self._renewed_at = attempted_at
                    await self._sleep(self.renew_period)
                elif self.is_leader and self._renewed_at + self.renew_deadline <= loop.time():
                    log.warning("lease %s/%s: not renewed within %.1fs: stepping down", self._namespace,
                                self._name, self.renew_deadline)
                    await self._step_down()
                else:
                    await self._sleep(min(self.retry_period,
                                          max(0.0, self._renewed_at + self.renew_deadline - loop.time())))
            if self.is_leader:
                await self._release()
                await self._step_down()
        finally:
            self.leading.clear()  # cancelled (a crash): nothing is released, nothing more is awaited

    # -- steps ----------------------------------------------------------------------------------------
    async def _try_acquire(self) -> bool:
        try:
            lease = await self._get(timeout=self.renew_deadline)
        except _Unavailable:
            return False
        if lease is None:
            return await self._create()
        self._observe(lease)
        holder = self._spec().get("holderIdentity") or ""
        if holder and holder != self.identity and not self._expired():
            return False
        return await self._update(self._claimed(lease, new_holder=holder != self.identity),
                                  timeout=self.renew_deadline)

    async def _try_renew(self, *, timeout: float) -> bool:
        assert self._lease is not None
        if await self._update(self._claimed(self._lease, new_holder=False), timeout=timeout):
            return True
        try:  # a 409 or an error: is it still ours?
            lease = await self._get(timeout=timeout)
        except _Unavailable:
            return False
        if lease is None:  # deleted under us: whoever creates it first leads
            return await self._create()
        self._observe(lease)
        holder = self._spec().get("holderIdentity") or ""
        if holder == self.identity:
            return False  # still ours: retried after retry_period, from the resourceVersion just read
        log.warning("lease %s/%s: now held by %s: stepping down", self._namespace, self._name, holder or "nobody")
        await self._step_down()
        return False

    async def _release(self) -> None:
        if self._lease is None:
            return
        released = copy.deepcopy(self._lease)
        now = _micro_time(datetime.now(UTC))
        released["spec"] = {**(released.get("spec") or {}), "holderIdentity": "", "leaseDurationSeconds": 1,
                            "acquireTime": now, "renewTime": now}
        if await self._update(released, timeout=self.renew_deadline):
            log.info("lease %s/%s released by %s", self._namespace, self._name, self.identity)

    async def _step_down(self) -> None:
        if not self.is_leader:
            return
        self.leading.clear()
        if self._on_stopped is not None:
            await self._on_stopped()

    # -- the Lease ------------------------------------------------------------------------------------
    def _spec(self) -> Body:
        spec = (self._lease or {}).get("spec")
        return spec if isinstance(spec, dict) else {}

    def _observe(self, lease: Body) -> None:
        self._lease = lease
        version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        if version != self._observed_version:
            self._observed_version = version
            self._observed_at = asyncio.get_running_loop().time()

    def _expired(self) -> bool:
        duration = float(self._spec().get("leaseDurationSeconds") or self.lease_duration)
        return self._observed_at + duration <= asyncio.get_running_loop().time()

    def _claimed(self, lease: Body, *, new_holder: bool) -> Body:
        claimed = copy.deepcopy(lease)
        spec = dict(claimed.get("spec") or {})
        now = _micro_time(datetime.now(UTC))
        if new_holder or not spec.get("acquireTime"):
            spec["acquireTime"] = now
        if new_holder:
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=self._seconds,
                    renewTime=now)
        claimed["spec"] = spec
        return claimed

    async def _get(self, *, timeout: float) -> Body | None:
        """The Lease, or None when there is none; :class:`_Unavailable` when the answer says neither."""
        self.requests["get"] += 1
        response = await self._request("GET", self._path, timeout=timeout)
        if response is None:
            raise _Unavailable()
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("lease %s/%s: read refused: %s %s", self._namespace, self._name, *status_of(response))
            raise _Unavailable()
        try:
            lease: Body = response.json()
        except ValueError:
            raise _Unavailable() from None
        return lease

    async def _create(self) -> bool:
        now = _micro_time(datetime.now(UTC))
        body = {"apiVersion": LEASE.api_version, "kind": LEASE.kind,
                "metadata": {"name": self._name, "namespace": self._namespace},
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": self._seconds,
                         "acquireTime": now, "renewTime": now, "leaseTransitions": 0}}
        self.requests["create"] += 1
        response = await self._request("POST", collection_path(LEASE, self._namespace), json=body,
                                       timeout=self.renew_deadline)
        return response is not None and self._written(response)

    async def _update(self, lease: Body, *, timeout: float) -> bool:
        self.requests["update"] += 1
        response = await self._request("PUT", self._path, json=lease, timeout=timeout)
        return response is not None and self._written(response)

    def _written(self, response: httpx.Response) -> bool:
        if response.status_code in (200, 201):
            try:
                self._observe(response.json())
            except ValueError:  # written, but unreadable: the next renewal's 409 makes it read again
                return False
            return True
        code, reason = status_of(response)
        if code != 409:  # 409: a peer wrote first; anything else is worth a line
            log.warning("lease %s/%s: write refused: %s %s", self._namespace, self._name, code, reason)
        return False

    async def _request(self, method: str, path: str, *, timeout: float, json: Body | None = None
                       ) -> httpx.Response | None:
        try:
            return await self._http.request(method, path, json=json, timeout=max(0.05, timeout))
        except httpx.RequestError as error:
            log.warning("lease %s/%s: %s %s failed: %s", self._namespace, self._name, method,
                        type(error).__name__, error)
            return None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, seconds))
