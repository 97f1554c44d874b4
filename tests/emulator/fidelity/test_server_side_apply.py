"""Field managers and server-side apply: ``managedFields``, conflicts, ``force``, fields dropped by an applier.

Sources: https://kubernetes.io/docs/reference/using-api/server-side-apply/ (field management, the ``fieldsV1``
format, managers of Update operations, conflicts and ``force``, "fields that a manager stops applying are
removed if no other manager owns them", clearing managedFields with ``[{}]``) and the field manager's
conflict message (``Apply failed with 1 conflict: conflict with "m" using v1: .data.a``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml

from shipway.core.crds import custom_resource_definitions
from shipway_sandbox.emulator import managed_fields

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PIPELINES = "/apis/shipway.dev/v1alpha1/pipelines"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def apply(http: httpx.AsyncClient, url: str, body: dict[str, Any], manager: str, **params: str
                ) -> httpx.Response:
    return await http.patch(url, params={"fieldManager": manager, **params}, content=yaml.safe_dump(body),
                            headers=APPLY)


def managers(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e["fieldsV1"] for e in body["metadata"].get("managedFields", [])}


async def test_a_create_records_its_manager_as_an_update(http: httpx.AsyncClient) -> None:
    created = await http.post(CONFIGMAPS, params={"fieldManager": "creator"},
                              json={**configmap("c", a="1"), "metadata": {"name": "c", "labels": {"x": "y"}}})
    [entry] = created.json()["metadata"]["managedFields"]
    assert entry["manager"] == "creator" and entry["operation"] == "Update" and entry["apiVersion"] == "v1"
    assert entry["fieldsType"] == "FieldsV1" and entry["time"].endswith("Z")
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}}


async def test_without_field_manager_the_user_agent_names_the_manager(http: httpx.AsyncClient) -> None:
    created = await http.post(CONFIGMAPS, json=configmap("c", a="1"),
                              headers={"User-Agent": "kubectl/v1.32.4 (linux/amd64) kubernetes/abc"})
    assert created.json()["metadata"]["managedFields"][0]["manager"] == "kubectl"


async def test_an_update_takes_the_fields_it_changes_from_other_managers(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, params={"fieldManager": "creator"}, json=configmap("c", a="1", b="2"))
    patched = await http.patch(f"{CONFIGMAPS}/c", params={"fieldManager": "editor"}, json={"data": {"a": "9"}},
                               headers=MERGE)
    found = managers(patched.json())
    assert found[("creator", "Update")] == {"f:data": {".": {}, "f:b": {}}}
    assert found[("editor", "Update")] == {"f:data": {"f:a": {}}}
    unchanged = await http.patch(f"{CONFIGMAPS}/c", params={"fieldManager": "idle"}, json={"data": {"a": "9"}},
                                 headers=MERGE)
    assert ("idle", "Update") not in managers(unchanged.json())  # an update that changes nothing records nothing
    assert unchanged.json()["metadata"]["resourceVersion"] == patched.json()["metadata"]["resourceVersion"]


async def test_apply_creates_owns_what_it_applies_and_is_idempotent(http: httpx.AsyncClient) -> None:
    created = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="1"), "applier")
    assert created.status_code == 201, created.text
    assert managers(created.json()) == {("applier", "Apply"): {"f:data": {"f:a": {}}}}
    again = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="1"), "applier")
    assert again.status_code == 200
    assert again.json()["metadata"]["resourceVersion"] == created.json()["metadata"]["resourceVersion"]


async def test_an_apply_that_changes_another_managers_field_conflicts(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, params={"fieldManager": "creator"}, json=configmap("c", a="1"))
    refused = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="2"), "applier")
    assert refused.status_code == 409
    status = refused.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "creator" using v1: .data.a'
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "message":
                                            'conflict with "creator" using v1', "field": ".data.a"}]
    assert (await http.get(f"{CONFIGMAPS}/c")).json()["data"] == {"a": "1"}
    forced = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="2"), "applier", force="true")
    assert forced.status_code == 200 and forced.json()["data"] == {"a": "2"}
    found = managers(forced.json())
    assert found[("applier", "Apply")] == {"f:data": {"f:a": {}}}
    assert found[("creator", "Update")] == {"f:data": {}}  # the map itself, which it created


async def test_several_conflicts_are_listed_by_manager(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, params={"fieldManager": "one"}, json=configmap("c", a="1"))
    await http.patch(f"{CONFIGMAPS}/c", params={"fieldManager": "two"}, json={"data": {"b": "1"}}, headers=MERGE)
    refused = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="2", b="2"), "three")
    assert refused.json()["message"] == ('Apply failed with 2 conflicts: conflicts with "one" using v1:\n- .data.a\n'
                                         'conflicts with "two" using v1:\n- .data.b')


async def test_applying_the_same_value_shares_the_field(http: httpx.AsyncClient) -> None:
    await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="1", b="1"), "first")
    shared = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="1"), "second")
    assert shared.status_code == 200
    # the first stops applying a: it stays, the second still owns it; b, owned by the first only, is removed
    dropped = await apply(http, f"{CONFIGMAPS}/c", {**configmap("c"), "data": {}}, "first")
    assert dropped.json()["data"] == {"a": "1"}
    gone = await apply(http, f"{CONFIGMAPS}/c", {"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "c"}}, "second")
    assert gone.json().get("data") in (None, {})


async def test_apply_validates_its_body(http: httpx.AsyncClient) -> None:
    wrong_version = await apply(http, f"{CONFIGMAPS}/c", {**configmap("c"), "apiVersion": "v2"}, "m")
    assert wrong_version.status_code == 400 and wrong_version.json()["message"] == (
        "Incorrect version specified in apply patch. Specified patch version: v2, expected: v1")
    with_managed = configmap("c")
    with_managed["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    assert (await apply(http, f"{CONFIGMAPS}/c", with_managed, "m")).json()["message"] == \
        "metadata.managedFields must be nil"
    no_manager = await http.patch(f"{CONFIGMAPS}/c", content=yaml.safe_dump(configmap("c")), headers=APPLY)
    assert no_manager.status_code == 422


async def test_a_dry_run_apply_answers_its_managed_fields_and_stores_nothing(http: httpx.AsyncClient) -> None:
    dry = await apply(http, f"{CONFIGMAPS}/c", configmap("c", a="1"), "m", dryRun="All")
    assert dry.status_code == 201 and managers(dry.json()) == {("m", "Apply"): {"f:data": {"f:a": {}}}}
    assert (await http.get(f"{CONFIGMAPS}/c")).status_code == 404


async def test_managed_fields_set_to_one_empty_entry_are_cleared(http: httpx.AsyncClient) -> None:
    await http.post(CONFIGMAPS, params={"fieldManager": "creator"}, json=configmap("c", a="1"))
    cleared = await http.patch(f"{CONFIGMAPS}/c", json={"metadata": {"managedFields": [{}]}}, headers=MERGE)
    assert "managedFields" not in cleared.json()["metadata"]
    kept = await http.patch(f"{CONFIGMAPS}/c", params={"fieldManager": "m"},
                            json={"metadata": {"managedFields": []}, "data": {"a": "2"}}, headers=MERGE)
    assert managers(kept.json()) == {("m", "Update"): {"f:data": {"f:a": {}}}}


@pytest.fixture
async def shipway(http: httpx.AsyncClient) -> None:
    for body in custom_resource_definitions():
        assert (await http.post(CRDS, json=body)).status_code == 201


def shop(**registry: Any) -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": "shop"},
            "spec": {"phases": [{"name": "stage"}, {"name": "production"}], "registry": registry}}


async def test_custom_resources_own_list_map_items_by_key(http: httpx.AsyncClient, shipway: None) -> None:
    created = await apply(http, f"{PIPELINES}/shop", shop(push={"registry": "ghcr.io", "repositoryPrefix": "a"}),
                          "kubectl")
    assert created.status_code == 201, created.text
    assert managers(created.json())[("kubectl", "Apply")] == {"f:spec": {
        "f:phases": {'k:{"name":"production"}': {".": {}, "f:name": {}}, 'k:{"name":"stage"}': {".": {},
                                                                                                 "f:name": {}}},
        "f:registry": {"f:push": {"f:registry": {}, "f:repositoryPrefix": {}}}}}
    other = await apply(http, f"{PIPELINES}/shop", {**shop(), "spec": {"phases": [{"name": "review"}]}}, "other")
    assert [p["name"] for p in other.json()["spec"]["phases"]] == ["stage", "production", "review"]
    status = await http.patch(f"{PIPELINES}/shop/status", params={"fieldManager": "operator"},
                              json={"status": {"observedGeneration": 1}}, headers=MERGE)
    entry = next(e for e in status.json()["metadata"]["managedFields"] if e["manager"] == "operator")
    assert entry["subresource"] == "status" and entry["fieldsV1"] == {"f:status": {".": {},
                                                                                    "f:observedGeneration": {}}}


def test_fields_v1_round_trips_and_prints_paths_as_the_api_server() -> None:
    encoded = {"f:spec": {".": {}, "f:phases": {'k:{"name":"stage"}': {".": {}, "f:name": {}}},
                          "f:usage": {'v:"pull"': {}}}}
    fields = managed_fields.decode(encoded)
    assert managed_fields.encode(fields) == encoded
    texts = sorted(managed_fields.path_text(path) for path in fields)
    assert texts == ['.spec', '.spec.phases[name="stage"]', '.spec.phases[name="stage"].name',
                     '.spec.usage[="pull"]']
    assert json.dumps(encoded)  # plain JSON


async def test_a_controllers_write_inside_the_emulator_keeps_the_managed_fields(http: httpx.AsyncClient,
                                                                               emulator: Any) -> None:
    created = (await http.post(CONFIGMAPS, params={"fieldManager": "creator"}, json=configmap("c", a="1"))).json()
    from shipway_sandbox.emulator import resources

    spec = next(s for s in resources.BUILTIN_RESOURCES if s.plural == "configmaps")
    body = {k: v for k, v in created.items() if k != "metadata"} | {"metadata": {"name": "c", "labels": {"l": "v"}}}
    updated = emulator.cluster.update(spec, "default", "c", body, subresource=None)
    assert updated["metadata"]["managedFields"] == created["metadata"]["managedFields"]
