"""A cluster for integration tests: the emulator and the operator, each in its own process, over HTTPS.

The emulator runs with a users file (``--users``): every request is authenticated by its bearer token and
authorized by the RBAC objects stored in the emulator, as a real API server does. The tests talk to it as
the admin (``system:masters``: allowed everything, like ``kubectl`` of a cluster admin), with the admin's
token and the emulator's CA taken from the kubeconfig the emulator writes. Before anything else, the harness
installs the CRDs and exactly the RBAC objects Shipway ships (``shipway_rbac()``: ServiceAccounts,
ClusterRoles, Roles and their bindings); the operator then runs with a kubeconfig of its own that carries
its ServiceAccount's token, so it can do exactly what the shipped roles allow and nothing more.

The tests read the emulator's request ledger to count what the operator did (by its User-Agents), and can
SIGKILL and restart the operator. A request of the operator that the emulator refused (401 or 403: a right
the shipped roles lack) fails the test: :meth:`Api.assert_operator_never_denied` runs when the cluster is
torn down, and the ledger's refusals are kept across :meth:`Api.reset_ledger`.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
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
from shipway.core.manifests import rbac
from shipway.core.manifests.admission import operator_fence
from shipway_sandbox.emulator import kubeconfig as kubeconfigs
from shipway_sandbox.emulator import users as emulator_users

# The operator's own client identifies as shipway-operator/VERSION; kopf's watches inside it as kopf/VERSION.
OPERATOR_AGENTS = ("shipway-operator/", "kopf/")
TEST_AGENT = "shipway-tests"
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
DENIED = frozenset({401, 403})  # unauthenticated, forbidden: what the operator must never be answered

# The usernames of the ServiceAccounts the install ships, as their tokens authenticate them.
OPERATOR_USER = rbac.service_account_user(rbac.OPERATOR)
API_USER = rbac.service_account_user(rbac.API)
# Where the shipped RBAC objects live: these must exist before it is installed.
RBAC_NAMESPACES = (rbac.SYSTEM_NAMESPACE, "default")
_RBAC_PLURALS = {"ValidatingAdmissionPolicy": "validatingadmissionpolicies",
                 "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
                 "ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles",
                 "ClusterRoleBinding": "clusterrolebindings", "Role": "roles", "RoleBinding": "rolebindings"}


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


def describe_request(record: dict[str, Any]) -> str:
    """A ledger record as ``verb group/resource[/subresource] in namespace NS -> status (METHOD path)``."""
    resource = "/".join(part for part in (record["group"], record["plural"], record["subresource"]) if part)
    where = f"in namespace {record['namespace']}" if record["namespace"] else "cluster-wide"
    return (f"{record['verb'] or record['method']} {resource or record['path']} {where} -> {record['status']} "
            f"({record['method']} {record['path']}, {record['user_agent']})")


def right_of(record: dict[str, Any]) -> tuple[str, str, str]:
    """The RBAC right a request needed: (verb, API group, resource[/subresource])."""
    resource = record["plural"] + (f"/{record['subresource']}" if record["subresource"] else "")
    return record["verb"], record["group"] or "", resource


@dataclass
class Connection:
    """Where the emulator is and who talks to it: server URL, the CA of its certificate, a bearer token."""

    url: str
    ca_pem: bytes | None = None
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_kubeconfig(cls, path: Path) -> Connection:
        config = yaml.safe_load(path.read_text())
        server = config["clusters"][0]["cluster"]
        ca = server.get("certificate-authority-data")
        return cls(url=server["server"], ca_pem=base64.b64decode(ca) if ca else None,
                   token=config["users"][0]["user"].get("token"))

    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cadata=self.ca_pem.decode()) if self.ca_pem else True

    def as_user(self, token: str) -> Connection:
        return Connection(url=self.url, ca_pem=self.ca_pem, token=token)

    def write_kubeconfig(self, path: Path) -> Path:
        assert self.token is not None
        return kubeconfigs.write(path, self.url, token=self.token, ca_pem=self.ca_pem)


@dataclass
class Api:
    """A minimal Kubernetes client for tests (not the product's), over real HTTP(S), as the admin.

    It also keeps what :meth:`reset_ledger` would otherwise forget: the operator's refused requests (any is a
    failure) and the rights the operator used (see :meth:`operator_rights`).
    """

    url: str
    token: str | None = field(default=None, repr=False)
    ca_pem: bytes | None = field(default=None, repr=False)
    client: httpx.Client = field(init=False)
    denied: list[dict[str, Any]] = field(init=False, default_factory=list)
    used: set[tuple[str, str, str]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        headers = {"User-Agent": TEST_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        verify = Connection(self.url, self.ca_pem).verify()
        self.client = httpx.Client(base_url=self.url, headers=headers, verify=verify, timeout=10)

    @classmethod
    def connect(cls, connection: Connection) -> Api:
        return cls(connection.url, token=connection.token, ca_pem=connection.ca_pem)

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
        response = self.client.get("/_emulator/requests")
        response.raise_for_status()
        return list(response.json()["requests"])

    def reset_ledger(self) -> None:
        self._remember(self.ledger())
        self.client.post("/_emulator/requests/reset").raise_for_status()

    def _remember(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            if not record["user_agent"].startswith(OPERATOR_AGENTS):
                continue
            if record["status"] in DENIED:
                self.denied.append(record)
            elif record["verb"] is not None:
                self.used.add(right_of(record))

    def operator_denials(self) -> list[dict[str, Any]]:
        """The operator's requests refused with 401 or 403, since the emulator started."""
        now = [r for r in self.ledger() if r["user_agent"].startswith(OPERATOR_AGENTS) and r["status"] in DENIED]
        return [*self.denied, *now]

    def assert_operator_never_denied(self) -> None:
        """Fail, naming each verb and resource, if the emulator ever refused a request of the operator: the
        operator runs with its ServiceAccount under the shipped RBAC, so a refusal is a right they lack."""
        denials = self.operator_denials()
        if denials:
            distinct = list(dict.fromkeys(describe_request(r) for r in denials))
            raise AssertionError(
                f"the operator was refused {len(denials)} request(s) under the shipped RBAC "
                f"(shipway.core.manifests.rbac.OPERATOR_RULES lacks a right, or the operator asks for one it "
                f"should not):\n  " + "\n  ".join(distinct))

    def operator_rights(self) -> set[tuple[str, str, str]]:
        """Every (verb, API group, resource) the operator was granted a request for, since the emulator started."""
        now = {right_of(r) for r in self.ledger() if r["user_agent"].startswith(OPERATOR_AGENTS)
               and r["verb"] is not None and r["status"] not in DENIED}
        return self.used | now

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
    """The emulator with authentication and RBAC on: a users file (the admin, the sandbox's team users and
    Shipway's ServiceAccounts, fresh tokens) in ``workdir``, served over HTTPS with a CA of its own."""

    def __init__(self, workdir: Path, *, extra_args: tuple[str, ...] = ()) -> None:
        self.port = _free_port()
        self.kubeconfig = workdir / "kubeconfig"  # the admin's, written by the emulator
        self.users_file = emulator_users.write(
            workdir / "users.yaml", emulator_users.generate(service_accounts=[OPERATOR_USER, API_USER]))
        self.users = emulator_users.load(self.users_file)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shipway_sandbox.emulator", "--port", str(self.port),
             "--kubeconfig", str(self.kubeconfig), "--users", str(self.users_file), *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.output = OutputReader(self.process.stdout)
        try:
            self.output.wait_for("emulator listening")
        except TimeoutError:
            self.stop()
            raise
        self.admin = Connection.from_kubeconfig(self.kubeconfig)
        self.url = self.admin.url

    def connection(self, username: str) -> Connection:
        """The server and CA of the admin's kubeconfig, with the token of ``username`` (of the users file)."""
        return self.admin.as_user(self.users.by_name(username).token)

    def write_kubeconfig(self, path: Path, username: str) -> Path:
        return self.connection(username).write_kubeconfig(path)

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


