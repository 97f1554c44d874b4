"""Reclaim policies: what happens to a phase namespace when its phase is removed or disabled, or its pipeline
is deleted. Shipway's own objects always go; with Retain (the default) the namespace and everything a team put
there stay; with Delete only namespaces Shipway created are deleted.
"""

from __future__ import annotations

from typing import Any

from .helpers import (
    PLATFORM_PUSH,
    PhaseExpectation,
    Shipway,
    assert_phase,
    everything_labelled,
    pipeline,
    platform_entries,
)
from .test_zero_copies import default_account

EMPTY = {"namespaces": [], "secrets": [], "serviceaccounts": [], "roles": [], "rolebindings": []}


def team_data(shipway: Shipway, namespace: str) -> None:
    """What a team puts into its phase namespace: a ConfigMap, and its own entry on the default ServiceAccount."""
    shipway.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config",
                                                                              "namespace": namespace},
                        "data": {"greeting": "hello"}}, "configmaps")


def assert_retained(shipway: Shipway, namespace: str, *, pipeline_name: str) -> dict[str, Any]:
    """The namespace is there, with the team's data, without anything of Shipway's but the released mark."""
    body = shipway.api.get("v1", "namespaces", namespace)
    assert body is not None, f"{namespace} was deleted"
    assert body["status"]["phase"] == "Active"
    labels = body["metadata"].get("labels") or {}
    assert labels.get("shipway.dev/released-from") == pipeline_name
    assert not {"app.kubernetes.io/managed-by", "shipway.dev/pipeline", "shipway.dev/phase"} & set(labels)
    assert "shipway.dev/reclaim-policy" not in (body["metadata"].get("annotations") or {})
    config = shipway.api.get("v1", "configmaps", "app-config", namespace=namespace)
    assert config is not None and config["data"] == {"greeting": "hello"}
    assert {s["metadata"]["name"] for s in shipway.api.list("v1", "secrets", namespace=namespace)} == set()
    account = default_account(shipway, namespace)
    assert (account.get("imagePullSecrets") or []) == []
    assert not any(k.startswith("shipway.dev/") for k in account["metadata"].get("labels") or {})
    assert not any(k.startswith("shipway.dev/") for k in account["metadata"].get("annotations") or {})
    return body


def test_under_retain_a_removed_phase_keeps_its_namespace_and_the_teams_data_but_nothing_of_shipways(
        shipway: Shipway) -> None:
    shipway.create_pipeline(pipeline("keep", push={"registry": "registry.example.com",
                                                   "repositoryPrefix": "apps/keep"}))
    shipway.settled("keep")
    team_data(shipway, "keep-production")
    shipway.reset()

    body = shipway.patch_pipeline("keep", {"spec": {"phases": [{"name": "stage"}]}})
    body = shipway.settled("keep")
    assert [p["name"] for p in body["status"]["phases"]] == ["stage"]
    assert body["status"]["reclaimPolicy"] == "Retain"
    assert_retained(shipway, "keep-production", pipeline_name="keep")
    assert all(name.startswith(("keep-stage/", "/keep-stage")) for names in everything_labelled(
        shipway.api, "keep").values() for name in names)
    writes = shipway.writes()
    assert writes["delete secrets"] == 2 and writes["delete serviceaccounts"] == 1
    assert writes["delete roles"] == 1 and writes["delete rolebindings"] == 1
    assert writes["patch namespaces"] == 1 and "delete namespaces" not in writes
    notes = [e["note"] for e in shipway.events("keep") if e["reason"] == "PhaseReleased"]
    assert any(n.startswith("production: no longer delivered to keep-production") for n in notes), notes


def test_under_retain_a_disabled_phase_is_released_and_enabling_it_again_takes_the_same_namespace_back(
        shipway: Shipway) -> None:
    shipway.create_pipeline(pipeline("flap"))
    shipway.settled("flap")
    team_data(shipway, "flap-production")
    uid = shipway.api.get("v1", "namespaces", "flap-production")["metadata"]["uid"]  # type: ignore[index]

    shipway.patch_pipeline("flap", {"spec": {"phases": [{"name": "stage"}, {"name": "production",
                                                                            "enabled": False}]}})
    shipway.settled("flap", check=lambda b: [p["name"] for p in b["status"]["phases"]] == ["stage"])
    assert_retained(shipway, "flap-production", pipeline_name="flap")

    shipway.patch_pipeline("flap", {"spec": {"phases": [{"name": "stage"}, {"name": "production",
                                                                            "enabled": True}]}})
    body = shipway.settled("flap", check=lambda b: len(b["status"]["phases"]) == 2
                           and all(p.get("ready") for p in b["status"]["phases"]))
    assert_phase(shipway.api, body, PhaseExpectation("flap", "production", pull=platform_entries(),
                                                     push=PLATFORM_PUSH))
    namespace = shipway.api.get("v1", "namespaces", "flap-production")
    assert namespace is not None and namespace["metadata"]["uid"] == uid  # the same namespace, taken back
    assert "shipway.dev/released-from" not in namespace["metadata"]["labels"]
    assert shipway.api.get("v1", "configmaps", "app-config", namespace="flap-production") is not None


