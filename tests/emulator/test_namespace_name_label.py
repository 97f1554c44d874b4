"""Every Namespace carries ``kubernetes.io/metadata.name: <its name>``, set by the server on create and on
every update, so it can be neither removed nor changed (kube-apiserver since 1.21), and namespace selectors of
policies and webhooks can pick namespaces by name."""

from __future__ import annotations

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator

from .admission_policies import CONFIGMAPS, binding, configmap, install, policy, validation
from .helpers import make_namespace

pytestmark = pytest.mark.integration
LABEL = "kubernetes.io/metadata.name"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def test_created_namespaces_carry_their_name_as_a_label(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/v1/namespaces", json={"metadata": {"name": "team", "labels": {"a": "b"}}})
    assert created.json()["metadata"]["labels"] == {"a": "b", LABEL: "team"}
    dry = await http.post("/api/v1/namespaces", json={"metadata": {"name": "dry"}}, params={"dryRun": "All"})
    assert dry.json()["metadata"]["labels"] == {LABEL: "dry"}
    forged = await http.post("/api/v1/namespaces", json={"metadata": {"name": "forged", "labels": {LABEL: "x"}}})
    assert forged.json()["metadata"]["labels"] == {LABEL: "forged"}


async def test_the_namespaces_a_cluster_starts_with_carry_it_too(emulator: ClusterEmulator,
                                                                 http: httpx.AsyncClient) -> None:
    for name in emulator.initial_namespaces:
        assert (await http.get(f"/api/v1/namespaces/{name}")).json()["metadata"]["labels"] == {LABEL: name}


async def test_updates_and_patches_cannot_remove_or_change_it(http: httpx.AsyncClient) -> None:
    stored = await make_namespace(http, "team")
    replaced = await http.put("/api/v1/namespaces/team", json={**stored, "metadata": {
        "name": "team", "labels": {"x": "y"}, "resourceVersion": stored["metadata"]["resourceVersion"]}})
    assert replaced.json()["metadata"]["labels"] == {"x": "y", LABEL: "team"}
    removed = await http.patch("/api/v1/namespaces/team", json={"metadata": {"labels": {LABEL: None}}},
                               headers=MERGE)
    assert removed.json()["metadata"]["labels"] == {"x": "y", LABEL: "team"}
    changed = await http.patch("/api/v1/namespaces/team", json={"metadata": {"labels": {LABEL: "other"}}},
                               headers=MERGE)
    assert changed.json()["metadata"]["labels"][LABEL] == "team"
    assert changed.json()["metadata"]["resourceVersion"] == replaced.json()["metadata"]["resourceVersion"]


async def test_a_namespace_selector_can_pick_a_namespace_by_name(http: httpx.AsyncClient) -> None:
    await make_namespace(http, "team-a")
    await make_namespace(http, "team-b")
    by_name = {"namespaceSelector": {"matchLabels": {LABEL: "team-a"}}}
    await install(http, policy("p", validation("false"), matchConstraints=by_name), binding("b", "p"))
    assert (await http.post(CONFIGMAPS.format(ns="team-a"), json=configmap("c1"))).status_code == 422
    assert (await http.post(CONFIGMAPS.format(ns="team-b"), json=configmap("c1"))).status_code == 201
