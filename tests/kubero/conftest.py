"""A Kubero cluster in the sandbox: ``shipway sandbox up`` as a subprocess (as tests/api does), with the
operator's registry checks on, a real registry (Debian ``docker-registry``, htpasswd) that knows Kubero's
global user and blog's user, minimal CRDs for Kubero's kinds (the emulator knows none), the ``kubero``
namespace with the export's objects in it, and the ``<pipeline>-<phase>`` namespaces Kubero made for enabled
phases on this cluster (unlabelled: not Shipway's).

At teardown every canary of the export (passwords, git keys) is looked for, plain and base64, in every
output of the CLI, every Pipeline, Platform and Event, and the sandbox's output: zero hits.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.helpers import SHIPWAY, Kube, Sandbox, start_sandbox
from tests.support import registries

from .helpers import BLOG_PASSWORD, GLOBAL_PASSWORD, fixture_text, items, leaks

KUBERO_PATH = "/apis/application.kubero.dev/v1alpha1/namespaces/kubero"
HERE_NAMESPACES = ("webshop-stage", "webshop-production", "blog-review", "blog-stage", "docs-stage",
                   "docs-production")
UNREACHABLE = "127.0.0.1:9"  # docs' registry: nothing listens, its check says Unreachable at once


def kubero_crd(kind: str, plural: str) -> dict[str, object]:
    """What Kubero's operator installs (config/crd/bases), cut to the bone: namespaced, schemaless."""
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.application.kubero.dev"},
            "spec": {"group": "application.kubero.dev", "scope": "Namespaced",
                     "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                               "singular": kind.lower()},
                     "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                   "subresources": {"status": {}}, "schema": {"openAPIV3Schema": schema}}]}}


def start_verifying_sandbox(workdir: Path) -> Sandbox:
    """``shipway sandbox up`` with the operator's registry checks on (tests/api runs it with them off)."""
    return start_sandbox(workdir, verify_interval="3600")


@dataclass(frozen=True)
class KuberoCluster:
    sandbox: Sandbox
    kube: Kube
    kubeconfig: Path
    export_file: Path  # the export as kubectl would print it, pointing at the live registries
    registry: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``shipway ARGS --kubeconfig ...``; its output is kept for the canary scan."""
        env = {**os.environ, "SHIPWAY_CONFIG": str(self.sandbox.config)}
        done = subprocess.run([SHIPWAY, *args, "--kubeconfig", str(self.kubeconfig)], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        self.sandbox.record_text(f"shipway {' '.join(args)} (stdout)", done.stdout)
        self.sandbox.record_text(f"shipway {' '.join(args)} (stderr)", done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def writes_by_import(self) -> int:
        """Write requests the emulator has answered for ``shipway import`` (its User-Agent) so far."""
        ledger = self.kube.client.get("/_emulator/requests").json()["requests"]
        return sum(1 for r in ledger if r["user_agent"].startswith("shipway-import/")
                   and r["verb"] in ("create", "update", "patch", "delete", "deletecollection"))

    def requests_by_import(self) -> int:
        ledger = self.kube.client.get("/_emulator/requests").json()["requests"]
        return sum(1 for r in ledger if r["user_agent"].startswith("shipway-import/"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    """Kubero's registry: it knows the global user and blog's user (docs' registry is unreachable)."""
    for server in registries.running(lambda: registries.start_htpasswd_registry(
            tmp_path_factory.mktemp("kubero-registry"))):
        server.add_user("kubero", GLOBAL_PASSWORD)
        server.add_user("blog-bot", BLOG_PASSWORD)
        yield server


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start_verifying_sandbox(tmp_path_factory.mktemp("kubero-sandbox"))
    try:
        yield running
        stored = running.stored_texts()
    finally:
        running.stop()
    hits = leaks([*running.responses, *stored, ("sandbox output", running.output.text)])
    assert hits == [], hits


@pytest.fixture(scope="module")
def cluster(sandbox: Sandbox, registry: registries.RegistryServer,
            tmp_path_factory: pytest.TempPathFactory) -> KuberoCluster:
    kube = sandbox.kube
    for kind, plural in (("Kubero", "kuberoes"), ("KuberoPipeline", "kuberopipelines")):
        kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kubero_crd(kind, plural))
    for namespace in ("kubero", *HERE_NAMESPACES):
        kube.ensure_namespace(namespace)
    kube.wait_for("Kubero's kinds served", lambda: kube.client.get(f"{KUBERO_PATH}/kuberoes").status_code == 200)
    text = fixture_text(registry=registry.host, docs_registry=UNREACHABLE)
    for item in items(text):
        for server_set in ("resourceVersion", "uid", "generation"):
            item["metadata"].pop(server_set, None)
        plural = "kuberoes" if item["kind"] == "Kubero" else "kuberopipelines"
        kube.create(f"{KUBERO_PATH}/{plural}", item)
    export_file = tmp_path_factory.mktemp("kubero-export") / "kubero.yaml"
    export_file.write_text(text)
    return KuberoCluster(sandbox=sandbox, kube=kube, kubeconfig=sandbox.state_dir / "kubeconfig",
                         export_file=export_file, registry=registry.host)
