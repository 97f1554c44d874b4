"""What the API server refuses before it patches or replaces a custom resource.

Sources: https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/ ("strategic
merge patch is not supported for custom resources": 415, with the patch types the resource accepts, as
``negotiation.NewUnsupportedMediaTypeError`` words it); https://kubernetes.io/docs/reference/using-api/api-concepts/
#resource-versions and the generic registry's ``Update`` (a kind whose strategy does not allow unconditional
updates, as custom resources, needs ``metadata.resourceVersion`` in a PUT: 422 naming the resource);
``PatchOptions`` validation (``force`` only for apply patches).
"""

from __future__ import annotations

import httpx
import pytest

from shipway.core.crds import custom_resource_definitions

PIPELINES = "/apis/shipway.dev/v1alpha1/pipelines"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def shop(http: httpx.AsyncClient) -> dict:
    for body in custom_resource_definitions():
        assert (await http.post(CRDS, json=body)).status_code == 201
    created = await http.post(PIPELINES, json={"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                                               "metadata": {"name": "shop"}, "spec": {"phases": [{"name": "stage"}]}})
    assert created.status_code == 201
    return dict(created.json())


async def test_strategic_merge_on_a_custom_resource_is_415(http: httpx.AsyncClient, shop: dict) -> None:
    response = await http.patch(f"{PIPELINES}/shop", json={"spec": {"reclaimPolicy": "Delete"}}, headers=STRATEGIC)
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"
    assert response.json()["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    assert (await http.get(f"{PIPELINES}/shop")).json()["metadata"]["resourceVersion"] == \
        shop["metadata"]["resourceVersion"]


async def test_strategic_merge_on_a_built_in_kind_is_accepted(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, json={"metadata": {"name": "c"}, "data": {"a": "1"}})
    response = await http.patch(f"{CONFIGMAPS}/c", json={"data": {"b": "2"}}, headers=STRATEGIC)
    assert response.status_code == 200 and response.json()["data"] == {"a": "1", "b": "2"}
    unknown = await http.patch(f"{CONFIGMAPS}/c", content=b"{}", headers={"Content-Type": "text/plain"})
    assert unknown.status_code == 415 and unknown.json()["message"].endswith(
        "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, "
        "application/apply-patch+yaml")


async def test_put_of_a_custom_resource_without_resource_version_is_422(http: httpx.AsyncClient,
                                                                       shop: dict) -> None:
    body = {**shop, "metadata": {"name": "shop"}, "spec": {"phases": [{"name": "production"}]}}
    response = await http.put(f"{PIPELINES}/shop", json=body)
    assert response.status_code == 422
    status = response.json()
    assert status["message"] == ('pipelines.shipway.dev "shop" is invalid: metadata.resourceVersion: Invalid '
                                 "value: 0x0: must be specified for an update")
    assert status["details"] == {"name": "shop", "group": "shipway.dev", "kind": "pipelines", "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update",
         "field": "metadata.resourceVersion"}]}
    status_put = await http.put(f"{PIPELINES}/shop/status", json={**body, "status": {}})
    assert status_put.status_code == 422
    with_version = await http.put(f"{PIPELINES}/shop", json={**body, "metadata": shop["metadata"]})
    assert with_version.status_code == 200, with_version.text


async def test_put_of_a_missing_custom_resource_is_404_first(http: httpx.AsyncClient, shop: dict) -> None:
    response = await http.put(f"{PIPELINES}/other", json={**shop, "metadata": {"name": "other"}})
    assert response.status_code == 404


async def test_built_in_kinds_allow_unconditional_updates(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, json={"metadata": {"name": "c"}, "data": {"a": "1"}})
    response = await http.put(f"{CONFIGMAPS}/c", json={"metadata": {"name": "c"}, "data": {"a": "2"}})
    assert response.status_code == 200 and response.json()["data"] == {"a": "2"}


async def test_force_is_only_for_apply_patches(http: httpx.AsyncClient, shop: dict) -> None:
    response = await http.patch(f"{PIPELINES}/shop", params={"force": "true"}, json={}, headers=MERGE)
    assert response.status_code == 422
    assert response.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be '
                                          "specified for non-apply patch")
