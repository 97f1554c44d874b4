"""What tests/api/test_atomic_writes.py needs: an extra API process to kill, lanes of credential writes run by
threads (each attempt remembered with its outcome), the emulator's fault injection, and readers of what is
stored (managed Secrets and the references to them) and what the operator delivered."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from shipway.core.manifests.rbac import API, service_account_user
from tests.support.cluster import OutputReader

from .helpers import SHIPWAY, SYSTEM_NAMESPACE, Kube, Sandbox

API_USER = service_account_user(API)
MANAGED = "app.kubernetes.io/managed-by=shipway-api"
INTERRUPTED = 0  # the status of an attempt that got no answer: the API died under it
NOT_SENT = -1  # the status of an attempt whose connection was refused: the API was dead already


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One PUT of a credential by value, and what came of it (200 acknowledged; 0 interrupted; -1 never sent;
    else refused)."""

    lane: Lane
    seq: int
    username: str
    password: str
    status: int
    body: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def value(self) -> tuple[str, str]:
        return self.username, self.password


@dataclasses.dataclass(frozen=True)
class Lane:
    """One pipeline-layer registry of one pipeline, written by one client at a time (so 'last' is defined)."""

    pipeline: str
    user: str
    registry: str

    def put(self, client: httpx.Client, sandbox: Sandbox, seq: int, *, tag: str) -> Attempt:
        username = f"{self.pipeline}-{tag}-{seq}"
        password = sandbox.canary(f"{tag}{seq}")
        try:
            response = client.put(f"/api/v1/pipelines/{self.pipeline}/credentials", json={
                "registry": self.registry, "username": username, "password": password, "usage": ["pull"]})
        except httpx.ConnectError:
            return Attempt(self, seq, username, password, NOT_SENT)
        except httpx.TransportError:
            return Attempt(self, seq, username, password, INTERRUPTED)
        sandbox.record_text(f"PUT {response.request.url} -> {response.status_code}", response.text)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        return Attempt(self, seq, username, password, response.status_code, body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ExtraApi:
    """``shipway api run`` as the API's ServiceAccount against the sandbox's emulator, in its own process."""

    def __init__(self, sandbox: Sandbox, *, repair_grace: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [SHIPWAY, "api", "run", "--kubeconfig", str(sandbox.state_dir / "api.kubeconfig"), "--port",
             str(self.port), "--repair-grace", str(repair_grace)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.output = OutputReader(self.process.stdout)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the extra API exited:\n{self.output.text[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the extra API never became ready:\n{self.output.text[-3000:]}")

    def client(self, sandbox: Sandbox, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {sandbox.tokens[user]}"},
                            timeout=30)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is finished."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.output.join(5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.join(5)


# -- the emulator's side endpoints ----------------------------------------------------------------------------
def inject_conflicts(kube: Kube, count: int, *, name: str | None = None) -> None:
    """The next ``count`` patches of Pipelines by the API's ServiceAccount fail with 409 Conflict."""
    fault: dict[str, Any] = {"verb": "patch|update", "group": "shipway.dev", "resource": "pipelines",
                             "status": 409, "count": count, "user": API_USER}
    if name is not None:
        fault["name"] = name
    kube.client.post("/_emulator/faults", json=fault).raise_for_status()


def clear_faults(kube: Kube) -> int:
    """Remove pending faults; how many requests were failed on purpose so far."""
    response = kube.client.delete("/_emulator/faults")
    response.raise_for_status()
    return int(response.json()["injected"])


def repair_lists(kube: Kube) -> int:
    """How many times an API listed the managed Secrets (its start-up repair is the only such list)."""
    ledger = kube.client.get("/_emulator/requests").json()["requests"]
    return sum(1 for r in ledger if r["verb"] == "list" and r["plural"] == "secrets"
               and r["namespace"] == SYSTEM_NAMESPACE and r["user_agent"].startswith("shipway-api/"))


# -- what is stored and delivered ---------------------------------------------------------------------------
def auths(secret: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """registry key -> (username, password) of a dockerconfigjson Secret."""
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    out = {}
    for key, entry in config["auths"].items():
        if "username" in entry:
            out[key] = (entry["username"], entry["password"])
        else:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            out[key] = (user, password)
    return out


def references(pipeline: dict[str, Any]) -> list[dict[str, str]]:
    """Every secretRef of every layer of a Pipeline."""
    spec = pipeline["spec"]
    layers = [spec.get("registry") or {}, *((p.get("registry") or {}) for p in spec.get("phases") or [])]
    return [c["secretRef"] for layer in layers for c in layer.get("credentials") or []]


def half_written(kube: Kube, *, only: str | None = None) -> list[str]:
    """What a refused, failed or interrupted write may not leave: a managed Secret its owner does not
    reference, or a reference to a Secret in the system namespace that does not exist (``only``: of one
    pipeline)."""
    problems = []
    selector = MANAGED + (f",shipway.dev/pipeline={only}" if only else "")
    managed = kube.items(f"/api/v1/namespaces/{SYSTEM_NAMESPACE}/secrets", labelSelector=selector)
    existing = {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)}
    referenced: dict[str, set[str]] = {}
    for pipeline in kube.pipelines():
        if only is not None and pipeline["metadata"]["name"] != only:
            continue
        refs = references(pipeline)
        referenced[pipeline["metadata"]["name"]] = {r["name"] for r in refs if r["namespace"] == SYSTEM_NAMESPACE}
        problems += [f"pipeline {pipeline['metadata']['name']} references missing {r['namespace']}/{r['name']}"
                     for r in refs if r["namespace"] == SYSTEM_NAMESPACE and r["name"] not in existing]
    for secret in managed:
        owner = secret["metadata"]["labels"].get("shipway.dev/pipeline")
        if secret["metadata"]["name"] not in referenced.get(owner or "", set()):
            problems.append(f"managed Secret {secret['metadata']['name']} is not referenced by pipeline {owner}")
    return problems


def stored_value(kube: Kube, lane: Lane) -> tuple[str, str] | None:
    """The value the pipeline layer references for the lane's registry (None: no reference)."""
    pipeline = kube.pipeline(lane.pipeline)
    assert pipeline is not None
    found = []
    for ref in (pipeline["spec"]["registry"].get("credentials") or []):
        secret = kube.secret(ref["secretRef"]["namespace"], ref["secretRef"]["name"])
        if secret is not None and lane.registry in auths(secret):
            found.append(auths(secret)[lane.registry])
    assert len(found) <= 1, f"{lane}: {len(found)} references serve the registry"
    return found[0] if found else None


def delivered_value(kube: Kube, namespace: str, registry: str) -> tuple[str, str] | None:
    secret = kube.secret(namespace, "shipway-pull")
    return None if secret is None else auths(secret).get(registry)


def everything_stored(kube: Kube, namespaces: list[str]) -> str:
    """Every Secret of the system and phase namespaces, decoded, and every Pipeline: where a value may be."""
    texts = [json.dumps(kube.pipelines())]
    for namespace in [SYSTEM_NAMESPACE, *namespaces]:
        for secret in kube.secrets(namespace):
            if ".dockerconfigjson" in (secret.get("data") or {}):
                texts.append(json.dumps(auths(secret)))
    return "\n".join(texts)


def run_all(functions: list[Callable[[], None]]) -> None:
    """Run each function in its own thread, all at once, until all are done; re-raise the first failure."""
    errors: list[BaseException] = []

    def run(function: Callable[[], None]) -> None:
        try:
            function()
        except BaseException as error:  # reported to the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(function,), daemon=True) for function in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]


def settle(what: str, problems: Any, *, timeout: float) -> None:
    """Wait until ``problems()`` is an empty list; past the timeout, fail with the last list."""
    deadline = time.monotonic() + timeout
    found = problems()
    while found and time.monotonic() < deadline:
        time.sleep(0.1)
        found = problems()
    assert found == [], f"{what}: {found}"
