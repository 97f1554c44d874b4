"""The hostile tenant's world: the real sandbox, the real ``kubectl`` as each team, and the victim's state.

team-a (pipeline ``shop``, namespace ``team-a``) attacks; team-b (pipeline ``blog``, namespace ``team-b``) and
the platform are the victims. Every attack is judged twice: the answer it got (a refusal naming the rule), and
the victim's state, snapshotted before the attack and compared after the operator settled.

A snapshot, as the admin sees it through the Kubernetes API:

* the labels and annotations of the namespaces ``blog-stage``, ``blog-production``, ``team-b``,
  ``kube-system``, ``default``, ``shipway-system``, and the names of all namespaces but the attacker's own
  ``shop-*`` (so a namespace made for an attack shows);
* every Secret there (name, resourceVersion, type, labels, annotations, owners; ``shop``'s own managed
  Secrets in the system namespace excepted: they are the attacker's), every ServiceAccount (resourceVersion,
  imagePullSecrets), Role and RoleBinding;
* the Pipeline ``blog`` (spec and generation), the set of Pipeline names, and the Platform's spec.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api.helpers import GROUP_PATH, SYSTEM_NAMESPACE, Kube, Sandbox

VICTIM_NAMESPACES = ("blog-stage", "blog-production", "team-b", "kube-system", "default", SYSTEM_NAMESPACE)
WEBHOOKS_PATH = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
WEBHOOK_NAME = "shipway"
KUBECTL = shutil.which("kubectl")
QUIET_SECONDS = 1.5  # the operator has settled when nothing at all was written for this long
SETTLE_TIMEOUT = 10.0

BLOG_SECRET_REGISTRY = "ghcr.io/team-b"
BLOG_VALUE_REGISTRY = "registry.blog.test"
SHOP_SECRET_REGISTRY = "ghcr.io/team-a"


def pipeline_manifest(name: str, phases: list[dict[str, Any]], credentials: list[dict[str, Any]] | None = None
                      ) -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": phases, "registry": {"inherit": True, "credentials": credentials or []}}}


def reference(namespace: str, name: str, *usage: str) -> dict[str, Any]:
    return {"secretRef": {"namespace": namespace, "name": name}, "usage": list(usage or ("pull",))}


SHOP_PHASES = [{"name": "stage"}, {"name": "production"}]
SHOP_CREDENTIALS = [reference("team-a", "shop-registry", "pull", "push")]


def shop_manifest(phases: list[dict[str, Any]] | None = None,
                  credentials: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``shop`` as team-a keeps it, with the given phases or credentials instead."""
    return pipeline_manifest("shop", phases if phases is not None else SHOP_PHASES,
                             credentials if credentials is not None else SHOP_CREDENTIALS)