def test_under_retain_deleting_a_pipeline_keeps_its_namespaces_with_the_teams_data(shipway: Shipway) -> None:
    shipway.create_pipeline(pipeline("stay"))
    shipway.settled("stay")
    for namespace in ("stay-stage", "stay-production"):
        team_data(shipway, namespace)
    shipway.reset()

    shipway.api.delete("shipway.dev/v1alpha1", "pipelines", "stay")
    shipway.api.eventually(lambda: everything_labelled(shipway.api, "stay") == EMPTY, timeout=20)
    for namespace in ("stay-stage", "stay-production"):
        shipway.api.eventually(lambda ns=namespace: assert_retained(shipway, ns, pipeline_name="stay"))
    assert "delete namespaces" not in shipway.writes(settle=1.0)


def test_another_pipeline_cannot_claim_a_retained_namespace(shipway: Shipway) -> None:
    shipway.create_pipeline(pipeline("orig", phases=["stage"]))
    shipway.settled("orig")
    team_data(shipway, "orig-stage")
    shipway.api.delete("shipway.dev/v1alpha1", "pipelines", "orig")
    shipway.api.eventually(lambda: assert_retained(shipway, "orig-stage", pipeline_name="orig"))

    shipway.create_pipeline(pipeline("other", phases=[{"name": "stage", "namespace": "orig-stage"}]))
    body = shipway.settled("other", check=lambda b: b["status"]["conditions"][0]["status"] == "False")
    assert body["status"]["conditions"][0]["reason"] == "NamespaceOutsidePrefix"
    assert_retained(shipway, "orig-stage", pipeline_name="orig")


def test_under_delete_only_namespaces_shipway_created_are_deleted(shipway: Shipway) -> None:
    shipway.ensure_namespace("gone-legacy")
    team_data(shipway, "gone-legacy")
    shipway.adopt("gone-legacy", "gone")
    shipway.create_pipeline(pipeline("gone", reclaim="Delete", phases=[
        {"name": "stage"}, {"name": "production", "namespace": "gone-legacy"}]))
    body = shipway.settled("gone")
    assert all(p["ready"] for p in body["status"]["phases"]), body["status"]
    shipway.reset()

    shipway.api.delete("shipway.dev/v1alpha1", "pipelines", "gone")
    shipway.api.eventually(lambda: shipway.api.get("v1", "namespaces", "gone-stage") is None, timeout=20)
    shipway.api.eventually(lambda: everything_labelled(shipway.api, "gone") == EMPTY, timeout=20)
    adopted = shipway.api.get("v1", "namespaces", "gone-legacy")
    assert adopted is not None and adopted["status"]["phase"] == "Active"  # adopted: never deleted
    assert shipway.api.get("v1", "configmaps", "app-config", namespace="gone-legacy") is not None
    shipway.api.eventually(lambda: (default_account(shipway, "gone-legacy").get("imagePullSecrets") or []) == [])
    assert shipway.writes(settle=1.0)["delete namespaces"] == 1


def test_the_platform_default_reclaim_policy_applies_to_pipelines_that_set_none(shipway: Shipway) -> None:
    shipway.api.patch("shipway.dev/v1alpha1", "platforms", "default", {"spec": {"defaultReclaimPolicy": "Delete"}})
    shipway.create_pipeline(pipeline("dflt", phases=["stage"]))
    body = shipway.settled("dflt")
    assert body["status"]["reclaimPolicy"] == "Delete"
    namespace = shipway.api.get("v1", "namespaces", "dflt-stage")
    assert namespace is not None and namespace["metadata"]["annotations"]["shipway.dev/reclaim-policy"] == "Delete"
    shipway.api.delete("shipway.dev/v1alpha1", "pipelines", "dflt")
    shipway.api.eventually(lambda: shipway.api.get("v1", "namespaces", "dflt-stage") is None, timeout=20)
