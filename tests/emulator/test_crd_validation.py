"""Custom objects against their CRD's structural schema, as a real kube-apiserver treats them.

Pruning of unknown fields, ``default``s, and validation with 422 ``Invalid`` (every cause listed) on
create, PUT, merge and JSON patches, server-side apply and ``/status`` writes. Most cases use Shipway's
own CRDs (``shipway.core.crds``); a small CRD of our own covers the keywords those do not use.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from shipway.core.crds import custom_resource_definitions

PIPELINES = "/apis/shipway.dev/v1alpha1/pipelines"
PLATFORMS = "/apis/shipway.dev/v1alpha1/platforms"
GADGETS = "/apis/example.com/v1/namespaces/default/gadgets"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}
PHASES = '"review", "test", "stage", "production"'

GADGETS_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                    "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1},
                    "port": {"x-kubernetes-int-or-string": True},
                    "label": {"type": "string", "minLength": 2, "nullable": True},
                    "usage": {"type": "array", "items": {"type": "string"}, "default": ["pull"]},
                    "env": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "size": {"type": "string", "enum": ["S", "M"]},
                }},
                "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
            }}},
        }],
    },
}


def crd(kind: str) -> dict[str, Any]:
    return next(c for c in custom_resource_definitions() if c["spec"]["names"]["kind"] == kind)


def credential(name: str = "creds", *, usage: list[str] | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"secretRef": {"namespace": "team", "name": name}}
    return {**ref, "usage": usage} if usage is not None else ref


def pipeline(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": [{"name": "test"}], **spec}}


@pytest.fixture
async def shipway(http: httpx.AsyncClient) -> None:
    for body in custom_resource_definitions():
        response = await http.post(CRDS, json=body)
        assert response.status_code == 201, response.text


@pytest.fixture
async def gadgets(http: httpx.AsyncClient) -> None:
    response = await http.post(CRDS, json=GADGETS_CRD)
    assert response.status_code == 201, response.text


def invalid(response: httpx.Response, name: str, kind: str = "Pipeline", group: str = "shipway.dev") -> Any:
    """The causes of a 422 Invalid Status, after checking its frame."""
    assert response.status_code == 422, response.text
    status = response.json()
    assert (status["kind"], status["status"], status["reason"], status["code"]) == ("Status", "Failure", "Invalid", 422)
    assert {k: v for k, v in status["details"].items() if k != "causes"} == {"kind": kind, "group": group, "name": name}
    assert status["message"].startswith(f'{kind}.{group} "{name}" is invalid: ')
    return status["details"]["causes"]


# -- validation on create, with Shipway's CRDs --------------------------------------------------------
async def test_unknown_phase_name_is_unsupported_value(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, json=pipeline("p", phases=[{"name": "qa"}]))
    detail = f'Unsupported value: "qa": supported values: {PHASES}'
    assert invalid(response, "p") == [{"reason": "FieldValueNotSupported", "field": "spec.phases[0].name",
                                       "message": detail}]
    assert response.json()["message"] == f'Pipeline.shipway.dev "p" is invalid: spec.phases[0].name: {detail}'
    assert (await http.get(f"{PIPELINES}/p")).status_code == 404


async def test_65_credentials_are_too_many(http: httpx.AsyncClient, shipway: None) -> None:
    body = pipeline("many", registry={"credentials": [credential(f"c{i}") for i in range(65)]})
    response = await http.post(PIPELINES, json=body)
    assert invalid(response, "many") == [{"reason": "FieldValueTooMany", "field": "spec.registry.credentials",
                                          "message": "Too many: 65: must have at most 64 items"}]
    assert response.json()["message"] == ('Pipeline.shipway.dev "many" is invalid: spec.registry.credentials:'
                                          " Too many: 65: must have at most 64 items")
    body["spec"]["registry"]["credentials"].pop()
    assert (await http.post(PIPELINES, json=body)).status_code == 201


@pytest.mark.parametrize("host", ["bad_host!", "registry.example.com\n", "-leading.example.com", "a..b"])
async def test_registry_host_must_match_its_pattern(http: httpx.AsyncClient, shipway: None, host: str) -> None:
    push = {"registry": host, "repositoryPrefix": "apps"}
    body = {"metadata": {"name": "plat"}, "spec": {"registry": {"push": push}}}
    causes = invalid(await http.post(PLATFORMS, json=body), "plat", kind="Platform")
    pattern = crd("Platform")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"]["registry"]["properties"]["push"]["properties"]["registry"]["pattern"]
    field = "spec.registry.push.registry"
    assert causes == [{"reason": "FieldValueInvalid", "field": field,
                       "message": f"Invalid value: {json.dumps(host)}: {field} in body should match '{pattern}'"}]


async def test_valid_registry_hosts_pass(http: httpx.AsyncClient, shipway: None) -> None:
    hosts = ["registry.example.com:5000", "localhost", "[::1]:5000", "REG-1.example.io"]
    body = {"metadata": {"name": "plat"}, "spec": {"registry": {"allowedRegistries": hosts}}}
    response = await http.post(PLATFORMS, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["registry"]["allowedRegistries"] == hosts


async def test_missing_required_fields_are_all_listed(http: httpx.AsyncClient, shipway: None) -> None:
    no_spec = await http.post(PIPELINES, json={"metadata": {"name": "bare"}})
    assert invalid(no_spec, "bare") == [{"reason": "FieldValueRequired", "field": "spec", "message": "Required value"}]
    assert no_spec.json()["message"] == 'Pipeline.shipway.dev "bare" is invalid: spec: Required value'
    body = pipeline("holes", phases=[{"namespace": "x"}], registry={"credentials": [{"usage": ["pull"]}]})
    response = await http.post(PIPELINES, json=body)
    assert invalid(response, "holes") == [
        {"reason": "FieldValueRequired", "field": "spec.phases[0].name", "message": "Required value"},
        {"reason": "FieldValueRequired", "field": "spec.registry.credentials[0].secretRef",
         "message": "Required value"},
    ]
    assert response.json()["message"] == ('Pipeline.shipway.dev "holes" is invalid: [spec.phases[0].name: Required'
                                          " value, spec.registry.credentials[0].secretRef: Required value]")


async def test_several_kinds_of_errors_in_one_object(http: httpx.AsyncClient, shipway: None) -> None:
    body = pipeline("worse", phases=[], registry={"inherit": "yes", "credentials": [
        credential("Not_A_Name", usage=["pull", "push", "pull"])]})
    causes = invalid(await http.post(PIPELINES, json=body), "worse")
    name_pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    assert sorted((c["field"], c["reason"]) for c in causes) == [
        ("spec.phases", "FieldValueInvalid"),
        ("spec.registry.credentials[0].secretRef.name", "FieldValueInvalid"),
        ("spec.registry.credentials[0].usage", "FieldValueTooMany"),
        ("spec.registry.credentials[0].usage[2]", "FieldValueDuplicate"),
        ("spec.registry.inherit", "FieldValueTypeInvalid"),
    ]
    by_field = {c["field"]: c["message"] for c in causes}
    assert by_field["spec.phases"] == "Invalid value: 0: spec.phases in body should have at least 1 items"
    assert by_field["spec.registry.inherit"] == ('Invalid value: "string": spec.registry.inherit in body must be of'
                                                 ' type boolean: "string"')
    assert by_field["spec.registry.credentials[0].secretRef.name"] == (
        f'Invalid value: "Not_A_Name": spec.registry.credentials[0].secretRef.name in body should match'
        f" '{name_pattern}'")
    assert by_field["spec.registry.credentials[0].usage[2]"] == 'Duplicate value: "pull"'
    assert causes[-1]["reason"] == "FieldValueDuplicate"  # list-type errors come after the schema's own


async def test_duplicate_phase_names_in_a_list_map(http: httpx.AsyncClient, shipway: None) -> None:
    body = pipeline("dup", phases=[{"name": "test"}, {"name": "stage"}, {"name": "test", "namespace": "other"}])
    assert invalid(await http.post(PIPELINES, json=body), "dup") == [{
        "reason": "FieldValueDuplicate", "field": "spec.phases[2]",
        "message": 'Duplicate value: map[string]interface {}{"name":"test"}',
    }]


async def test_too_long_namespace(http: httpx.AsyncClient, shipway: None) -> None:
    body = pipeline("long", phases=[{"name": "test", "namespace": "n" * 64}])
    assert invalid(await http.post(PIPELINES, json=body), "long") == [{
        "reason": "FieldValueTooLong", "field": "spec.phases[0].namespace",
        "message": "Too long: may not be more than 63 bytes"}]


# -- defaulting and pruning ---------------------------------------------------------------------------
async def test_schema_defaults_are_applied_on_create(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, json=pipeline(
        "d", phases=[{"name": "test"}, {"name": "stage", "enabled": False}], registry={"credentials": [credential()]}))
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert spec["phases"] == [{"name": "test", "enabled": True}, {"name": "stage", "enabled": False}]
    assert spec["registry"]["inherit"] is True
    # ``usage: [pull]`` is a default of the schema too, so the server stores it.
    assert spec["registry"]["credentials"] == [{**credential(), "usage": ["pull"]}]
    platform = (await http.post(PLATFORMS, json={"metadata": {"name": "plat"}, "spec": {}})).json()
    assert platform["spec"] == {"systemNamespace": "shipway-system", "registry": {"credentials": []},
                                "defaultReclaimPolicy": "Retain"}
    bare = (await http.post(PLATFORMS, json={"metadata": {"name": "bare"}})).json()
    assert "spec" not in bare  # no default for spec itself, so none for its fields either


async def test_defaults_return_on_update_and_a_null_is_defaulted(http: httpx.AsyncClient, shipway: None) -> None:
    created = (await http.post(PIPELINES, json=pipeline("u", registry={}))).json()
    current = copy.deepcopy(created)
    del current["spec"]["registry"]["inherit"]
    current["spec"]["phases"][0]["enabled"] = None
    updated = await http.put(f"{PIPELINES}/u", json=current)
    assert updated.status_code == 200, updated.text
    assert updated.json()["spec"] == created["spec"]
    assert updated.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]  # a no-op


async def test_unknown_fields_are_pruned(http: httpx.AsyncClient, shipway: None) -> None:
    body = pipeline("pr", phases=[{"name": "test", "colour": "blue"}], registry={"inherit": False, "mirror": "x"},
                    unknown={"a": 1})
    body["topLevel"] = True
    body["metadata"]["labels"] = {"team": "a"}
    created = (await http.post(PIPELINES, json=body)).json()
    assert "topLevel" not in created and created["metadata"]["labels"] == {"team": "a"}
    assert created["apiVersion"] == "shipway.dev/v1alpha1" and created["kind"] == "Pipeline"
    assert created["spec"] == {"phases": [{"name": "test", "enabled": True}],
                               "registry": {"inherit": False, "credentials": []}}
    patched = await http.patch(f"{PIPELINES}/pr", json={"spec": {"bogus": 1}}, headers=MERGE)
    assert patched.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_nullable_fields_keep_null(http: httpx.AsyncClient, shipway: None) -> None:
    created = await http.post(PIPELINES, json=pipeline("n", phases=[{"name": "test", "namespace": None}],
                                                        registry={"push": None}))
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["phases"][0]["namespace"] is None
    assert created.json()["spec"]["registry"]["push"] is None


# -- every write path ---------------------------------------------------------------------------------
async def test_put_merge_json_patch_and_apply_are_validated(http: httpx.AsyncClient, shipway: None) -> None:
    created = (await http.post(PIPELINES, json=pipeline("w"))).json()
    url = f"{PIPELINES}/w"
    put = copy.deepcopy(created)
    put["spec"]["phases"][0]["name"] = "qa"
    assert invalid(await http.put(url, json=put), "w")[0]["field"] == "spec.phases[0].name"
    merge = await http.patch(url, json={"spec": {"registry": {"inherit": 1}}}, headers=MERGE)
    assert invalid(merge, "w")[0]["field"] == "spec.registry.inherit"
    json_patch = await http.patch(url, json=[{"op": "add", "path": "/spec/phases/-", "value": {"name": "test"}}],
                                  headers=JSON_PATCH)
    assert invalid(json_patch, "w")[0]["field"] == "spec.phases[1]"
    removed = await http.patch(url, json=[{"op": "remove", "path": "/spec/phases"}], headers=JSON_PATCH)
    assert invalid(removed, "w")[0] == {"reason": "FieldValueRequired", "field": "spec.phases",
                                        "message": "Required value"}
    doc = "apiVersion: shipway.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: w}\nspec:\n  phases: [{name: prod}]\n"
    applied = await http.patch(url, params={"fieldManager": "t"}, content=doc.encode(), headers=APPLY)
    # Server-side apply merges the list-map by key: manager "t" owns none of the existing phases, so its
    # "prod" item is added after them.
    assert invalid(applied, "w")[0]["field"] == "spec.phases[1].name"
    new = doc.replace("name: w", "name: fresh")
    created_by_apply = await http.patch(f"{PIPELINES}/fresh", params={"fieldManager": "t"}, content=new.encode(),
                                        headers=APPLY)
    assert invalid(created_by_apply, "fresh")[0]["field"] == "spec.phases[0].name"
    assert (await http.get(f"{PIPELINES}/fresh")).status_code == 404
    assert (await http.get(url)).json() == created  # nothing of the refused writes was stored
    good = await http.patch(url, json={"spec": {"phases": [{"name": "review"}, {"name": "production"}]}},
                            headers=MERGE)
    assert good.status_code == 200 and good.json()["metadata"]["generation"] == 2
    assert good.json()["spec"]["phases"] == [{"name": "review", "enabled": True},
                                             {"name": "production", "enabled": True}]


async def test_status_writes_validate_status(http: httpx.AsyncClient, shipway: None) -> None:
    await http.post(PIPELINES, json=pipeline("st"))
    url = f"{PIPELINES}/st/status"
    bad = {"status": {"conditions": [{"type": "Ready", "status": "Maybe", "reason": "R"}, {"type": "Other"}]}}
    causes = invalid(await http.patch(url, json=bad, headers=MERGE), "st")
    assert causes == [
        {"reason": "FieldValueNotSupported", "field": "status.conditions[0].status",
         "message": 'Unsupported value: "Maybe": supported values: "True", "False", "Unknown"'},
        {"reason": "FieldValueRequired", "field": "status.conditions[1].status", "message": "Required value"},
        {"reason": "FieldValueRequired", "field": "status.conditions[1].reason", "message": "Required value"},
    ]
    good = {"status": {"observedGeneration": 1, "junk": 1,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "Ok", "extra": 1}],
                       "phases": [{"name": "test", "namespace": "team-test"}]},
            "spec": {"phases": [{"name": "qa"}]}}  # spec of a status write is ignored, so never validated
    written = await http.patch(url, json=good, headers=MERGE)
    assert written.status_code == 200, written.text
    assert written.json()["status"] == {
        "observedGeneration": 1, "phases": [{"name": "test", "namespace": "team-test"}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ok", "message": ""}]}
    assert written.json()["spec"]["phases"] == [{"name": "test", "enabled": True}]
    current = written.json()
    current["status"]["phases"][0]["name"] = "qa"
    assert invalid(await http.put(url, json=current), "st")[0]["field"] == "status.phases[0].name"


async def test_status_sent_to_the_main_resource_is_ignored_not_validated(
    http: httpx.AsyncClient, shipway: None,
) -> None:
    body = {**pipeline("main"), "status": {"conditions": [{"status": "Maybe"}]}}
    created = await http.post(PIPELINES, json=body)
    assert created.status_code == 201, created.text
    assert "status" not in created.json()


# -- the keywords Shipway's CRDs do not use ----------------------------------------------------------
async def test_numbers_int_or_string_maps_and_preserved_fields(http: httpx.AsyncClient, gadgets: None) -> None:
    ok = await http.post(GADGETS, json={"metadata": {"name": "ok"}, "spec": {
        "port": "http", "label": None, "env": {"A": "abc", "B": None}, "extra": {"anything": {"goes": [1]}},
        "ratio": 0.5, "size": "M"}})
    assert ok.status_code == 201, ok.text
    assert ok.json()["spec"] == {"port": "http", "label": None, "env": {"A": "abc"}, "replicas": 1,
                                 "usage": ["pull"], "extra": {"anything": {"goes": [1]}}, "ratio": 0.5, "size": "M"}
    bad = await http.post(GADGETS, json={"metadata": {"name": "bad"}, "spec": {
        "replicas": 11, "ratio": 1, "port": True, "label": "x", "env": {"LONG": "abcd"}, "size": "L"}})
    causes = invalid(bad, "bad", kind="Gadget", group="example.com")
    assert causes == [
        {"reason": "FieldValueInvalid", "field": "spec.replicas",
         "message": "Invalid value: 11: spec.replicas in body should be less than or equal to 10"},
        {"reason": "FieldValueInvalid", "field": "spec.ratio",
         "message": "Invalid value: 1: spec.ratio in body should be less than 1"},
        {"reason": "FieldValueTypeInvalid", "field": "spec.port",
         "message": 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"'},
        {"reason": "FieldValueInvalid", "field": "spec.label",
         "message": 'Invalid value: "x": spec.label in body should be at least 2 chars long'},
        {"reason": "FieldValueTooLong", "field": "spec.env.LONG", "message": "Too long: may not be more than 3 bytes"},
        {"reason": "FieldValueNotSupported", "field": "spec.size",
         "message": 'Unsupported value: "L": supported values: "S", "M"'},
    ]
    zero = await http.post(GADGETS, json={"metadata": {"name": "zero"}, "spec": {"replicas": 0, "port": 8080}})
    assert invalid(zero, "zero", kind="Gadget", group="example.com") == [{
        "reason": "FieldValueInvalid", "field": "spec.replicas",
        "message": "Invalid value: 0: spec.replicas in body should be greater than or equal to 1"}]
    status = await http.patch(f"{GADGETS}/ok/status", json={"status": {"ready": "yes"}}, headers=MERGE)
    assert invalid(status, "ok", kind="Gadget", group="example.com")[0]["field"] == "status.ready"


async def test_updates_ratchet_unchanged_invalid_values(http: httpx.AsyncClient, gadgets: None) -> None:
    """After a CRD tightens its schema, old values still pass while unchanged (ratcheting, on since 1.30)."""
    created = await http.post(GADGETS, json={"metadata": {"name": "old"}, "spec": {"replicas": 9, "size": "S"}})
    assert created.status_code == 201
    tightened = copy.deepcopy(GADGETS_CRD)
    tightened["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "replicas"]["maximum"] = 5
    crd_now = (await http.get(f"{CRDS}/gadgets.example.com")).json()
    tightened["metadata"]["resourceVersion"] = crd_now["metadata"]["resourceVersion"]
    assert (await http.put(f"{CRDS}/gadgets.example.com", json=tightened)).status_code == 200
    unrelated = await http.patch(f"{GADGETS}/old", json={"spec": {"size": "M"}}, headers=MERGE)
    assert unrelated.status_code == 200, unrelated.text
    touched = await http.patch(f"{GADGETS}/old", json={"spec": {"replicas": 8}}, headers=MERGE)
    assert invalid(touched, "old", kind="Gadget", group="example.com")[0]["field"] == "spec.replicas"
    fresh = await http.post(GADGETS, json={"metadata": {"name": "new"}, "spec": {"replicas": 9}})
    assert fresh.status_code == 422


async def test_built_in_kinds_and_schemaless_crds_are_not_affected(http: httpx.AsyncClient, widgets: str) -> None:
    cm = await http.post("/api/v1/namespaces/default/configmaps",
                         json={"metadata": {"name": "cm"}, "data": {"a": "1"}, "whatever": {"x": 1}})
    assert cm.status_code == 201
    widget = await http.post(widgets.format(ns="default"),
                             json={"metadata": {"name": "w"}, "spec": {"anything": [1, {"b": None}]}, "top": 1})
    assert widget.status_code == 201
    assert widget.json()["spec"] == {"anything": [1, {"b": None}]} and widget.json()["top"] == 1


# -- kubectl ------------------------------------------------------------------------------------------
async def test_kubectl_apply_of_an_invalid_pipeline_fails_naming_the_field(kubectl: Any, shipway: None) -> None:
    doc = json.dumps(pipeline("kp", phases=[{"name": "test"}, {"name": "qa"}]))
    result = await kubectl("apply", "--validate=false", "-f", "-", stdin=doc)
    assert result.code != 0
    # kubectl renders the Status from its details (Kind, name, causes), as it does with a real server
    assert result.stderr.startswith('The Pipeline "kp" is invalid: spec.phases[1].name: Unsupported value: "qa"')
    created = await kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(pipeline("kp")))
    assert created.code == 0, created.stderr
    updated = await kubectl("apply", "--validate=false", "-f", "-",
                            stdin=json.dumps(pipeline("kp", registry={"credentials": [credential("Bad!")]})))
    assert updated.code != 0
    assert "spec.registry.credentials[0].secretRef.name" in updated.stderr


async def test_kubectl_server_side_apply_of_an_invalid_pipeline_fails(kubectl: Any, shipway: None) -> None:
    doc = json.dumps(pipeline("ssa", phases=[{"name": "test"}, {"name": "test"}]))
    result = await kubectl("apply", "--server-side", "--validate=false", "-f", "-", stdin=doc)
    assert result.code != 0
    assert "spec.phases[1]: Duplicate value" in result.stderr
    missing = await kubectl("get", "pipeline", "ssa")
    assert missing.code != 0 and "NotFound" in missing.stderr
