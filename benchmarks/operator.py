"""The operator benchmark: writes, reads, idle requests, rotation latency and peak RSS, over real HTTP.

``python -m benchmarks.operator --pipelines N [--unrelated-secrets M] [--inheriting K] [--idle-seconds S]``

The emulator (``python -m shipway.sandbox.emulator``) and the operator (``python -m shipway operator run
--standalone``) each run in a process of their own; this process is only a client of the emulator, with
its own User-Agent, so the emulator's request ledger (``/_emulator/requests``) tells the operator's
requests (User-Agent ``shipway-operator/...`` or ``kopf/...``) apart from ours.

The workload runs twice, each time against a fresh emulator and a fresh operator: first with M unrelated
Secrets in the cluster, then without them. Both runs measure everything; the headline figures come from
the first run, except ``rss_mb`` which is the second run's peak RSS (``rss_mb_with_unrelated`` is the
first's). See benchmarks/README.md for what each figure means and how the minimal writes are computed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import datetime
import importlib.metadata
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

import shipway
from shipway.core.crds import custom_resource_definitions

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
REPO = Path(__file__).resolve().parent.parent

BENCH_AGENT = "shipway-bench/1"
OPERATOR_AGENTS = ("shipway-operator/", "kopf/")
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

SYSTEM_NAMESPACE = "shipway-system"
SOURCES_NAMESPACE = "bench-sources"
UNRELATED_NAMESPACES = 5
PHASES = ("stage", "production")
PULL_SECRET = "default-registry"
PUSH_SECRET = "push-registry"
CREDENTIAL_LABEL = "shipway.dev/credential"
PIPELINE_LABEL = "shipway.dev/pipeline"
MANAGED_SELECTOR = "app.kubernetes.io/managed-by=shipway"
CONSENT_ANNOTATION = "shipway.dev/allowed-pipelines"
CONCURRENCY = 64  # requests in flight for bulk creation
SETTLE_SECONDS = 3.0  # the ledger must stay unchanged this long before a phase's requests are counted
GOAL_RSS_PERCENT = 5.0

_T0 = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


class BenchmarkError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------- deadline


class Deadline:
    """The hard overall time limit: every wait checks it."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str) -> None:
        if self.remaining() <= 0:
            raise BenchmarkError(f"overall timeout reached while {what}")


# ------------------------------------------------------------------------------------- child processes

