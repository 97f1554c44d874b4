"""The workload: the platform and its credentials, N pipelines of two phases, unrelated Secrets and
ServiceAccounts; the fewest writes that can deliver it; and the check that every phase namespace holds its
objects.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from benchmarks.operator.api import Kube, bulk
from benchmarks.operator.common import (
    CONSENT_ANNOTATION,
    CREDENTIAL_LABEL,
    PHASES,
    PIPELINE_LABEL,
    PULL_SECRET,
    PULL_USER,
    PUSH_SECRET,
    PUSH_USER,
    SERVICE_ACCOUNTS_PER_NAMESPACE,
    SOURCES_NAMESPACE,
    SYSTEM_NAMESPACE,
    UNRELATED_SECRET_NAMESPACES,
    USAGE_ANNOTATION,
    BenchmarkError,
)


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


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


@dataclass(frozen=True)
class Workload:
    """N pipelines ``bench-00000``...; the first ``inheriting`` inherit the platform's pull credential, the
    others use a credential of their own (one Secret each in ``bench-sources``, on the push registry)."""

    pipelines: int
    inheriting: int
    pull_registry: str  # the platform default pull credential's registry (the credential rotated)
    push_registry: str  # the platform push target, and the registry of the pipelines' own credentials
    seed: str = "bench"

    @property
    def names(self) -> list[str]:
        return [f"bench-{i:05d}" for i in range(self.pipelines)]

    def inherits(self, name: str) -> bool:
        return int(name.rsplit("-", 1)[1]) < self.inheriting

    @property
    def inheriting_names(self) -> list[str]:
        return [n for n in self.names if self.inherits(n)]

    @property
    def own_names(self) -> list[str]:
        return [n for n in self.names if not self.inherits(n)]

    @staticmethod
    def namespaces_of(name: str) -> list[str]:
        return [f"{name}-{phase}" for phase in PHASES]

    @property
    def phase_namespaces(self) -> list[str]:
        return [ns for n in self.names for ns in self.namespaces_of(n)]

    @staticmethod
    def own_user(name: str) -> str:
        return f"{name}-bot"

    def own_password(self, name: str) -> str:
        return hashlib.sha256(f"{self.seed}/{name}".encode()).hexdigest()[:24]

    def registry_users(self, *, pull_password: str, push_password: str) -> dict[str, dict[str, str]]:
        """The htpasswd users of each registry (by address) that make every credential of the workload valid."""
        push = {PUSH_USER: push_password, **{self.own_user(n): self.own_password(n) for n in self.own_names}}
        return {self.pull_registry: {PULL_USER: pull_password}, self.push_registry: push}

    @property
    def distinct_credentials(self) -> int:
        """Credentials a registry check is about: the platform's two and one per non-inheriting pipeline."""
        return 2 + len(self.own_names)

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


def platform_objects(workload: Workload, *, pull_password: str, push_password: str) -> list[tuple[dict[str, Any], str]]:
    """The platform's credentials (labelled Secrets in the system namespace) and Platform ``default``."""
    label = {CREDENTIAL_LABEL: "true"}
    return [
        (docker_secret(SYSTEM_NAMESPACE, PULL_SECRET, {workload.pull_registry: (PULL_USER, pull_password)},
                       labels=label), "secrets"),
        (docker_secret(SYSTEM_NAMESPACE, PUSH_SECRET, {workload.push_registry: (PUSH_USER, push_password)},
                       labels=label), "secrets"),
        ({"apiVersion": "shipway.dev/v1alpha1", "kind": "Platform", "metadata": {"name": "default"},
          "spec": {"systemNamespace": SYSTEM_NAMESPACE, "registry": {
              "credentials": [
                  {"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": PULL_SECRET}, "usage": ["pull"]},
                  {"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": PUSH_SECRET}, "usage": ["push"]},
              ],
              "push": {"registry": workload.push_registry, "repositoryPrefix": "apps"}}}}, "platforms"),
    ]


def rotation_patch(workload: Workload, password: str) -> dict[str, Any]:
    return {"data": {".dockerconfigjson": b64(dockerconfig({workload.pull_registry: (PULL_USER, password)}))}}


def unrelated_secret(i: int, filler: str) -> dict[str, Any]:
    """Half Opaque with ~1 KiB of data, half unlabelled docker config Secrets."""
    ns = f"unrelated-{i % UNRELATED_SECRET_NAMESPACES}"
    if i % 2:
        return docker_secret(ns, f"unrelated-{i:06d}", {f"r{i}.other.test": ("someone", filler[:64])},
                             labels={"app": "unrelated"})
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": f"unrelated-{i:06d}", "namespace": ns, "labels": {"app": "unrelated"}},
            "data": {"blob": filler}}


def unrelated_service_account_namespace(i: int) -> str:
    return f"unrelated-sa-{i // SERVICE_ACCOUNTS_PER_NAMESPACE:04d}"


def unrelated_service_account(i: int, filler: str) -> dict[str, Any]:
    """A ServiceAccount as tools leave them: labels, a ~0.5 KiB last-applied annotation, a token Secret and a
    pull secret named (about 1 KiB in all)."""
    name = f"app-{i:06d}"
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": unrelated_service_account_namespace(i),
                         "labels": {"app": "unrelated", "app.kubernetes.io/name": name,
                                    "app.kubernetes.io/part-of": "something-else"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": filler[:512]}},
            "secrets": [{"name": f"{name}-token"}], "imagePullSecrets": [{"name": "regcred"}]}


