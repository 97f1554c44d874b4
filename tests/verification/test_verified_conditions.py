"""The operator checks every credential against its registry in the background and reports a ``Verified``
entry per registry: pipeline and phase credentials on the Pipeline, platform credentials on the Platform.
A real registry (Debian's docker-registry with htpasswd) answers; an unreachable one is reported and does
not stop delivery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import registries
from tests.support.cluster import Cluster, docker_secret, namespace, start_cluster
from tests.support.registries import RegistryServer, start_htpasswd_registry

CANARY = "canary-verify-8d1e-DO-NOT-LEAK"
API = "shipway.dev/v1alpha1"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    directory = tmp_path_factory.mktemp("registry")
    for server in registries.running(lambda: start_htpasswd_registry(directory)):
        server.add_user("team-bot", CANARY)
        yield server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, registry: RegistryServer) -> Iterator[Cluster]:
    for running in start_cluster(tmp_path_factory.mktemp("cluster")):
        api = running.api
        assert api.get("v1", "namespaces", "shipway-system") is not None  # made by the harness, with the RBAC
        # The platform credential names a registry that cannot be reached from here.
        api.create(docker_secret("shipway-system", "default-registry",
                                 {"registry.invalid": ("platform-bot", CANARY + "-platform")}), "secrets")
        api.create({"apiVersion": API, "kind": "Platform", "metadata": {"name": "default"},
                    "spec": {"registry": {"credentials": [
                        {"secretRef": {"namespace": "shipway-system", "name": "default-registry"},
                         "usage": ["pull"]}]}}}, "platforms")
        api.create(namespace("team-a"), "namespaces")
        running.start_operator(verify_interval=3600)
        yield running
        assert running.operator is not None
        running.operator.stop()
        assert CANARY not in running.operator.output.text


def _verifications(api: Any, plural: str, name: str) -> list[dict[str, Any]]:
    body = api.get(API, plural, name) or {}
    return list((body.get("status") or {}).get("verifications") or [])


def _pipeline(name: str, secret: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": [{"name": "stage"}], "registry": {"credentials": [
                {"secretRef": {"namespace": "team-a", "name": secret}, "usage": ["pull"]}]}}}


def _consenting(secret: dict[str, Any], pipeline: str) -> dict[str, Any]:
    secret["metadata"]["annotations"] = {"shipway.dev/allowed-pipelines": pipeline,
                                         "shipway.dev/allowed-usage": "pull,push"}
    return secret


def test_a_right_credential_is_verified_true_on_the_pipeline(cluster: Cluster, registry: RegistryServer) -> None:
    api = cluster.api
    api.create(_consenting(docker_secret("team-a", "good", {registry.host: ("team-bot", CANARY)}), "good"),
               "secrets")
    api.create(_pipeline("good", "good"), "pipelines")
    found = api.eventually(lambda: [v for v in _verifications(api, "pipelines", "good") if v["status"] != "Unknown"])
    assert found == [{
        "type": "Verified", "registry": registry.host, "fingerprint": found[0]["fingerprint"],
        "secretRef": {"namespace": "team-a", "name": "good"}, "source": "pipeline", "status": "True",
        "reason": "Accepted", "lastCheckTime": found[0]["lastCheckTime"],
        "lastTransitionTime": found[0]["lastTransitionTime"],
    }]
    assert found[0]["fingerprint"].startswith("sha256:")


def test_a_wrong_password_is_verified_false_with_reason_unauthorized_and_still_delivered(
        cluster: Cluster, registry: RegistryServer) -> None:
    api = cluster.api
    api.create(_consenting(docker_secret("team-a", "bad", {registry.host: ("team-bot", "wrong-password")}), "bad"),
               "secrets")
    api.create(_pipeline("bad", "bad"), "pipelines")
    found = api.eventually(lambda: [v for v in _verifications(api, "pipelines", "bad") if v["status"] != "Unknown"])
    assert [(v["status"], v["reason"]) for v in found] == [("False", "Unauthorized")]
    assert api.get("v1", "secrets", "shipway-pull", namespace="bad-stage") is not None


def test_a_rotated_source_is_checked_again_under_its_new_fingerprint(cluster: Cluster,
                                                                      registry: RegistryServer) -> None:
    api = cluster.api
    api.create(_consenting(docker_secret("team-a", "rotating", {registry.host: ("team-bot", "old-wrong")}),
                           "rotating"), "secrets")
    api.create(_pipeline("rotating", "rotating"), "pipelines")
    first = api.eventually(lambda: [v for v in _verifications(api, "pipelines", "rotating") if v["status"] == "False"])
    rotated = docker_secret("team-a", "rotating", {registry.host: ("team-bot", CANARY)})
    api.patch("v1", "secrets", "rotating", {"stringData": rotated["stringData"]}, namespace="team-a")
    second = api.eventually(lambda: [v for v in _verifications(api, "pipelines", "rotating") if v["status"] == "True"])
    assert second[0]["fingerprint"] != first[0]["fingerprint"]


def test_the_platform_credential_is_reported_on_the_platform_as_unreachable(cluster: Cluster) -> None:
    found = cluster.api.eventually(lambda: [v for v in _verifications(cluster.api, "platforms", "default")
                                            if v["status"] != "Unknown"], timeout=40)
    assert [(v["registry"], v["status"], v["source"]) for v in found] == [("registry.invalid", "False", "platform")]
    assert found[0]["reason"] in {"Unreachable", "Timeout"}


def test_no_status_holds_a_secret_value(cluster: Cluster) -> None:
    for plural, name in (("pipelines", "good"), ("pipelines", "bad"), ("platforms", "default")):
        assert CANARY not in str(cluster.api.get(API, plural, name))
