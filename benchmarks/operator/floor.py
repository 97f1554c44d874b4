"""The floor: a minimal client that makes exactly the minimal writes for the workload, straight to the emulator,
as fast as the emulator allows. The operator's converge and rotation times are reported as ratios to it.

It replays what the operator made in the same benchmark run (a :class:`~benchmarks.operator.workload.Snapshot`
taken after convergence, and the rotated objects after the rotation), so each of its writes carries the same
content as the operator's: the same objects, labels, annotations and statuses, ownerReferences pointing at the
floor's own Pipelines. It writes with the operator's ServiceAccount token (so the emulator authorizes and
fences its writes as it does the operator's) over async httpx, the operator's HTTP library, with
:data:`~benchmarks.operator.common.FLOOR_CONCURRENCY` (4) requests in flight on as many connections.

Why 4: the emulator serves every request on one event loop, so it allows one request at a time to make
progress; a few in flight keep it busy (measured at 100 pipelines with RBAC: the floor's wall time equals the
emulator's CPU time at 4 in flight, with httpx or aiohttp alike). More in flight only queue in the emulator, and
cost httpx more than the emulator: httpcore's pool checks every pooled connection on each request (a
``getpeername`` and a ``select`` per connection), and without ``sniffio`` installed it re-runs a failing
``import sniffio`` several times per request; at 64 connections the same floor took 10.2 s against 2.6 s,
9.6 s of it in the client. ``--floor-client aiohttp`` and ``--floor-concurrency`` change both.

What it knows, it knows at once: a Pipeline's uid from the answer to its create, the platform's rotation
from having sent it. It does not wait for any watch but one: a phase namespace's ``default``
ServiceAccount must have been made by the emulator's ServiceAccount controller before it is patched (as
the operator, it watches them; the minimal writes count a patch of that ServiceAccount, not a create).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from benchmarks.operator.api import Connection, api_path
from benchmarks.operator.common import FLOOR_AGENT, FLOOR_CONCURRENCY, PHASES, BenchmarkError
from benchmarks.operator.workload import Snapshot, Workload

Body = dict[str, Any]
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                 "deletionTimestamp", "deletionGracePeriodSeconds")
# Per phase namespace, in the order the operator makes them (the pull secret before the default account names it).
OBJECTS = (("v1", "secrets", "shipway-pull"), ("v1", "secrets", "shipway-push"),
           ("v1", "serviceaccounts", "shipway-builder"), ("rbac.authorization.k8s.io/v1", "roles", "shipway-builder"),
           ("rbac.authorization.k8s.io/v1", "rolebindings", "shipway-builder"))


def clean(obj: Body) -> Body:
    """An object as a client creates it: without the server's fields and status."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    out["metadata"] = {k: v for k, v in out["metadata"].items() if k not in SERVER_FIELDS}
    labels = dict(out["metadata"].get("labels") or {})
    labels.pop("kubernetes.io/metadata.name", None)  # the server's own on namespaces
    out["metadata"]["labels"] = labels
    return out


@dataclass
class Plan:
    """What the floor writes: per phase namespace its Namespace, its objects and the default ServiceAccount's
    patch; per pipeline its status; the Platform's status; and the rotation's patches."""

    namespaces: dict[str, Body] = field(default_factory=dict)
    objects: dict[str, list[tuple[str, str, Body]]] = field(default_factory=dict)  # ns -> (apiVersion, plural, obj)
    default_patches: dict[str, Body] = field(default_factory=dict)
    statuses: dict[str, Body] = field(default_factory=dict)
    platform_status: Body | None = None
    rotated_pull: dict[str, Body] = field(default_factory=dict)  # ns -> patch of shipway-pull
    rotated_statuses: dict[str, Body] = field(default_factory=dict)

    @classmethod
    def from_snapshots(cls, workload: Workload, created: Snapshot, rotated: Snapshot | None) -> Plan:
        plan = cls()
        for name in workload.names:
            for ns in workload.namespaces_of(name):
                held = created.objects[ns]
                plan.namespaces[ns] = clean(created.namespaces[ns])
                plan.objects[ns] = [(v, p, clean(held[f"{p}/{n}"])) for v, p, n in OBJECTS]
                account = held["serviceaccounts/default"]
                meta = account["metadata"]
                patch: Body = {"imagePullSecrets": account.get("imagePullSecrets") or []}
                extra = {k: meta[k] for k in ("labels", "annotations") if meta.get(k)}
                if extra:
                    patch["metadata"] = extra
                plan.default_patches[ns] = patch
            plan.statuses[name] = created.pipelines[name]["status"]
        if created.platform is not None:
            plan.platform_status = created.platform.get("status")
        if rotated is not None:
            for name in workload.inheriting_names:
                for ns in workload.namespaces_of(name):
                    secret = rotated.objects[ns]["secrets/shipway-pull"]
                    plan.rotated_pull[ns] = {"metadata": {"annotations": secret["metadata"].get("annotations") or {}},
                                             "data": secret["data"]}
                plan.rotated_statuses[name] = rotated.pipelines[name]["status"]
        return plan


