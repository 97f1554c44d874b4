"""The sandbox as a subprocess, clients of its API and of its Kubernetes API, and the canary scanner.

``shipway sandbox up`` runs in its own process with a temporary state directory and a temporary
``SHIPWAY_CONFIG``; the tests talk to it only over HTTP: to the Shipway API with a user's bearer token, and
to the Kubernetes API emulator with the admin kubeconfig (its CA from ``certificate-authority-data``).

Every response of the Shipway API that a test reads is recorded, so that the canary passwords planted by a
module can be looked for in all of them, in the sandbox's output, in every Event and in every Pipeline and
Platform (spec and status).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.cluster import OutputReader

ROOT = Path(__file__).resolve().parents[2]
SHIPWAY = str(Path(sys.executable).parent / "shipway")
GROUP_PATH = "/apis/shipway.dev/v1alpha1"
SYSTEM_NAMESPACE = "shipway-system"
CREDENTIAL_LABEL = "shipway.dev/credential"
CONSENT_ANNOTATION = "shipway.dev/allowed-pipelines"
START_TIMEOUT = 30.0
# "stops everything within a few seconds" (running.py): SIGTERM, then at most this long.
STOP_TIMEOUT = 8.0
UNREACHABLE_REGISTRY = "127.0.0.1:9"  # the discard port: nothing listens, the connection is refused at once


def docker_config(registry: str, username: str, password: str) -> str:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {registry: {"auth": auth}}})


def secret_manifest(namespace: str, name: str, *, registry: str, username: str, password: str,
                    labelled: bool = True, consent: str | None = None, usage: str | None = None) -> dict[str, Any]:
    """A source Secret of type dockerconfigjson, as a team would write it; ``consent`` names the pipelines it
    lets use it, ``usage`` what for (``pull,push``; without it a consenting Secret grants pull only)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "annotations": {}}
    if labelled:
        metadata["labels"] = {CREDENTIAL_LABEL: "true"}
    if consent is not None:
        metadata["annotations"][CONSENT_ANNOTATION] = consent
    if usage is not None:
        metadata["annotations"]["shipway.dev/allowed-usage"] = usage
    data = base64.b64encode(docker_config(registry, username, password).encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": metadata,
            "data": {".dockerconfigjson": data}}


def _cores(text: bytes) -> set[bytes]:
    """Substrings of base64 that appear wherever ``text`` is encoded, at each of the three alignments."""
    out = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + text)
        out.add(encoded[4:-4])
    return out


def encoded_forms(canary: str) -> set[str]:
    """The canary as it is, base64-encoded (any alignment) and base64-encoded twice (a Secret's data)."""
    plain = canary.encode()
    once = _cores(plain)
    twice = set().union(*(_cores(core) for core in once))
    return {canary} | {form.decode() for form in once | twice}


def find_canaries(canaries: Iterable[str], texts: Iterable[tuple[str, str]]) -> list[str]:
    """``where: form`` for every canary form found in the (where, text) pairs."""
    forms = {form: canary for canary in canaries for form in encoded_forms(canary)}
    hits = []
    for where, text in texts:
        for form in forms:
            if form in text:
                hits.append(f"{where}: {form}")
    return hits


