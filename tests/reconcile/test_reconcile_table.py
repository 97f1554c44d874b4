"""Reconcile driven in-process: a key in, the cache read, the difference applied to an in-memory cluster, a
status out, with a fake clock. Sentence-named cases; each checks what was written, exactly.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.cache import Store
from shipway.reconcile.apply import ACCOUNT_WAIT_SECONDS
from shipway.reconcile.pipelines import Reconciler

from .memory import MemoryCluster

NOW = "2026-12-01T00:00:00Z"
PLATFORM_PASSWORD = "canary-reconcile-platform"
TEAM_PASSWORD = "canary-reconcile-team"


class World:
    """The cluster, the operator's cache, a reconciler with fake clocks, and helpers to make the state."""

    def __init__(self) -> None:
        self.cluster = MemoryCluster()
        self.store = Store()
        self.seconds = 0.0
        self.reconciler = Reconciler(client=self.cluster, store=self.store, clock=lambda: NOW,
                                     monotonic=lambda: self.seconds)

    def put(self, kind: kinds.Kind, body: dict[str, Any]) -> None:
        self.cluster.put(kind, body, self.store)

    def secret(self, namespace: str, name: str, registry: str, password: str, *,
               annotations: dict[str, str] | None = None) -> None:
        payload = json.dumps({"auths": {registry: {"username": "u", "password": password}}}).encode()
        self.put(kinds.SECRET, {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                                "metadata": {"name": name, "namespace": namespace,
                                             "labels": {"shipway.dev/credential": "true"},
                                             "annotations": annotations or {}},
                                "data": {".dockerconfigjson": base64.b64encode(payload).decode()}})

    def platform(self, **spec: Any) -> None:
        self.secret("shipway-system", "default-registry", "registry.example.com", PLATFORM_PASSWORD)
        self.put(kinds.PLATFORM, {"apiVersion": "shipway.dev/v1alpha1", "kind": "Platform",
                                  "metadata": {"name": "default"}, "spec": {"registry": {"credentials": [
                                      {"secretRef": {"namespace": "shipway-system", "name": "default-registry"},
                                       "usage": ["pull"]}]}, **spec}})

    def pipeline(self, name: str, **spec: Any) -> None:
        body = {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                "metadata": {"name": name, "uid": f"uid-{name}", "generation": 1},
                "spec": {"phases": [{"name": "stage"}], "registry": {"inherit": True, "credentials": []}, **spec}}
        self.put(kinds.PIPELINE, body)

    def default_accounts(self) -> None:
        """The ServiceAccount controller: a ``default`` in every namespace that has none."""
        for (plural, _, name) in list(self.cluster.objects):
            if plural == "namespaces" and ("serviceaccounts", name, "default") not in self.cluster.objects:
                self.put(kinds.SERVICE_ACCOUNT, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                 "metadata": {"name": "default", "namespace": name}})

    async def reconcile(self, name: str) -> dict[str, Any]:
        self.cluster.writes.clear()
        await self.reconciler(name)
        return self.cluster.objects.get(("pipelines", "", name)) or {}

    def ready(self, body: dict[str, Any]) -> tuple[str, str]:
        ready = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
        return ready["status"], ready["reason"]

    def object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cluster.objects.get((plural, namespace, name))


@pytest.fixture
def world() -> World:
    made = World()
    made.platform()
    return made


async def test_a_new_pipeline_is_not_ready_until_its_default_service_account_lists_the_pull_secret(
        world: World) -> None:
    world.pipeline("shop")
    body = await world.reconcile("shop")
    # Within the wait for the ServiceAccount controller, no status at all: never Ready before delivery, and
    # no write the next event overturns.
    assert world.cluster.writes == {"create namespaces": 1, "create secrets": 1}
    assert "status" not in body
    world.default_accounts()
    body = await world.reconcile("shop")
    assert world.cluster.writes == {"patch serviceaccounts": 1, "patch pipelines/status": 1}
    assert world.ready(body) == ("True", "Ready")
    account = world.object("serviceaccounts", "shop-stage", "default")
    assert account is not None and account["imagePullSecrets"] == [{"name": "shipway-pull"}]