class Floor:
    """The floor client: ``concurrency`` requests in flight (and as many connections), the operator's token,
    over httpx (default, the operator's library) or aiohttp (``client="aiohttp"``)."""

    def __init__(self, connection: Connection, *, concurrency: int = FLOOR_CONCURRENCY, client: str = "httpx") -> None:
        self.client = client
        headers = connection.headers(FLOOR_AGENT)
        verify = connection.ssl_context()
        if client == "httpx":
            self.http: Any = httpx.AsyncClient(
                base_url=connection.url, headers=headers, verify=verify, timeout=httpx.Timeout(120.0),
                limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))
        elif client == "aiohttp":
            self.http = aiohttp.ClientSession(
                base_url=connection.url, headers=headers, timeout=aiohttp.ClientTimeout(total=120),
                connector=aiohttp.TCPConnector(limit=concurrency, ssl=verify))
        else:
            raise ValueError(f"unknown floor client {client!r}")
        self.gate = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.writes = 0
        self.accounts: dict[str, asyncio.Event] = {}  # phase namespace -> its default ServiceAccount exists

    async def close(self) -> None:
        if self.client == "httpx":
            await self.http.aclose()
        else:
            await self.http.close()

    async def warm_up(self) -> None:
        """Open every connection (TLS included) and load the client's code before the clock starts, as the
        operator's are by the time pipelines arrive: one read per connection, none of them a write."""
        async def read() -> None:
            if self.client == "httpx":
                (await self.http.get(api_path("v1", "namespaces", name="default"))).raise_for_status()
            else:
                async with self.http.get(api_path("v1", "namespaces", name="default")) as answer:
                    answer.raise_for_status()
                    await answer.read()

        await asyncio.gather(*(read() for _ in range(self.concurrency)))

    def account_seen(self, namespace: str) -> None:
        self.accounts.setdefault(namespace, asyncio.Event()).set()

    async def _send(self, method: str, path: str, body: Body, *, merge: bool = False) -> Body:
        headers = {"Content-Type": "application/merge-patch+json" if merge else "application/json"}
        data = json.dumps(body, separators=(",", ":")).encode()
        async with self.gate:
            if self.client == "httpx":
                response = await self.http.request(method, path, content=data, headers=headers)
                status, raw = response.status_code, response.content
            else:
                async with self.http.request(method, path, data=data, headers=headers) as answer:
                    status, raw = answer.status, await answer.read()
        self.writes += 1
        if status >= 400:
            raise BenchmarkError(f"floor: {method} {path}: HTTP {status}: {raw[:300].decode(errors='replace')}")
        return dict(json.loads(raw))

    async def _phase(self, plan: Plan, ns: str, owner: dict[str, str]) -> None:
        await self._send("POST", "/api/v1/namespaces", _owned(plan.namespaces[ns], owner))
        # A RoleBinding after its Role, as the operator writes them: the API server checks a binding against
        # the rules of the Role it names (RBAC escalation), and refuses it while that Role does not exist.
        first = [(v, p, obj) for v, p, obj in plan.objects[ns] if p != "rolebindings"]
        then = [(v, p, obj) for v, p, obj in plan.objects[ns] if p == "rolebindings"]
        for batch in (first, then):
            await asyncio.gather(*(self._send("POST", api_path(v, p, namespace=ns), _owned(obj, owner))
                                   for v, p, obj in batch))
        await self.accounts.setdefault(ns, asyncio.Event()).wait()
        await self._send("PATCH", api_path("v1", "serviceaccounts", namespace=ns, name="default"),
                         plan.default_patches[ns], merge=True)

    async def pipeline(self, plan: Plan, name: str, created: Body) -> None:
        """Everything one pipeline needs, once its create has been answered."""
        owner = {"name": name, "uid": created["metadata"]["uid"]}
        await asyncio.gather(*(self._phase(plan, f"{name}-{phase}", owner) for phase in PHASES))
        await self._send("PATCH", api_path("shipway.dev/v1alpha1", "pipelines", name=name, subresource="status"),
                         {"status": plan.statuses[name]}, merge=True)

    async def platform(self, plan: Plan) -> None:
        if plan.platform_status is not None:
            await self._send("PATCH", api_path("shipway.dev/v1alpha1", "platforms", name="default",
                                               subresource="status"), {"status": plan.platform_status}, merge=True)

    async def rotate(self, plan: Plan) -> None:
        """The rotation's minimal writes: each inheriting ``shipway-pull``, then each inheriting status."""
        async def status(name: str) -> None:
            await self._send("PATCH", api_path("shipway.dev/v1alpha1", "pipelines", name=name, subresource="status"),
                             {"status": plan.rotated_statuses[name]}, merge=True)

        async def pipeline(name: str) -> None:
            await asyncio.gather(*(self._send("PATCH", api_path("v1", "secrets", namespace=ns, name="shipway-pull"),
                                              plan.rotated_pull[ns], merge=True)
                                   for ns in (f"{name}-{phase}" for phase in PHASES)))
            await status(name)

        await asyncio.gather(*(pipeline(name) for name in plan.rotated_statuses))


def _owned(obj: Body, owner: dict[str, str]) -> Body:
    """The object with its ownerReferences to a Pipeline pointing at the floor's Pipeline of that name."""
    refs = obj["metadata"].get("ownerReferences")
    if not refs:
        return obj
    out = {**obj, "metadata": {**obj["metadata"], "ownerReferences": [
        {**ref, "uid": owner["uid"]} if ref.get("kind") == "Pipeline" and ref.get("name") == owner["name"] else ref
        for ref in refs]}}
    return out


async def converge(floor: Floor, plan: Plan, names: list[str],
                   create: Callable[[str], Awaitable[Body]], *, concurrency: int) -> float:
    """Create the pipelines (``create``, the benchmark's own creates, ``concurrency`` in flight, as in the
    operator's run) and, as each create is answered, write what that pipeline needs; the Platform's status
    at once. Returns the monotonic time of the first create."""
    gate = asyncio.Semaphore(concurrency)
    started = time.monotonic()
    chains: list[asyncio.Task[None]] = []

    async def one(name: str) -> None:
        async with gate:
            created = await create(name)
        chains.append(asyncio.create_task(floor.pipeline(plan, name, created)))

    platform = asyncio.create_task(floor.platform(plan))
    await asyncio.gather(*(one(name) for name in names))
    await asyncio.gather(platform, *chains)
    return started