_CHILDREN: list[Child] = []


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the benchmark dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A process of ours (emulator or operator), its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent, cwd=REPO)
        _CHILDREN.append(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for(self, needle: str, *, timeout: float, deadline: Deadline) -> str:
        """Wait for a log line containing ``needle``; return that line."""
        limit = time.monotonic() + min(timeout, max(0.0, deadline.remaining()))
        while time.monotonic() < limit:
            for line in self.text().splitlines():
                if needle in line:
                    return line
            if self.process.poll() is not None:
                raise BenchmarkError(f"{self.name} exited ({self.process.returncode}) before {needle!r}:\n"
                                     f"{self.text()[-3000:]}")
            await asyncio.sleep(0.05)
        raise BenchmarkError(f"{self.name}: {needle!r} not seen within {timeout:.0f}s:\n{self.text()[-3000:]}")

    def memory(self) -> dict[str, float]:
        """VmHWM (peak resident set) and VmRSS in MiB, from /proc."""
        out: dict[str, float] = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = round(int(value.split()[0]) / 1024, 1)
        return out

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far, from /proc."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        if self in _CHILDREN:
            _CHILDREN.remove(self)
        return self.process.returncode


def stop_all_children() -> None:
    for child in reversed(list(_CHILDREN)):  # the operator (started last) before the emulator
        with contextlib.suppress(Exception):
            child.stop()


# --------------------------------------------------------------------------------------------- the API


def api_path(api_version: str, plural: str, *, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    if name:
        base += f"/{name}"
    return base + (f"/{subresource}" if subresource else "")


class Kube:
    """A minimal asynchronous client of the emulator (not the product's), with the benchmark's User-Agent.

    aiohttp rather than httpx: with httpcore 1.0.9 and no ``sniffio`` installed, every httpx request re-runs a
    failing ``import sniffio`` (a sys.path scan), ~4 ms of CPU per request here; the benchmark's own client
    would then compete with the operator for this machine's two cores.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = aiohttp.ClientSession(
            base_url=url, headers={"User-Agent": BENCH_AGENT},
            connector=aiohttp.TCPConnector(limit=CONCURRENCY + 4),
            timeout=aiohttp.ClientTimeout(total=120, sock_connect=10))

    async def close(self) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, *, what: str, params: dict[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json", ok: tuple[int, ...] = ()
                      ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": content_type} if data is not None else None
        async with self.session.request(method, path, params=params, data=data, headers=headers) as response:
            raw = await response.read()
            if response.status >= 400 and response.status not in ok:
                raise BenchmarkError(f"{what}: HTTP {response.status}: {raw[:500].decode(errors='replace')}")
            return response.status, (json.loads(raw) if raw else None)

    async def create(self, obj: dict[str, Any], plural: str) -> dict[str, Any]:
        meta = obj["metadata"]
        path = api_path(obj["apiVersion"], plural, namespace=meta.get("namespace"))
        _, created = await self.request("POST", path, body=obj,
                                        what=f"create {plural} {meta.get('namespace', '')}/{meta['name']}")
        return dict(created)

    async def patch(self, api_version: str, plural: str, name: str, body: Any, *,
                    namespace: str | None = None) -> dict[str, Any]:
        _, patched = await self.request("PATCH", api_path(api_version, plural, namespace=namespace, name=name),
                                        body=body, content_type="application/merge-patch+json",
                                        what=f"patch {plural} {namespace or ''}/{name}")
        return dict(patched)

    async def list(self, api_version: str, plural: str, *, selector: str | None = None) -> dict[str, Any]:
        params = {"labelSelector": selector} if selector else None
        _, listed = await self.request("GET", api_path(api_version, plural), params=params, what=f"list {plural}")
        return dict(listed)

    async def served(self, api_version: str, plural: str) -> bool:
        status, _ = await self.request("GET", api_path(api_version, plural), what=f"list {plural}", ok=(404,))
        return status == 200

    async def ledger(self) -> list[dict[str, Any]]:
        _, data = await self.request("GET", "/_emulator/requests", what="read the request ledger")
        records = list(data["requests"])
        if int(data["total"]) != len(records):
            raise BenchmarkError(f"the request ledger dropped records ({data['total']} recorded, "
                                 f"{len(records)} kept): indexes into it would be wrong")
        return records

    async def reset_ledger(self) -> None:
        await self.request("POST", "/_emulator/requests/reset", what="reset the request ledger")


async def bulk(items: Iterable[Any], action: Callable[[Any], Awaitable[Any]], *, concurrency: int = CONCURRENCY
               ) -> None:
    """Run ``action`` on every item, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> None:
        async with gate:
            await action(item)

    await asyncio.gather(*(one(item) for item in items))


class Watch:
    """A list-then-watch of one resource from the benchmark: objects by (namespace, name), a callback per event
    with the monotonic time it arrived. Its requests are the benchmark's, not the operator's."""

    def __init__(self, url: str, api_version: str, plural: str, *, selector: str | None = None,
                 on_event: Callable[[str, dict[str, Any], float], None] | None = None) -> None:
        self.path = api_path(api_version, plural)
        self.selector = selector
        self.on_event = on_event
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.session = aiohttp.ClientSession(base_url=url, headers={"User-Agent": BENCH_AGENT},
                                             timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    def _apply(self, event_type: str, obj: dict[str, Any], when: float) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        if event_type == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        if self.on_event is not None:
            self.on_event(event_type, obj, when)

    async def start(self) -> None:
        params = {"labelSelector": self.selector} if self.selector else {}
        async with self.session.get(self.path, params=params) as response:
            if response.status >= 400:
                raise BenchmarkError(f"list {self.path}: HTTP {response.status}")
            data = json.loads(await response.read())
        now = time.monotonic()
        for item in data.get("items") or []:
            self._apply("ADDED", item, now)
        self._task = asyncio.create_task(self._run(str(data["metadata"]["resourceVersion"])))

    async def _run(self, version: str) -> None:
        params = {"watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true"}
        if self.selector:
            params["labelSelector"] = self.selector
        try:
            async with self.session.get(self.path, params=params) as response:
                if response.status >= 400:
                    raise BenchmarkError(f"watch {self.path}: HTTP {response.status}")
                buffer = b""
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    now = time.monotonic()
                    for line in lines:
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        if event["type"] == "BOOKMARK":
                            continue
                        if event["type"] == "ERROR":
                            raise BenchmarkError(f"watch {self.path}: {event['object']}")
                        self._apply(event["type"], event["object"], now)
            raise BenchmarkError(f"watch {self.path}: the stream ended")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # reported by the waits that rely on this watch
            self.error = error

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.session.close()


# ---------------------------------------------------------------------------------------------- workload


class ClosedPorts:
    """TCP ports on 127.0.0.1 that are bound but never listen: a connection to them is refused at once.

    The workload's registries live there, so the operator's background registry checks (on by default) stay
    on this machine, fail fast and cost what a real check's status update costs."""

    def __init__(self, count: int) -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            self.sockets.append(sock)
        self.ports = [int(s.getsockname()[1]) for s in self.sockets]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()



def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def dockerconfig(entries: dict[str, tuple[str, str]]) -> bytes:
    return json.dumps({"auths": {key: {"username": user, "password": password,
                                       "auth": b64(f"{user}:{password}".encode())}
                                 for key, (user, password) in entries.items()}}).encode()


def docker_secret(namespace: str, name: str, entries: dict[str, tuple[str, str]], *,
                  labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {},
                         "annotations": annotations or {}},
            "data": {".dockerconfigjson": b64(dockerconfig(entries))}}


def decoded_auths(secret: dict[str, Any]) -> dict[str, Any]:
    raw = (secret.get("data") or {}).get(".dockerconfigjson")
    if not raw:
        return {}
    try:
        return dict(json.loads(base64.b64decode(raw)).get("auths") or {})
    except ValueError:
        return {}


@dataclass(frozen=True)
class Workload:
    pipelines: int
    inheriting: int
    unrelated_secrets: int
    pull_registry: str  # the platform default pull credential's registry (the credential rotated)
    push_registry: str  # the platform push target

    @property
    def names(self) -> list[str]:
        return [f"bench-{i:05d}" for i in range(self.pipelines)]

    def inherits(self, name: str) -> bool:
        return int(name.rsplit("-", 1)[1]) < self.inheriting

    @property
    def inheriting_names(self) -> list[str]:
        return [n for n in self.names if self.inherits(n)]

    @staticmethod
    def namespaces_of(name: str) -> list[str]:
        return [f"{name}-{phase}" for phase in PHASES]

    def pipeline(self, name: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"phases": [{"name": phase} for phase in PHASES]}
        if not self.inherits(name):
            spec["registry"] = {"inherit": False, "credentials": [
                {"secretRef": {"namespace": SOURCES_NAMESPACE, "name": f"src-{name}"}, "usage": ["pull", "push"]}]}
        return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name}, "spec": spec}

    def expected_pull_registries(self, name: str) -> set[str]:
        # Inheriting: the platform's pull-only credential. Own: the pipeline's pull+push credential.
        return {self.pull_registry} if self.inherits(name) else {self.push_registry}