async def test_a_reconcile_of_an_unchanged_world_writes_nothing(world: World) -> None:
    world.pipeline("shop")
    await world.reconcile("shop")
    world.default_accounts()
    await world.reconcile("shop")
    await world.reconcile("shop")
    assert world.cluster.writes == {}


async def test_without_a_service_account_controller_shipway_makes_the_default_account_after_a_wait(
        world: World) -> None:
    world.pipeline("shop")
    await world.reconcile("shop")
    world.seconds += ACCOUNT_WAIT_SECONDS / 2
    await world.reconcile("shop")
    assert "create serviceaccounts" not in world.cluster.writes
    world.seconds += ACCOUNT_WAIT_SECONDS
    body = await world.reconcile("shop")
    assert world.cluster.writes["create serviceaccounts"] == 1
    assert world.ready(body) == ("True", "Ready")


async def test_a_phase_on_another_pipelines_namespace_is_refused_and_nothing_is_written_there(world: World) -> None:
    world.put(kinds.NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "blog-stage", "labels": {"app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": "blog"}}})
    world.pipeline("shop", phases=[{"name": "stage", "namespace": "blog-stage"}])
    body = await world.reconcile("shop")
    assert world.cluster.writes == {"patch pipelines/status": 1}
    assert world.ready(body) == ("False", "NamespaceOutsidePrefix")
    assert world.object("secrets", "blog-stage", "shipway-pull") is None


async def test_a_source_without_consent_is_never_read_nor_delivered_and_says_one_answer(world: World) -> None:
    world.secret("team-b", "theirs", "quay.io", TEAM_PASSWORD)
    world.pipeline("shop", registry={"inherit": True, "credentials": [
        {"secretRef": {"namespace": "team-b", "name": "theirs"}, "usage": ["pull"]}]})
    body = await world.reconcile("shop")
    assert world.ready(body) == ("False", "SourceNotUsable")
    pull = world.object("secrets", "shop-stage", "shipway-pull")
    assert pull is not None
    assert TEAM_PASSWORD not in base64.b64decode(pull["data"][".dockerconfigjson"]).decode()
    assert TEAM_PASSWORD not in json.dumps(body)


@pytest.mark.parametrize(("policy", "namespace_kept"), [
    pytest.param("Retain", True, id="under Retain a removed phase keeps its namespace, released"),
    pytest.param("Delete", False, id="under Delete a removed phase's namespace is deleted"),
])
async def test_removing_a_phase_applies_the_reclaim_policy(world: World, policy: str, namespace_kept: bool) -> None:
    world.pipeline("shop", phases=[{"name": "stage"}, {"name": "production"}], reclaimPolicy=policy)
    await world.reconcile("shop")
    world.default_accounts()
    await world.reconcile("shop")
    world.pipeline("shop", phases=[{"name": "stage"}], reclaimPolicy=policy)
    body = await world.reconcile("shop")
    assert [p["name"] for p in body["status"]["phases"]] == ["stage"]
    namespace = world.object("namespaces", "", "shop-production")
    if namespace_kept:
        assert namespace is not None
        assert namespace["metadata"]["labels"] == {"shipway.dev/released-from": "shop"}
        assert world.object("secrets", "shop-production", "shipway-pull") is None
        account = world.object("serviceaccounts", "shop-production", "default")
        assert account is not None and (account.get("imagePullSecrets") or []) == []
    else:
        assert namespace is None
        assert world.cluster.writes["delete namespaces"] == 1


async def test_a_pull_secret_over_the_size_of_a_kubernetes_object_is_refused_and_not_retried(world: World) -> None:
    for index in range(3):
        world.secret("shop-stage", f"big-{index}", f"big{index}.example.com", "p" * 400_000)
    world.pipeline("shop", registry={"inherit": False, "credentials": [
        {"secretRef": {"namespace": "shop-stage", "name": f"big-{i}"}, "usage": ["pull"]} for i in range(3)]})
    world.put(kinds.NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "shop-stage", "labels": {"app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": "shop",
                                         "shipway.dev/phase": "stage"}}})
    body = await world.reconcile("shop")
    assert world.ready(body) == ("False", "SecretTooLarge")
    assert world.object("secrets", "shop-stage", "shipway-pull") is None
    await world.reconcile("shop")
    assert world.cluster.writes == {}  # refused once, not retried
