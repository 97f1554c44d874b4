"""Object names as kube-apiserver validates them on create (k8s.io/apimachinery/pkg/util/validation)."""

from __future__ import annotations

import httpx
import pytest

from shipway.core.crds import custom_resource_definitions


@pytest.mark.parametrize(("path", "name", "accepted"), [
    pytest.param("/api/v1/namespaces", "team-a", True, id="a DNS label names a namespace"),
    pytest.param("/api/v1/namespaces", "a.b", False, id="a dotted name is no namespace name"),
    pytest.param("/api/v1/namespaces", "x" * 64, False, id="a namespace name is at most 63 characters"),
    pytest.param("/api/v1/namespaces/default/configmaps", "a.b", True, id="a DNS subdomain names a ConfigMap"),
    pytest.param("/api/v1/namespaces/default/configmaps", "Upper", False, id="an uppercase name is refused"),
    pytest.param("/apis/rbac.authorization.k8s.io/v1/clusterroles", "system:x", True,
                 id="RBAC names are path segments: a colon is fine"),
    pytest.param("/apis/rbac.authorization.k8s.io/v1/clusterroles", "a/b", False,
                 id="RBAC names may not hold a slash"),
])
async def test_names_are_validated_per_kind(http: httpx.AsyncClient, path: str, name: str, accepted: bool) -> None:
    kind = {"namespaces": "Namespace", "configmaps": "ConfigMap", "clusterroles": "ClusterRole"}[path.rsplit("/", 1)[1]]
    body = {"apiVersion": "rbac.authorization.k8s.io/v1" if "rbac" in path else "v1", "kind": kind,
            "metadata": {"name": name}}
    response = await http.post(path, json=body)
    assert (response.status_code == 201) is accepted, response.text
    if not accepted:
        assert response.status_code == 422
        assert response.json()["details"]["causes"][0]["field"] == "metadata.name"


async def test_a_crds_schema_of_metadata_name_binds_its_objects(http: httpx.AsyncClient) -> None:
    for crd in custom_resource_definitions():
        assert (await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)).status_code == 201
    base = "/apis/shipway.dev/v1alpha1/pipelines"
    spec = {"phases": [{"name": "stage"}]}
    too_long = await http.post(base, json={"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                                           "metadata": {"name": "x" * 64}, "spec": spec})
    assert too_long.status_code == 422 and "may not be more than 63 bytes" in too_long.text
    dotted = await http.post(base, json={"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                                         "metadata": {"name": "a.b"}, "spec": spec})
    assert dotted.status_code == 422 and "should match" in dotted.text