def minimal_writes(workload: Workload) -> Counter[str]:
    """The fewest write requests that can deliver the workload, by resource (``plural[/subresource]``).

    Per phase namespace: the Namespace (create), ``shipway-pull`` (create: every pull source lives outside the
    phase namespace, so it must be copied), ``shipway-push``, the ServiceAccount ``shipway-builder``, its Role
    and RoleBinding (one create each), and ONE write of the ``default`` ServiceAccount so that it lists
    ``shipway-pull`` (a create with the entry, or a patch of the one the ServiceAccount controller made).
    Per pipeline: one write of its status (Ready, with the delivered entries). Once: the Platform's status
    (it has none when the operator starts). Nothing else is needed.
    """
    namespaces = workload.pipelines * len(PHASES)
    return Counter({
        "namespaces": namespaces,
        "secrets": 2 * namespaces,
        "serviceaccounts": 2 * namespaces,
        "roles": namespaces,
        "rolebindings": namespaces,
        "pipelines/status": workload.pipelines,
        "platforms/status": 1,
    })


def minimal_rotation_writes(workload: Workload, *, verifying: bool) -> Counter[str]:
    """Rotating the platform pull credential: ``shipway-pull`` of every inheriting phase namespace changes (one
    patch each), and so does each inheriting pipeline's status (its entries' fingerprints): one patch each.
    With registry verification on, the Platform's status shows its credentials' fingerprints: one patch more.
    Nothing else reads that credential."""
    minimal = Counter({"secrets": workload.inheriting * len(PHASES), "pipelines/status": workload.inheriting})
    if verifying:
        minimal["platforms/status"] = 1
    return minimal


async def setup_cluster(kube: Kube, workload: Workload, *, unrelated: int, platform_password: str
                        ) -> dict[str, float]:
    """CRDs, namespaces, the platform credentials and Platform ``default``, the pipelines' own source Secrets,
    and ``unrelated`` Secrets without any Shipway label."""
    durations: dict[str, float] = {}
    started = time.monotonic()
    for crd in custom_resource_definitions():
        await kube.create(crd, "customresourcedefinitions")
    for _ in range(200):  # served once the CRDs are in
        if await kube.served("shipway.dev/v1alpha1", "pipelines"):
            break
        await asyncio.sleep(0.05)
    else:
        raise BenchmarkError("the Pipeline CRD is not served")
    unrelated_namespaces = [f"unrelated-{i}" for i in range(UNRELATED_NAMESPACES)] if unrelated else []
    for ns in (SYSTEM_NAMESPACE, SOURCES_NAMESPACE, *unrelated_namespaces):
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, "namespaces")
    label = {CREDENTIAL_LABEL: "true"}
    await kube.create(docker_secret(SYSTEM_NAMESPACE, PULL_SECRET, {workload.pull_registry: ("platform-pull",
                                                                                     platform_password)},
                                    labels=label), "secrets")
    await kube.create(docker_secret(SYSTEM_NAMESPACE, PUSH_SECRET, {workload.push_registry: ("platform-push",
                                                                                     secrets.token_urlsafe(18))},
                                    labels=label), "secrets")
    await kube.create({
        "apiVersion": "shipway.dev/v1alpha1", "kind": "Platform", "metadata": {"name": "default"},
        "spec": {"systemNamespace": SYSTEM_NAMESPACE, "registry": {
            "credentials": [
                {"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": PULL_SECRET}, "usage": ["pull"]},
                {"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": PUSH_SECRET}, "usage": ["push"]},
            ],
            "push": {"registry": workload.push_registry, "repositoryPrefix": "apps"}}}}, "platforms")
    own = [n for n in workload.names if not workload.inherits(n)]
    await bulk(own, lambda name: kube.create(docker_secret(
        SOURCES_NAMESPACE, f"src-{name}", {workload.push_registry: (f"{name}-bot", secrets.token_urlsafe(18))},
        labels=label, annotations={CONSENT_ANNOTATION: name}), "secrets"))
    durations["setup_seconds"] = round(time.monotonic() - started, 2)

    started = time.monotonic()
    filler = b64(os.urandom(768))  # ~1 KiB per Secret once encoded, as a typical small Secret

    def unrelated_secret(i: int) -> dict[str, Any]:
        ns = unrelated_namespaces[i % len(unrelated_namespaces)]
        if i % 2:  # half of them docker config Secrets too, only without the label
            obj = docker_secret(ns, f"unrelated-{i:06d}", {f"r{i}.other.test": ("someone", filler[:64])},
                                labels={"app": "unrelated"})
        else:
            obj = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                   "metadata": {"name": f"unrelated-{i:06d}", "namespace": ns, "labels": {"app": "unrelated"}},
                   "data": {"blob": filler}}
        return obj

    await bulk(range(unrelated), lambda i: kube.create(unrelated_secret(i), "secrets"))
    durations["unrelated_secrets_seconds"] = round(time.monotonic() - started, 2)
    return durations