class Kube:
    """The Kubernetes API emulator as the admin, over HTTPS with the kubeconfig's CA."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        context = ssl.create_default_context(cadata=ca)
        token = config["users"][0]["user"]["token"]
        self.client = httpx.Client(base_url=cluster["server"], verify=context, timeout=15,
                                   headers={"Authorization": f"Bearer {token}", "User-Agent": "shipway-api-tests"})

    def close(self) -> None:
        self.client.close()

    def get(self, path: str) -> dict[str, Any] | None:
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def items(self, path: str, **params: str) -> list[dict[str, Any]]:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return list(response.json()["items"])

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        response.raise_for_status()
        return dict(response.json())

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        response = self.client.patch(path, content=json.dumps(patch),
                                     headers={"Content-Type": "application/merge-patch+json"})
        response.raise_for_status()
        return dict(response.json())

    # Shipway objects and Secrets

    def pipeline(self, name: str) -> dict[str, Any] | None:
        return self.get(f"{GROUP_PATH}/pipelines/{name}")

    def pipelines(self) -> list[dict[str, Any]]:
        return self.items(f"{GROUP_PATH}/pipelines")

    def platform(self) -> dict[str, Any]:
        platform = self.get(f"{GROUP_PATH}/platforms/default")
        assert platform is not None
        return platform

    def secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    def secrets(self, namespace: str) -> list[dict[str, Any]]:
        return self.items(f"/api/v1/namespaces/{namespace}/secrets")

    def create_secret(self, manifest: dict[str, Any]) -> dict[str, Any]:
        return self.create(f"/api/v1/namespaces/{manifest['metadata']['namespace']}/secrets", manifest)

    def shipway_namespace(self, name: str) -> dict[str, Any]:
        """Wait for the phase namespace the operator creates (a namespace made by anyone else is not the
        pipeline's to use, unless a platform admin adopts it)."""
        return dict(self.wait_for(f"namespace {name} made by Shipway", lambda: (
            ns := self.get(f"/api/v1/namespaces/{name}")) and (ns["metadata"].get("labels") or {}).get(
                "app.kubernetes.io/managed-by") == "shipway" and ns))

    def ensure_namespace(self, name: str) -> None:
        if self.get(f"/api/v1/namespaces/{name}") is None:
            self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def events_of(self, pipeline: str) -> list[dict[str, Any]]:
        return self.items("/api/v1/namespaces/default/events", fieldSelector=f"involvedObject.name={pipeline}")

    def all_events(self) -> list[dict[str, Any]]:
        return self.items("/api/v1/events")

    def wait_for(self, what: str, check: Any, *, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)


@dataclass
class Sandbox:
    process: subprocess.Popen[bytes]
    output: OutputReader
    state_dir: Path
    config: Path
    api_url: str
    tokens: dict[str, str]
    kube: Kube
    responses: list[tuple[str, str]] = field(default_factory=list)
    canaries: set[str] = field(default_factory=set)
    stop_seconds: float | None = None

    @property
    def registry(self) -> str:
        """The sandbox's real registry (``127.0.0.1:PORT``), whose user is the Platform's default credential."""
        return (self.state_dir / "registry-url").read_text().strip()

    def _record(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append((f"{response.request.method} {response.request.url.path} -> {response.status_code}",
                               response.text))

    def client(self, user: str | None) -> httpx.Client:
        """A client of the Shipway API as ``user`` (None: no Authorization header); every response recorded."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30,
                            event_hooks={"response": [self._record]})

    def canary(self, label: str) -> str:
        """A fresh canary password, remembered for the scans."""
        value = f"CANARY{label.upper()}{secrets.token_hex(12)}"
        self.canaries.add(value)
        return value

    def record_text(self, where: str, text: str) -> None:
        self.responses.append((where, text))

    def stored_texts(self) -> list[tuple[str, str]]:
        """Every Event and every Pipeline and Platform as the Kubernetes API returns them (spec and status)."""
        texts = [(f"Event {e['metadata']['namespace']}/{e['metadata']['name']}", json.dumps(e))
                 for e in self.kube.all_events()]
        texts += [(f"Pipeline {p['metadata']['name']}", json.dumps(p)) for p in self.kube.pipelines()]
        texts.append(("Platform default", json.dumps(self.kube.platform())))
        return texts

    def canary_hits(self) -> list[str]:
        texts = [*self.responses, *self.stored_texts(), ("sandbox output", self.output.text)]
        return find_canaries(self.canaries, texts)

    def stop(self) -> None:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the sandbox and the operator process it started
            self.process.wait()
            raise AssertionError(f"the sandbox did not exit within {STOP_TIMEOUT} s of SIGTERM") from None
        finally:
            self.stop_seconds = time.monotonic() - started
            self.output.join(5)
            self.kube.close()
        assert self.process.returncode == 0, f"the sandbox exited with {self.process.returncode}"


def start_sandbox(workdir: Path, *, verify_interval: str = "0") -> Sandbox:
    """``shipway sandbox up`` in ``workdir``, its registry checks every ``verify_interval`` s (0: off)."""
    state_dir = workdir / "state"
    config = workdir / "config" / "config.yaml"
    env = {**os.environ, "SHIPWAY_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    env.pop("SHIPWAY_PROFILE", None)
    process = subprocess.Popen(
        [SHIPWAY, "sandbox", "up", "--state-dir", str(state_dir), "--verify-interval", verify_interval],
        env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    assert process.stdout is not None
    output = OutputReader(process.stdout)
    api_url_file = state_dir / "api-url"
    deadline = time.monotonic() + START_TIMEOUT
    while not (api_url_file.exists() and api_url_file.read_text().endswith("\n")):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"the sandbox did not come up:\n{output.text[-3000:]}")
        time.sleep(0.05)
    users = yaml.safe_load((state_dir / "users.yaml").read_text())["users"]
    return Sandbox(process=process, output=output, state_dir=state_dir, config=config,
                   api_url=api_url_file.read_text().strip(), tokens={u["name"]: u["token"] for u in users},
                   kube=Kube(state_dir / "kubeconfig"))


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])
