"""A cluster for integration tests: the emulator and the operator, each in its own process, over HTTP.

The tests talk to the emulator as any client would (``Api``, plain httpx with its own User-Agent), read
the emulator's request ledger to count what the operator did, and can SIGKILL and restart the operator.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from shipway.core.crds import custom_resource_definitions

# The operator's own client identifies as shipway-operator/VERSION; kopf's watches inside it as kopf/VERSION.
OPERATOR_AGENTS = ("shipway-operator/", "kopf/")
TEST_AGENT = "shipway-tests"
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OutputReader:
    """Collects a process's output lines in a thread, so tests can wait for a line."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def wait_for(self, needle: str, *, timeout: float = 20.0, start: int = 0) -> str:
        """The first line (from ``start``) holding ``needle``, once it is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if needle in line:
                    return line
            time.sleep(0.02)
        raise TimeoutError(f"{needle!r} not seen in:\n{self.text[-3000:]}")


@dataclass
class Api:
    """A minimal Kubernetes client for tests (not the product's), over real HTTP."""

    url: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, headers={"User-Agent": TEST_AGENT}, timeout=10)

    @staticmethod
    def path(api_version: str, plural: str, *, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{plural}"
        return base + (f"/{name}" if name else "")

    def create(self, obj: dict[str, Any], plural: str) -> dict[str, Any]:
        meta = obj["metadata"]
        response = self.client.post(self.path(obj["apiVersion"], plural, namespace=meta.get("namespace")), json=obj)
        response.raise_for_status()
        return dict(response.json())

    def get(self, api_version: str, plural: str, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        response = self.client.get(self.path(api_version, plural, namespace=namespace, name=name))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def list(self, api_version: str, plural: str, *, namespace: str | None = None, labels: str | None = None
             ) -> list[dict[str, Any]]:
        params = {"labelSelector": labels} if labels else {}
        response = self.client.get(self.path(api_version, plural, namespace=namespace), params=params)
        response.raise_for_status()
        return list(response.json()["items"])

    def patch(self, api_version: str, plural: str, name: str, patch: Any, *, namespace: str | None = None,
              content_type: str = "application/merge-patch+json") -> dict[str, Any]:
        response = self.client.patch(self.path(api_version, plural, namespace=namespace, name=name),
                                     content=yaml.safe_dump(patch) if "yaml" in content_type else json.dumps(patch),
                                     headers={"Content-Type": content_type})
        response.raise_for_status()
        return dict(response.json())

    def delete(self, api_version: str, plural: str, name: str, *, namespace: str | None = None) -> None:
        response = self.client.delete(self.path(api_version, plural, namespace=namespace, name=name))
        if response.status_code != 404:
            response.raise_for_status()

    def ledger(self) -> list[dict[str, Any]]:
        return list(self.client.get("/_emulator/requests").json()["requests"])

    def reset_ledger(self) -> None:
        self.client.post("/_emulator/requests/reset").raise_for_status()

    def operator_requests(self, *, verbs: frozenset[str] | None = None) -> list[dict[str, Any]]:
        return [r for r in self.ledger() if r["user_agent"].startswith(OPERATOR_AGENTS)
                and (verbs is None or r["verb"] in verbs)]

    def operator_writes(self) -> list[dict[str, Any]]:
        return self.operator_requests(verbs=WRITE_VERBS)

    def eventually(self, check: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.05) -> Any:
        """Call ``check`` until it returns a truthy value (returned); past the timeout, raise its last error."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            try:
                result = check()
                if result:
                    return result
            except (AssertionError, LookupError, AttributeError, TypeError) as error:
                last = error
            time.sleep(interval)
        if last is not None:
            raise last
        raise TimeoutError("condition not reached")


class EmulatorProcess:
    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.kubeconfig = workdir / "kubeconfig"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shipway.sandbox.emulator", "--port", str(self.port),
             "--kubeconfig", str(self.kubeconfig)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.output = OutputReader(self.process.stdout)
        self.output.wait_for("emulator listening")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class OperatorProcess:
    """``shipway operator run --standalone`` in its own process; waits until its cache is synced."""

    def __init__(self, kubeconfig: Path, *, env: dict[str, str] | None = None, verify_interval: float = 0,
                 extra_args: tuple[str, ...] = ()) -> None:
        # Registry verification is off unless a test asks for it: it adds status writes of its own.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shipway", "operator", "run", "--standalone", "--kubeconfig", str(kubeconfig),
             "--verify-interval", str(verify_interval), *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        self.output = OutputReader(self.process.stdout)

    def wait_synced(self, timeout: float = 30.0) -> None:
        """Wait for the operator's first event after its initial lists: needs one watched object at least
        (the Platform, say); an operator watching an empty cluster has nothing to say it is synced."""
        self.output.wait_for("cache synced", timeout=timeout)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def install_crds(api: Api) -> None:
    for crd in custom_resource_definitions():
        api.create(crd, "customresourcedefinitions")


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def docker_secret(namespace: str, name: str, auths: dict[str, tuple[str, str]], *,
                  annotations: dict[str, str] | None = None, label: bool = True) -> dict[str, Any]:
    payload = {"auths": {key: {"username": user, "password": password} for key, (user, password) in auths.items()}}
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"shipway.dev/credential": "true"} if label else {},
                     "annotations": annotations or {}},
        "stringData": {".dockerconfigjson": json.dumps(payload)},
    }


@dataclass
class Cluster:
    emulator: EmulatorProcess
    api: Api
    kubeconfig: Path
    operator: OperatorProcess | None = None

    def start_operator(self, **options: Any) -> OperatorProcess:
        self.operator = OperatorProcess(self.kubeconfig, **options)
        self.operator.wait_synced()
        return self.operator


def start_cluster(workdir: Path) -> Iterator[Cluster]:
    """A generator for a pytest fixture: the emulator with the CRDs installed; start the operator yourself."""
    emulator = EmulatorProcess(workdir)
    api = Api(emulator.url)
    cluster = Cluster(emulator=emulator, api=api, kubeconfig=emulator.kubeconfig)
    try:
        install_crds(api)
        yield cluster
    finally:
        if cluster.operator is not None:
            cluster.operator.stop()
        api.client.close()
        emulator.stop()