async def verify_objects(kube: Kube, workload: Workload) -> list[str]:
    """What is missing or wrong in the phase namespaces (empty when every namespace holds its objects)."""
    namespaces = {n["metadata"]["name"]: n for n in (await kube.list("v1", "namespaces",
                                                                     selector=PIPELINE_LABEL))["items"]}
    by_ns: dict[str, dict[str, dict[str, Any]]] = {}
    for api_version, plural in (("v1", "secrets"), ("v1", "serviceaccounts"),
                                ("rbac.authorization.k8s.io/v1", "roles"),
                                ("rbac.authorization.k8s.io/v1", "rolebindings")):
        for item in (await kube.list(api_version, plural, selector=PIPELINE_LABEL))["items"]:
            meta = item["metadata"]
            by_ns.setdefault(meta["namespace"], {})[f"{plural}/{meta['name']}"] = item
    problems: list[str] = []
    for name in workload.names:
        for ns in workload.namespaces_of(name):
            if ns not in namespaces:
                problems.append(f"{ns}: no Namespace")
                continue
            held = by_ns.get(ns, {})
            for key in ("secrets/shipway-pull", "secrets/shipway-push", "serviceaccounts/shipway-builder",
                        "roles/shipway-builder", "rolebindings/shipway-builder", "serviceaccounts/default"):
                if key not in held:
                    problems.append(f"{ns}: no {key}")
            pull = held.get("secrets/shipway-pull")
            if pull is not None and set(decoded_auths(pull)) != workload.expected_pull_registries(name):
                problems.append(f"{ns}: shipway-pull holds {sorted(decoded_auths(pull))}")
            push = held.get("secrets/shipway-push")
            if push is not None and set(decoded_auths(push)) != {workload.push_registry}:
                problems.append(f"{ns}: shipway-push holds {sorted(decoded_auths(push))}")
            account = held.get("serviceaccounts/default")
            if account is not None and "shipway-pull" not in [r.get("name") for r in
                                                               account.get("imagePullSecrets") or []]:
                problems.append(f"{ns}: the default ServiceAccount does not list shipway-pull")
    return problems


# ------------------------------------------------------------------------------------------ the ledger


def is_operator(record: dict[str, Any]) -> bool:
    return str(record.get("user_agent", "")).startswith(OPERATOR_AGENTS)


def resource_of(record: dict[str, Any]) -> str:
    plural = record.get("plural")
    if not plural:  # discovery and other non-resource paths
        return str(record["path"])
    return f"{plural}/{record['subresource']}" if record.get("subresource") else str(plural)


def describe(record: dict[str, Any]) -> str:
    verb = record.get("verb") or "discovery"
    return (f"{verb}: {record['method']} {record['path']} -> {record['status']} "
            f"({record['user_agent'].split('/')[0]})")


def is_read(record: dict[str, Any]) -> bool:
    """GET and LIST, discovery included; watches are not reads of state (they are the cache's feed)."""
    return record["method"] == "GET" and record.get("verb") != "watch"


def write_summary(records: list[dict[str, Any]], minimal: Counter[str]) -> dict[str, Any]:
    """The operator's write requests by resource and verb, against the minimum; failed ones listed."""
    writes = [r for r in records if is_operator(r) and r.get("verb") in WRITE_VERBS]
    by_resource: dict[str, dict[str, Any]] = {}
    for resource in sorted({resource_of(r) for r in writes} | set(minimal)):
        mine = [r for r in writes if resource_of(r) == resource]
        by_resource[resource] = {
            "operator": len(mine), "minimal": minimal.get(resource, 0),
            "by_verb": dict(sorted(Counter(r["verb"] for r in mine).items())),
            "failed": dict(sorted(Counter(f"{r['verb']} {r['status']}" for r in mine if r["status"] >= 400).items())),
        }
    total, least = len(writes), sum(minimal.values())
    return {
        "operator": total, "minimal": least, "ratio": round(total / least, 4) if least else None,
        "by_resource": by_resource,
        "failed": [describe(r) for r in writes if r["status"] >= 400][:50],
    }


def status_writes_per_pipeline(records: list[dict[str, Any]], workload: Workload) -> dict[str, dict[str, int]]:
    """How many status writes each pipeline got: {"inheriting"|"own": {writes: pipelines}}."""
    per: Counter[str] = Counter(str(r["path"]).rstrip("/").split("/")[-2] for r in records
                                if is_operator(r) and r.get("verb") in WRITE_VERBS
                                and resource_of(r) == "pipelines/status")
    out: dict[str, Counter[int]] = {"inheriting": Counter(), "own": Counter()}
    for name in workload.names:
        out["inheriting" if workload.inherits(name) else "own"][per.get(name, 0)] += 1
    return {group: {str(k): v for k, v in sorted(c.items())} for group, c in out.items()}


def request_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [r for r in records if is_operator(r)]
    return {
        "total": len(mine),
        "by_verb": dict(sorted(Counter(f"{r.get('verb') or 'discovery'} {resource_of(r)}"
                                       for r in mine).items())),
        "examples": [describe(r) for r in mine[:50]],
    }


async def settle(kube: Kube, deadline: Deadline, *, quiet: float = SETTLE_SECONDS) -> list[dict[str, Any]]:
    """Wait until the ledger has not grown for ``quiet`` seconds; return it. (No request of ours is made
    meanwhile but these ledger reads, which the emulator does not record.)"""
    last = await kube.ledger()
    while True:
        deadline.check("waiting for the operator to settle")
        await asyncio.sleep(quiet)
        now = await kube.ledger()
        if len(now) == len(last):
            return now
        last = now