def install_rbac(api: Api) -> None:
    """Exactly what ``shipway_rbac()`` and ``operator_fence()`` return (the namespaces they live in first), as
    the admin: the operator's rights, and the admission policy that fences its writes to labelled objects."""
    for name in RBAC_NAMESPACES:
        if api.get("v1", "namespaces", name) is None:
            api.create(namespace(name), "namespaces")
    for obj in [*rbac.shipway_rbac(), *operator_fence()]:
        api.create(obj, _RBAC_PLURALS[obj["kind"]])


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
    """``api``: the tests' client, as the admin; ``kubeconfig``: the operator's (its ServiceAccount's token),
    for any operator process a test starts; ``admin_kubeconfig``: the admin's."""

    emulator: EmulatorProcess
    api: Api
    kubeconfig: Path
    admin_kubeconfig: Path
    operator: OperatorProcess | None = None

    def start_operator(self, **options: Any) -> OperatorProcess:
        self.operator = OperatorProcess(self.kubeconfig, **options)
        self.operator.wait_synced()
        return self.operator


RIGHTS_REPORT = "SHIPWAY_TEST_OPERATOR_RIGHTS"  # a file: each cluster appends the rights the operator used


def _report_rights(api: Api) -> None:
    """With ``$SHIPWAY_TEST_OPERATOR_RIGHTS`` set, append the (verb, group, resource) the operator was granted
    and those it was refused, one JSON line per cluster: to compare with the shipped rules (unused rights)."""
    target = os.environ.get(RIGHTS_REPORT)
    if not target:
        return
    line = {"used": sorted(api.operator_rights()), "denied": sorted({right_of(r) for r in api.operator_denials()})}
    with open(target, "a") as handle:
        handle.write(json.dumps(line) + "\n")


def start_cluster(workdir: Path, *, emulator_args: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """A generator for a pytest fixture: the emulator (with ``emulator_args``) with the CRDs and Shipway's
    RBAC installed (and so the namespaces shipway-system and default); start the operator yourself.

    At teardown, once the operator is stopped, it fails if the operator was ever refused a request.
    """
    emulator = EmulatorProcess(workdir, extra_args=emulator_args)
    api = Api.connect(emulator.admin)
    cluster = Cluster(emulator=emulator, api=api, admin_kubeconfig=emulator.kubeconfig,
                      kubeconfig=emulator.write_kubeconfig(workdir / "operator.kubeconfig", OPERATOR_USER))
    failed = False
    try:
        install_crds(api)
        install_rbac(api)
        yield cluster
    except GeneratorExit:  # closed by the fixture: a normal end
        raise
    except BaseException:
        failed = True
        raise
    finally:
        try:
            if cluster.operator is not None:
                cluster.operator.stop()
            if not failed:
                _report_rights(api)
                api.assert_operator_never_denied()
        finally:
            api.client.close()
            emulator.stop()