async def setup_cluster(kube: Kube, workload: Workload, *, unrelated_secrets: int, unrelated_service_accounts: int,
                        pull_password: str, push_password: str) -> dict[str, float]:
    """The namespaces ``shipway-system`` (installed already) and ``bench-sources``, the platform credentials
    and Platform ``default``, the pipelines' own source Secrets (labelled, consented for their pipeline and
    granted pull and push), and the unrelated Secrets and ServiceAccounts, 64 requests in flight."""
    durations: dict[str, float] = {}
    started = time.monotonic()
    await kube.create(namespace(SOURCES_NAMESPACE), "namespaces")
    for obj, plural in platform_objects(workload, pull_password=pull_password, push_password=push_password):
        await kube.create(obj, plural)
    label = {CREDENTIAL_LABEL: "true"}
    await bulk(workload.own_names, lambda name: kube.create(docker_secret(
        SOURCES_NAMESPACE, f"src-{name}", {workload.push_registry: (workload.own_user(name),
                                                                    workload.own_password(name))},
        labels=label, annotations={CONSENT_ANNOTATION: name, USAGE_ANNOTATION: "pull,push"}), "secrets"))
    durations["setup_seconds"] = round(time.monotonic() - started, 2)

    filler = b64(os.urandom(768))  # ~1 KiB once encoded
    if unrelated_secrets:
        started = time.monotonic()
        for i in range(min(unrelated_secrets, UNRELATED_SECRET_NAMESPACES)):
            await kube.create(namespace(f"unrelated-{i}"), "namespaces")
        await bulk(range(unrelated_secrets), lambda i: kube.create(unrelated_secret(i, filler), "secrets"))
        durations["unrelated_secrets_seconds"] = round(time.monotonic() - started, 2)
    if unrelated_service_accounts:
        started = time.monotonic()
        spaces = sorted({unrelated_service_account_namespace(i) for i in range(unrelated_service_accounts)})
        await bulk(spaces, lambda ns: kube.create(namespace(ns), "namespaces"))
        await asyncio.sleep(0.2)  # their default ServiceAccounts are made meanwhile
        await bulk(range(unrelated_service_accounts),
                   lambda i: kube.create(unrelated_service_account(i, filler), "serviceaccounts"))
        durations["unrelated_service_accounts_seconds"] = round(time.monotonic() - started, 2)
    return durations


@dataclass
class Snapshot:
    """What the operator made, as listed by the benchmark: namespaces by name; objects by namespace, then
    ``plural/name``; pipelines and the Platform by name (for the floor to replay)."""

    namespaces: dict[str, dict[str, Any]]
    objects: dict[str, dict[str, dict[str, Any]]]
    pipelines: dict[str, dict[str, Any]]
    platform: dict[str, Any] | None


async def snapshot(kube: Kube) -> Snapshot:
    namespaces = {n["metadata"]["name"]: n for n in (await kube.list("v1", "namespaces",
                                                                     selector=PIPELINE_LABEL))["items"]}
    by_ns: dict[str, dict[str, dict[str, Any]]] = {}
    for api_version, plural in (("v1", "secrets"), ("v1", "serviceaccounts"),
                                ("rbac.authorization.k8s.io/v1", "roles"),
                                ("rbac.authorization.k8s.io/v1", "rolebindings")):
        for item in (await kube.list(api_version, plural, selector=PIPELINE_LABEL))["items"]:
            meta = item["metadata"]
            by_ns.setdefault(meta["namespace"], {})[f"{plural}/{meta['name']}"] = item
    # The default ServiceAccounts are not Shipway's (no label): read each one of the phase namespaces.
    for item in (await kube.request("GET", "/api/v1/serviceaccounts", params={"fieldSelector": "metadata.name=default"},
                                    what="list default ServiceAccounts"))[1]["items"]:
        ns = item["metadata"]["namespace"]
        if ns in namespaces:
            by_ns.setdefault(ns, {})["serviceaccounts/default"] = item
    pipelines = {p["metadata"]["name"]: p for p in (await kube.list("shipway.dev/v1alpha1", "pipelines"))["items"]}
    platform = await kube.get("shipway.dev/v1alpha1", "platforms", "default")
    return Snapshot(namespaces, by_ns, pipelines, platform)


def problems_in(state: Snapshot, workload: Workload) -> list[str]:
    """What is missing or wrong in the phase namespaces (empty when every namespace holds its objects)."""
    problems: list[str] = []
    for name in workload.names:
        for ns in workload.namespaces_of(name):
            if ns not in state.namespaces:
                problems.append(f"{ns}: no Namespace")
                continue
            held = state.objects.get(ns, {})
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


async def verified_snapshot(kube: Kube, workload: Workload, *, attempts: int = 60) -> Snapshot:
    """A snapshot once every phase namespace holds its objects (retried for up to a minute)."""
    problems: list[str] = []
    for _ in range(attempts):
        state = await snapshot(kube)
        problems = problems_in(state, workload)
        if not problems:
            return state
        await asyncio.sleep(1.0)
    raise BenchmarkError(f"{len(problems)} problems in the phase namespaces, e.g. {problems[:10]}")