# -------------------------------------------------------------------------------------------- one run


@dataclass
class RunState:
    ready_at: dict[str, float] = field(default_factory=dict)
    pull_updated_at: dict[str, float] = field(default_factory=dict)
    status_updated_at: dict[str, float] = field(default_factory=dict)
    rotating: bool = False
    new_password: str = ""
    old_fingerprints: dict[str, set[str]] = field(default_factory=dict)


def _is_ready(pipeline: dict[str, Any]) -> bool:
    status = pipeline.get("status") or {}
    generation = (pipeline.get("metadata") or {}).get("generation")
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               and (generation is None or c.get("observedGeneration") in (None, generation))
               for c in status.get("conditions") or [])


def _phase_fingerprints(pipeline: dict[str, Any]) -> set[str]:
    return {str(p.get("fingerprint")) for p in (pipeline.get("status") or {}).get("phases") or []}


async def wait_until(check: Callable[[], bool], *, what: str, deadline: Deadline, timeout: float | None = None,
                     watches: Iterable[Watch] = (), children: Iterable[Child] = ()) -> None:
    limit = time.monotonic() + (timeout if timeout is not None else deadline.remaining())
    while not check():
        for child in children:
            if child.process.poll() is not None:
                raise BenchmarkError(f"{what}: {child.name} exited ({child.process.returncode}):\n"
                                     f"{child.text()[-3000:]}")
        for watch in watches:
            if watch.error is not None:
                raise BenchmarkError(f"{what}: a watch of the benchmark failed: {watch.error!r}")
        deadline.check(what)
        if time.monotonic() > limit:
            raise BenchmarkError(f"{what}: not reached within {timeout:.0f}s")
        await asyncio.sleep(0.05)


