"""One credential per registry key per layer: setting a value where a referenced Secret already serves that
key is refused (409, naming the reference) and writes nothing, instead of a silent shadow."""

from __future__ import annotations

import httpx

from .helpers import SYSTEM_NAMESPACE, Kube, Sandbox, error_of, secret_manifest


def test_registry_set_over_a_reference_serving_the_key_is_a_conflict_naming_it_and_writes_nothing(
        sandbox: Sandbox, team_a: httpx.Client, kube: Kube) -> None:
    created = team_a.post("/api/v1/pipelines", json={"name": "shop", "phases": [{"name": "stage"}]})
    assert created.status_code == 201, created.text
    kube.create_secret(secret_manifest("team-a", "shadow-src", registry="quay.io/team-a", username="ref",
                                       password=sandbox.canary("shadowref"), consent="shop"))
    added = team_a.post("/api/v1/pipelines/shop/credentials/references",
                        json={"secretRef": {"namespace": "team-a", "name": "shadow-src"}})
    assert added.status_code == 200, added.text
    before = (kube.pipeline("shop") or {})["spec"]
    managed_before = {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)}
    response = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "https://quay.io/v2/team-a", "username": "u", "password": sandbox.canary("shadowvalue")})
    assert response.status_code == 409, response.text
    error = error_of(response)
    assert error["field"] == "registry"
    assert "team-a/shadow-src" in error["message"] and "remove that reference first" in error["message"]
    assert (kube.pipeline("shop") or {})["spec"] == before
    assert {s["metadata"]["name"] for s in kube.secrets(SYSTEM_NAMESPACE)} == managed_before
    # Another key of the same registry is no shadow: it is set.
    other = team_a.put("/api/v1/pipelines/shop/credentials", json={
        "registry": "quay.io/team-a/other", "username": "u", "password": sandbox.canary("shadowother")})
    assert other.status_code == 200, other.text
