"""The emulator as the benchmark runs it, and the operator processes it starts against it.

By default the emulator authenticates and authorizes (``--users``, so HTTPS with a CA of its own): the
benchmark talks to it as the admin (``system:masters``), installs the CRDs and exactly the RBAC objects and
admission fence Shipway ships (``shipway_rbac()``, ``operator_fence()``), and every operator, and the floor,
use the token of the operator's ServiceAccount, as the integration tests do (tests/support/cluster.py).
``rbac=False`` (``--no-rbac``) runs the emulator without users: plain HTTP, every request allowed.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path

import yaml

from benchmarks.operator.api import Connection, Kube
from benchmarks.operator.common import BenchmarkError, Deadline, say
from benchmarks.operator.processes import Child
from shipway.core.crds import custom_resource_definitions
from shipway.core.manifests import rbac
from shipway.core.manifests.admission import operator_fence
from shipway_sandbox.emulator import kubeconfig as kubeconfigs
from shipway_sandbox.emulator import users as emulator_users

OPERATOR_USER = rbac.service_account_user(rbac.OPERATOR)
RBAC_NAMESPACES = (rbac.SYSTEM_NAMESPACE, "default")  # where the shipped RBAC objects live
_PLURALS = {"ValidatingAdmissionPolicy": "validatingadmissionpolicies",
            "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
            "ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
            "ClusterRoleBinding": "clusterrolebindings", "Role": "roles", "RoleBinding": "rolebindings"}


def _connection(kubeconfig: Path) -> Connection:
    config = yaml.safe_load(kubeconfig.read_text())
    server = config["clusters"][0]["cluster"]
    ca = server.get("certificate-authority-data")
    return Connection(url=server["server"], ca_pem=base64.b64decode(ca) if ca else None,
                      token=config["users"][0]["user"].get("token"))


class Emulator:
    """``python -m shipway_sandbox.emulator`` in a process of its own, and who talks to it: ``admin`` (the
    benchmark's setup, watches and checks) and ``operator`` (the operator's ServiceAccount, for the operators
    and the floor; ``operator_kubeconfig`` carries it)."""

    def __init__(self, workdir: Path, label: str, *, rbac: bool) -> None:
        self.label = label
        self.rbac = rbac
        self.admin_kubeconfig = workdir / f"{label}-admin.kubeconfig"
        self.operator_kubeconfig = workdir / f"{label}-operator.kubeconfig"
        argv = [sys.executable, "-m", "shipway_sandbox.emulator", "--port", "0",
                "--kubeconfig", str(self.admin_kubeconfig)]
        self.users: emulator_users.Users | None = None
        if rbac:
            users_file = emulator_users.write(workdir / f"{label}-users.yaml", emulator_users.generate(
                teams=(), service_accounts=[OPERATOR_USER]))
            self.users = emulator_users.load(users_file)
            argv += ["--users", str(users_file)]
        self.child = Child(f"emulator ({label})", argv, workdir / f"{label}-emulator.log")
        self.admin = Connection("")
        self.operator = Connection("")

    async def started(self, deadline: Deadline) -> Emulator:
        line = await self.child.wait_for("emulator listening on", timeout=60, deadline=deadline)
        url = line.rsplit(" ", 1)[1].strip()
        if not url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
            raise BenchmarkError(f"the emulator is not on 127.0.0.1: {url}")
        for _ in range(100):
            if self.admin_kubeconfig.exists() and self.admin_kubeconfig.stat().st_size:
                break
            await asyncio.sleep(0.02)
        self.admin = _connection(self.admin_kubeconfig)
        if self.users is not None:
            self.operator = Connection(self.admin.url, self.admin.ca_pem, self.users.by_name(OPERATOR_USER).token)
            kubeconfigs.write(self.operator_kubeconfig, self.operator.url, token=str(self.operator.token),
                              ca_pem=self.operator.ca_pem)
        else:
            self.operator = self.admin
            self.operator_kubeconfig = self.admin_kubeconfig
        say(f"{self.label}: emulator at {url} (pid {self.child.pid}, "
            f"{'RBAC with the shipped roles' if self.rbac else 'no RBAC'})")
        return self

    def stop(self) -> None:
        self.child.stop()


async def install(kube: Kube, *, with_rbac: bool) -> None:
    """The CRDs (until served) and, with RBAC, the namespaces and objects Shipway's install ships."""
    for crd in custom_resource_definitions():
        await kube.create(crd, "customresourcedefinitions")
    for _ in range(200):
        if await kube.served("shipway.dev/v1alpha1", "pipelines"):
            break
        await asyncio.sleep(0.05)
    else:
        raise BenchmarkError("the Pipeline CRD is not served")
    for name in RBAC_NAMESPACES:
        if await kube.get("v1", "namespaces", name) is None:
            await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "namespaces")
    if with_rbac:
        for obj in [*rbac.shipway_rbac(), *operator_fence()]:
            await kube.create(obj, _PLURALS[obj["kind"]])


def start_operator(emulator: Emulator, workdir: Path, *, identity: str, standalone: bool = True,
                   verify_interval: float = 0.0, lease_duration: float | None = None) -> Child:
    """``python -m shipway operator run`` with the operator's kubeconfig and ``--identity`` (which its
    User-Agent carries in parentheses, so the ledger tells replicas apart)."""
    argv = [sys.executable, "-m", "shipway", "operator", "run",
            "--standalone" if standalone else "--no-standalone",
            "--kubeconfig", str(emulator.operator_kubeconfig), "--verify-interval", str(verify_interval),
            "--identity", identity]
    if lease_duration is not None:
        argv += ["--lease-duration", str(lease_duration)]
    return Child(f"operator {identity} ({emulator.label})", argv, workdir / f"{emulator.label}-{identity}.log")