@dataclass(frozen=True)
class Run:
    """One kubectl invocation: its exit status and what it printed."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def _owners(meta: dict[str, Any]) -> list[tuple[str, str]]:
    return [(o.get("kind", ""), o.get("name", "")) for o in meta.get("ownerReferences") or []]


@dataclass
class World:
    sandbox: Sandbox
    admin: httpx.Client
    team_a: httpx.Client
    team_b: httpx.Client
    # Canaries of the victims only (team-b's Secrets, blog's credential set by value): the attacker's own
    # Secrets rightly hold the attacker's canaries, so what the attacker can read is scanned for these.
    victim_canaries: set[str] = field(default_factory=set)
    # Texts the attacker read that may rightly hold its own values (its own Secrets): scanned for victims'.
    attacker_secret_texts: list[tuple[str, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    # Namespaces under shop's prefix that are not shop's (made by an admin): victims too.
    extra_victims: list[str] = field(default_factory=list)

    @property
    def kube(self) -> Kube:
        return self.sandbox.kube

    # kubectl

    def kubectl(self, user: str, *args: str, stdin: str | None = None, record: bool = True) -> Run:
        """The real kubectl as ``user`` (admin, team-a, team-b); every output is kept for the canary scan."""
        assert KUBECTL is not None, "kubectl is not installed (Debian package kubernetes-client)"
        state = self.sandbox.state_dir
        config = state / "kubeconfig" if user == "admin" else state / "users" / f"{user}.kubeconfig"
        done = subprocess.run([KUBECTL, "--kubeconfig", str(config), *args], input=stdin, capture_output=True,
                              text=True, timeout=60, check=False)
        run = Run(tuple(args), done.returncode, done.stdout, done.stderr)
        if record:
            self.sandbox.record_text(f"kubectl as {user}: {' '.join(args)} -> {done.returncode}", run.text)
        return run

    def apply(self, user: str, manifest: dict[str, Any], *extra: str) -> Run:
        return self.kubectl(user, "apply", *extra, "-f", "-", stdin=json.dumps(manifest))

    def create(self, user: str, manifest: dict[str, Any], *extra: str) -> Run:
        return self.kubectl(user, "create", *extra, "-f", "-", stdin=json.dumps(manifest))

    # the victim's state

    def snapshot(self) -> dict[str, Any]:
        kube = self.kube
        namespaces = {ns["metadata"]["name"]: ns for ns in kube.items("/api/v1/namespaces")}
        snap: dict[str, Any] = {
            "namespaces": sorted(name for name in namespaces if not name.startswith("shop-")),
            "pipelines": sorted(p["metadata"]["name"] for p in kube.pipelines()),
        }
        for name in (*VICTIM_NAMESPACES, *self.extra_victims):
            ns = namespaces.get(name)
            snap[f"namespace {name}"] = None if ns is None else (
                ns["metadata"].get("labels") or {}, ns["metadata"].get("annotations") or {})
            if ns is None:
                continue
            secrets = {}
            for secret in kube.secrets(name):
                meta = secret["metadata"]
                labels = meta.get("labels") or {}
                if (name == SYSTEM_NAMESPACE and labels.get("shipway.dev/pipeline") == "shop"
                        and labels.get("app.kubernetes.io/managed-by") == "shipway-api"):
                    continue  # the attacker's own credentials set by value
                secrets[meta["name"]] = (meta.get("resourceVersion"), secret.get("type"), labels,
                                         meta.get("annotations") or {}, _owners(meta))
            snap[f"secrets {name}"] = secrets
            snap[f"serviceaccounts {name}"] = {
                sa["metadata"]["name"]: (sa["metadata"].get("resourceVersion"), sa.get("imagePullSecrets"))
                for sa in kube.items(f"/api/v1/namespaces/{name}/serviceaccounts")}
            for kind in ("roles", "rolebindings"):
                snap[f"{kind} {name}"] = {
                    r["metadata"]["name"]: r["metadata"].get("resourceVersion")
                    for r in kube.items(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{name}/{kind}")}
        blog = kube.pipeline("blog")
        snap["pipeline blog"] = None if blog is None else (blog["spec"], blog["metadata"].get("generation"))
        snap["platform"] = kube.platform()["spec"]
        return snap

    def revision(self) -> str:
        """The emulator's latest resourceVersion (one counter for every object, as etcd's)."""
        return str(self.kube.client.get("/api/v1/namespaces").json()["metadata"]["resourceVersion"])

    def settle(self, *, quiet: float = QUIET_SECONDS, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait until nothing at all was written for ``quiet`` seconds (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        last, since = self.revision(), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.revision()
            if now != last:
                last, since = now, time.monotonic()

    def assert_unchanged(self, before: dict[str, Any]) -> None:
        """Once the operator settled, the victim's state is ``before``."""
        self.settle()
        after = self.snapshot()
        changed = {key: (before.get(key), after.get(key)) for key in before.keys() | after.keys()
                   if before.get(key) != after.get(key)}
        assert changed == {}, f"the attack changed the victim's state: {json.dumps(changed, indent=1, default=str)}"

    @contextlib.contextmanager
    def unchanged(self) -> Iterator[dict[str, Any]]:
        """The victim's state before the block equals its state once the operator settled after it."""
        self.settle(quiet=0.3)
        before = self.snapshot()
        yield before
        self.assert_unchanged(before)

    # Shipway objects as the admin

    def pipeline(self, name: str) -> dict[str, Any]:
        found = self.kube.pipeline(name)
        assert found is not None, f"Pipeline {name} is gone"
        return found

    def spec(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.pipeline(name)["spec"])

    def ready(self, name: str) -> dict[str, Any] | None:
        """The Ready condition of pipeline ``name`` once the operator observed its current generation."""
        found = self.kube.pipeline(name)
        if found is None:
            return None
        status = found.get("status") or {}
        if status.get("observedGeneration") != found["metadata"].get("generation"):
            return None
        return next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)

    def wait_ready(self, name: str, status: str = "True", *, timeout: float = 20.0) -> dict[str, Any]:
        return dict(self.kube.wait_for(f"pipeline {name} Ready={status}", lambda: (
            (c := self.ready(name)) is not None and c["status"] == status and c), timeout=timeout))

    def observed(self, name: str, *, timeout: float = 20.0) -> dict[str, Any]:
        """The Ready condition once the operator observed the current generation, whatever it says."""
        return dict(self.kube.wait_for(f"pipeline {name} observed", lambda: self.ready(name), timeout=timeout))

    def replace_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """The admin replaces a Pipeline's spec (a merge patch cannot drop list items: a PUT does)."""
        current = self.pipeline(name)
        body = {"apiVersion": current["apiVersion"], "kind": current["kind"],
                "metadata": {"name": name, "resourceVersion": current["metadata"]["resourceVersion"]}, "spec": spec}
        response = self.kube.client.put(f"{GROUP_PATH}/pipelines/{name}", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    @contextlib.contextmanager
    def webhook_removed(self) -> Iterator[None]:
        """The admin deletes the ValidatingWebhookConfiguration, and recreates the same object afterwards: the
        way a spec gets written that no admission ever checked (written before the webhook existed)."""
        stored = self.kube.get(f"{WEBHOOKS_PATH}/{WEBHOOK_NAME}")
        assert stored is not None, "the sandbox registered no admission webhook"
        deleted = self.kube.client.delete(f"{WEBHOOKS_PATH}/{WEBHOOK_NAME}")
        assert deleted.status_code == 200, deleted.text
        try:
            yield
        finally:
            meta = stored["metadata"]
            body = {"apiVersion": stored["apiVersion"], "kind": stored["kind"], "webhooks": stored["webhooks"],
                    "metadata": {"name": meta["name"], "labels": meta.get("labels") or {},
                                 "annotations": meta.get("annotations") or {}}}
            created = self.kube.client.post(WEBHOOKS_PATH, json=body)
            assert created.status_code in (200, 201), created.text
            back = self.kube.get(f"{WEBHOOKS_PATH}/{WEBHOOK_NAME}")
            assert back is not None and back["webhooks"] == stored["webhooks"]

    # Delivered Secrets

    def secrets_texts(self, namespace: str) -> list[tuple[str, str]]:
        return [(f"Secret {namespace}/{s['metadata']['name']}", json.dumps(s)) for s in self.kube.secrets(namespace)]

    def shop_namespaces(self) -> list[str]:
        """shop's namespaces (``shop-*``, but not the admin's that only share the prefix)."""
        return [ns["metadata"]["name"] for ns in self.kube.items("/api/v1/namespaces")
                if ns["metadata"]["name"].startswith("shop-") and ns["metadata"]["name"] not in self.extra_victims]


class CountingListener:
    """A TCP port that counts the connections it is offered (and closes them): proof that nothing called."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.port = int(self._socket.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            connection.close()

    def __enter__(self) -> CountingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()