async def run_workload(label: str, workload: Workload, *, unrelated: int, idle_seconds: float, workdir: Path,
                       deadline: Deadline, verify_interval: float = 0.0) -> dict[str, Any]:
    """One complete run against a fresh emulator and operator; processes are stopped whatever happens."""
    run_started = time.monotonic()
    result: dict[str, Any] = {"label": label, "unrelated_secrets": unrelated,
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    durations: dict[str, float] = {}
    cpu: dict[str, dict[str, float | None]] = {}
    result["cpu_seconds"] = cpu
    kubeconfig = workdir / f"{label}.kubeconfig"
    emulator = Child(f"emulator ({label})", [sys.executable, "-m", "shipway.sandbox.emulator", "--port", "0",
                                             "--kubeconfig", str(kubeconfig)], workdir / f"{label}-emulator.log")
    operator: Child | None = None
    kube: Kube | None = None
    watches: list[Watch] = []
    state = RunState()
    try:
        line = await emulator.wait_for("emulator listening on", timeout=30, deadline=deadline)
        url = line.rsplit(" ", 1)[1].strip()
        if not url.startswith("http://127.0.0.1:"):
            raise BenchmarkError(f"the emulator is not on 127.0.0.1: {url}")
        kube = client = Kube(url)
        password = secrets.token_urlsafe(18)
        say(f"{label}: emulator at {url} (pid {emulator.pid}); setting up, {unrelated} unrelated Secrets")
        durations.update(await setup_cluster(kube, workload, unrelated=unrelated, platform_password=password))
        if unrelated:
            say(f"{label}: {unrelated} unrelated Secrets in {durations['unrelated_secrets_seconds']:.1f}s "
                f"({unrelated / max(durations['unrelated_secrets_seconds'], 1e-3):.0f}/s)")

        # The operator, until its cache is synced.
        await kube.reset_ledger()
        started = time.monotonic()
        operator = Child(f"operator ({label})", [sys.executable, "-m", "shipway", "operator", "run", "--standalone",
                                                 "--kubeconfig", str(kubeconfig),
                                                 "--verify-interval", str(verify_interval)],
                         workdir / f"{label}-operator.log")
        await operator.wait_for("cache synced", timeout=120, deadline=deadline)
        durations["operator_sync_seconds"] = round(time.monotonic() - started, 2)
        cpu["synced"] = {"operator": operator.cpu_seconds(), "emulator": emulator.cpu_seconds()}
        at_sync = await kube.ledger()
        sync_index = len(at_sync)
        result["before_sync"] = request_summary(at_sync)
        say(f"{label}: operator pid {operator.pid} synced in {durations['operator_sync_seconds']:.1f}s "
            f"({result['before_sync']['total']} requests before)")

        # Pipelines, until every one is Ready and every phase namespace holds its objects.
        def on_pipeline(event_type: str, obj: dict[str, Any], when: float) -> None:
            name = obj["metadata"]["name"]
            if name not in state.ready_at and _is_ready(obj):
                state.ready_at[name] = when
            if state.rotating and name in state.old_fingerprints and name not in state.status_updated_at:
                now = _phase_fingerprints(obj)
                if now and not now & state.old_fingerprints[name]:
                    state.status_updated_at[name] = when

        pipelines_watch = Watch(url, "shipway.dev/v1alpha1", "pipelines", on_event=on_pipeline)
        watches.append(pipelines_watch)
        await pipelines_watch.start()
        started = time.monotonic()
        await bulk(workload.names, lambda name: client.create(workload.pipeline(name), "pipelines"), concurrency=16)
        durations["pipelines_create_seconds"] = round(time.monotonic() - started, 2)
        say(f"{label}: {workload.pipelines} pipelines created in {durations['pipelines_create_seconds']:.1f}s")
        await wait_until(lambda: len(state.ready_at) == workload.pipelines, what="every pipeline Ready",
                         deadline=deadline, watches=watches, children=(emulator, operator))
        durations["converge_seconds"] = round(max(state.ready_at.values()) - started, 2)
        cpu["converged"] = {"operator": operator.cpu_seconds(), "emulator": emulator.cpu_seconds()}
        say(f"{label}: every pipeline Ready {durations['converge_seconds']:.1f}s after the first create")
        problems: list[str] = []
        for _ in range(60):
            problems = await verify_objects(kube, workload)
            if not problems:
                break
            await asyncio.sleep(1.0)
        if problems:
            raise BenchmarkError(f"{len(problems)} problems in the phase namespaces, e.g. {problems[:10]}")
        durations["objects_verified_seconds"] = round(time.monotonic() - started, 2)
        ledger = await settle(kube, deadline)
        creation = ledger[sync_index:]
        result["writes"] = write_summary(creation, minimal_writes(workload))
        result["creation_requests"] = request_summary(creation)
        result["status_writes_per_pipeline"] = status_writes_per_pipeline(creation, workload)
        reads_creation = [r for r in creation if is_operator(r) and is_read(r)]
        say(f"{label}: creation settled: {result['writes']['operator']} writes (minimal "
            f"{result['writes']['minimal']}), {len(reads_creation)} reads")

        # Rotation of the platform default pull credential.
        inheriting_namespaces = {ns for n in workload.inheriting_names for ns in workload.namespaces_of(n)}
        state.old_fingerprints = {n: _phase_fingerprints(pipelines_watch.objects[("", n)])
                                  for n in workload.inheriting_names}
        state.new_password = secrets.token_urlsafe(18)
        while state.new_password == password:
            state.new_password = secrets.token_urlsafe(18)

        def on_secret(event_type: str, obj: dict[str, Any], when: float) -> None:
            meta = obj["metadata"]
            ns = meta.get("namespace", "")
            if (not state.rotating or meta.get("name") != "shipway-pull" or ns not in inheriting_namespaces
                    or ns in state.pull_updated_at):
                return
            entry = decoded_auths(obj).get(workload.pull_registry) or {}
            if entry.get("password") == state.new_password:
                state.pull_updated_at[ns] = when

        secrets_watch = Watch(url, "v1", "secrets", selector=MANAGED_SELECTOR, on_event=on_secret)
        watches.append(secrets_watch)
        await secrets_watch.start()
        rotation_index = len(ledger)
        state.rotating = True
        patch = {"data": {".dockerconfigjson": b64(dockerconfig({workload.pull_registry: ("platform-pull",
                                                                                 state.new_password)}))}}
        rotated_at = time.monotonic()
        await kube.patch("v1", "secrets", PULL_SECRET, patch, namespace=SYSTEM_NAMESPACE)
        durations["rotation_patch_seconds"] = round(time.monotonic() - rotated_at, 3)
        await wait_until(lambda: len(state.pull_updated_at) == len(inheriting_namespaces),
                         what="every inheriting shipway-pull rotated", deadline=deadline,
                         watches=watches, children=(emulator, operator))
        result["rotation_seconds"] = round(max(state.pull_updated_at.values(), default=rotated_at) - rotated_at, 3)
        result["rotation_first_namespace_seconds"] = round(
            min(state.pull_updated_at.values(), default=rotated_at) - rotated_at, 3)
        await wait_until(lambda: len(state.status_updated_at) == workload.inheriting,
                         what="every inheriting pipeline's status rotated", deadline=deadline,
                         watches=watches, children=(emulator, operator))
        result["rotation_status_seconds"] = round(max(state.status_updated_at.values(), default=rotated_at)
                                                  - rotated_at, 3)
        say(f"{label}: rotation: last shipway-pull after {result['rotation_seconds']:.2f}s, last status after "
            f"{result['rotation_status_seconds']:.2f}s")
        ledger = await settle(kube, deadline)
        rotation = ledger[rotation_index:]
        result["rotation_writes"] = write_summary(rotation, minimal_rotation_writes(workload,
                                                                                  verifying=verify_interval > 0))
        result["rotation_requests"] = request_summary(rotation)
        result["rotation_status_writes_per_pipeline"] = status_writes_per_pipeline(rotation, workload)
        reads_rotation = [r for r in rotation if is_operator(r) and is_read(r)]
        touched = [ns for ns in (ns for n in workload.names if not workload.inherits(n)
                                   for ns in workload.namespaces_of(n))
                     if any(r.get("namespace") == ns for r in rotation if is_operator(r))]
        result["rotation_touched_non_inheriting_namespaces"] = len(touched)
        cpu["rotated"] = {"operator": operator.cpu_seconds(), "emulator": emulator.cpu_seconds()}
        say(f"{label}: rotation settled: {result['rotation_writes']['operator']} writes (minimal "
            f"{result['rotation_writes']['minimal']})")

        # Idle.
        await kube.reset_ledger()
        idle_started = time.monotonic()
        while time.monotonic() - idle_started < idle_seconds:
            deadline.check("idle")
            if operator.process.poll() is not None:
                raise BenchmarkError(f"the operator exited during the idle period:\n{operator.text()[-3000:]}")
            await asyncio.sleep(min(1.0, idle_seconds))
        durations["idle_seconds"] = round(time.monotonic() - idle_started, 2)
        idle = await kube.ledger()
        result["idle"] = request_summary(idle)
        result["idle_requests"] = result["idle"]["total"]
        reads_idle = [r for r in idle if is_operator(r) and is_read(r)]
        say(f"{label}: {result['idle_requests']} operator requests in {durations['idle_seconds']:.0f}s of idle")

        reads = reads_creation + reads_rotation + reads_idle
        result["reads_after_sync"] = len(reads)
        result["reads_after_sync_detail"] = {
            "creation": len(reads_creation), "rotation": len(reads_rotation), "idle": len(reads_idle),
            "examples": [describe(r) for r in reads[:50]],
        }
        result["watches_after_sync"] = sum(1 for r in creation + rotation + idle
                                           if is_operator(r) and r.get("verb") == "watch")
        cpu["end"] = {"operator": operator.cpu_seconds(), "emulator": emulator.cpu_seconds()}
        result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        memory = operator.memory()
        result["rss_mb"] = memory.get("VmHWM")
        result["rss_now_mb"] = memory.get("VmRSS")
        result["emulator_rss_mb"] = emulator.memory().get("VmHWM")
        log_lines = operator.text().splitlines()
        result["operator_log"] = {
            "lines": len(log_lines),
            "warnings": sum(1 for ln in log_lines if " WARNING " in ln or " ERROR " in ln),
            "warning_examples": [ln[:300] for ln in log_lines if " WARNING " in ln or " ERROR " in ln][:10],
            "registry_checks": sum(1 for ln in log_lines if ": verified " in ln),
            "registry_check_examples": [ln[:300] for ln in log_lines if ": verified " in ln][:3],
        }
        result["objects"] = {"phase_namespaces": workload.pipelines * len(PHASES)}
        return result
    finally:
        for watch in watches:
            await watch.stop()
        if kube is not None:
            await kube.close()
        if operator is not None:
            stopping = time.monotonic()
            result["operator_exit_code"] = operator.stop()
            durations["operator_stop_seconds"] = round(time.monotonic() - stopping, 2)
        stopping = time.monotonic()
        emulator.stop()
        durations["emulator_stop_seconds"] = round(time.monotonic() - stopping, 2)
        durations["run_seconds"] = round(time.monotonic() - run_started, 1)
        result["durations"] = durations


# ---------------------------------------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_mb"] = int(line.split()[1]) // 1024
    versions = {}
    for package in ("shipway", "kopf", "kmock", "lightkube", "aiohttp", "httpx"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    info["versions"] = versions
    source = Path(shipway.__file__).resolve().parent
    info["shipway_source"] = str(source)
    marker = source.parent.parent / "COMMIT"  # a snapshot (git archive) may name its commit next to its src/
    if source != REPO / "src" / "shipway" and marker.is_file():
        info["shipway_source_commit"] = marker.read_text().strip()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        info["git_commit"] = commit
        if source == REPO / "src" / "shipway":
            dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True,
                                   text=True, timeout=10).stdout.strip()
            info["src_modified"] = bool(dirty)
    return info


def percent_apart(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(abs(a - b) / min(a, b) * 100, 2)


def assemble(workload: Workload, args: argparse.Namespace, runs: dict[str, dict[str, Any]], *, started: str,
             seconds: float) -> dict[str, Any]:
    main = runs["with_unrelated"]
    plain = runs["without_unrelated"]
    rss_apart = percent_apart(main.get("rss_mb"), plain.get("rss_mb"))
    return {
        "benchmark": "operator",
        "started_at": started,
        "command": "python -m benchmarks.operator " + " ".join(sys.argv[1:]),
        "pipelines": workload.pipelines,
        "phases": workload.pipelines * len(PHASES),
        "phases_per_pipeline": len(PHASES),
        "inheriting": workload.inheriting,
        "unrelated_secrets": workload.unrelated_secrets,
        "idle_seconds": args.idle_seconds,
        "writes_ratio": main["writes"]["ratio"],
        "reads_after_sync": main["reads_after_sync"],
        "idle_requests": main["idle_requests"],
        "rss_mb": plain.get("rss_mb"),
        "rss_mb_with_unrelated": main.get("rss_mb"),
        "rss_difference_percent": rss_apart,
        "rotation_seconds": main["rotation_seconds"],
        "rotation_seconds_without_unrelated": plain["rotation_seconds"],
        "rotation_status_seconds": main["rotation_status_seconds"],
        "rotation_writes_ratio": main["rotation_writes"]["ratio"],
        "writes": main["writes"],
        "rotation_writes": main["rotation_writes"],
        "durations": {**main["durations"], "total_seconds": round(seconds, 1)},
        "goals": {
            "writes_ratio": {"goal": "1.00", "met": main["writes"]["ratio"] == 1.0},
            "reads_after_sync": {"goal": 0, "met": main["reads_after_sync"] == 0},
            "idle_requests": {"goal": 0, "met": main["idle_requests"] == 0},
            "rss_difference_percent": {"goal": f"< {GOAL_RSS_PERCENT}",
                                       "met": rss_apart is not None and rss_apart < GOAL_RSS_PERCENT},
            "rotation_writes_ratio": {"goal": "1.00", "met": main["rotation_writes"]["ratio"] == 1.0},
        },
        "runs": runs,
        "machine": machine_info(),
    }


def print_table(report: dict[str, Any]) -> None:
    main, plain = report["runs"]["with_unrelated"], report["runs"]["without_unrelated"]
    rows = [
        ("figure", "goal", f"with {report['unrelated_secrets']} unrelated", "without unrelated"),
        ("writes_ratio (operator/minimal)", "1.00",
         f"{main['writes']['ratio']:.3f} ({main['writes']['operator']}/{main['writes']['minimal']})",
         f"{plain['writes']['ratio']:.3f} ({plain['writes']['operator']}/{plain['writes']['minimal']})"),
        ("reads_after_sync (GET+LIST)", "0", str(main["reads_after_sync"]), str(plain["reads_after_sync"])),
        (f"idle_requests ({report['idle_seconds']:.0f}s)", "0", str(main["idle_requests"]),
         str(plain["idle_requests"])),
        ("rss_mb (operator peak, VmHWM)", f"< {GOAL_RSS_PERCENT:.0f}% apart", f"{main['rss_mb']}",
         f"{plain['rss_mb']}  ({report['rss_difference_percent']}% apart)"),
        ("rotation_seconds (to last ns)", "-", f"{main['rotation_seconds']:.2f}", f"{plain['rotation_seconds']:.2f}"),
        ("rotation_status_seconds", "-", f"{main['rotation_status_seconds']:.2f}",
         f"{plain['rotation_status_seconds']:.2f}"),
        ("rotation_writes_ratio", "1.00",
         f"{main['rotation_writes']['ratio']:.3f} ({main['rotation_writes']['operator']}/"
         f"{main['rotation_writes']['minimal']})",
         f"{plain['rotation_writes']['ratio']:.3f} ({plain['rotation_writes']['operator']}/"
         f"{plain['rotation_writes']['minimal']})"),
        ("converge_seconds", "-", f"{main['durations']['converge_seconds']:.1f}",
         f"{plain['durations']['converge_seconds']:.1f}"),
        ("run_seconds", "-", f"{main['durations']['run_seconds']:.0f}", f"{plain['durations']['run_seconds']:.0f}"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print()
    print(f"Shipway operator benchmark: {report['pipelines']} pipelines x {report['phases_per_pipeline']} phases, "
          f"{report['inheriting']} inheriting")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("writes by resource (with unrelated): operator / minimal")
    for resource, counts in main["writes"]["by_resource"].items():
        failed = f"  failed: {counts['failed']}" if counts["failed"] else ""
        print(f"  {resource:<20} {counts['operator']:>6} / {counts['minimal']:<6} {counts['by_verb']}{failed}")
    print("rotation writes by resource (with unrelated): operator / minimal")
    for resource, counts in main["rotation_writes"]["by_resource"].items():
        print(f"  {resource:<20} {counts['operator']:>6} / {counts['minimal']:<6} {counts['by_verb']}")
    print(f"\nfigures written to {RESULTS.relative_to(REPO)}")


# ------------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.operator", description=__doc__.split("\n")[0])
    parser.add_argument("--pipelines", type=int, default=1000, help="pipelines to create (2 phases each)")
    parser.add_argument("--unrelated-secrets", type=int, default=10_000,
                        help="Secrets without any Shipway label in the cluster during the first run")
    parser.add_argument("--inheriting", type=int, default=None,
                        help="pipelines that inherit the platform default credential (default: half)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle period after convergence")
    parser.add_argument("--verify-interval", type=float, default=0.0,
                        help="the operator's registry re-check interval (default 0: off; each check of a "
                             "pipeline's own credential costs one more status write by design)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="hard limit for the whole benchmark in seconds (default: 900 + 0.0008 x pipelines x "
                             "(pipelines + unrelated Secrets), twice the emulator's measured cost)")
    args = parser.parse_args(argv)
    if args.pipelines < 1:
        parser.error("--pipelines must be at least 1")
    if args.inheriting is None:
        args.inheriting = args.pipelines // 2
    if not 0 <= args.inheriting <= args.pipelines:
        parser.error("--inheriting must be between 0 and --pipelines")
    if args.unrelated_secrets < 0 or args.idle_seconds < 0:
        parser.error("--unrelated-secrets and --idle-seconds must not be negative")
    if args.timeout is None:
        # The emulator's garbage collector walks every object on each owned write: O(N x (N + M)) overall.
        args.timeout = 900 + 0.0008 * args.pipelines * (args.pipelines + args.unrelated_secrets) + 2 * args.idle_seconds
    return args


async def amain(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    ports = ClosedPorts(2)
    workload = Workload(pipelines=args.pipelines, inheriting=args.inheriting,
                        unrelated_secrets=args.unrelated_secrets, pull_registry=f"127.0.0.1:{ports.ports[0]}",
                        push_registry=f"127.0.0.1:{ports.ports[1]}")
    deadline = Deadline(args.timeout)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    began = time.monotonic()
    runs: dict[str, dict[str, Any]] = {}
    try:
        for label, unrelated in (("with_unrelated", workload.unrelated_secrets), ("without_unrelated", 0)):
            runs[label] = await run_workload(label, workload, unrelated=unrelated, idle_seconds=args.idle_seconds,
                                             verify_interval=args.verify_interval,
                                             workdir=workdir, deadline=deadline)
    finally:
        ports.close()
    return assemble(workload, args, runs, started=started, seconds=time.monotonic() - began)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = Path(tempfile.mkdtemp(prefix="shipway-bench-"))

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    # A last resort if cleanup itself hangs: stop the children and leave.
    watchdog = threading.Timer(args.timeout + 90, lambda: (stop_all_children(), os._exit(124)))
    watchdog.daemon = True
    watchdog.start()
    ok = False
    try:
        report = asyncio.run(asyncio.wait_for(amain(args, workdir), timeout=args.timeout + 30))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print_table(report)
        ok = True
        return 0
    except (BenchmarkError, TimeoutError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        stop_all_children()
        watchdog.cancel()
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
