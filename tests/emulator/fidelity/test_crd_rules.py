"""CRD schema validation beyond types: ``x-kubernetes-validations`` (CEL, with cel-python), ``format``,
``default``, and the status subresource's semantics.

Sources: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
(#validation-rules: message, messageExpression, reason, fieldPath, transition rules with oldSelf;
#defaulting; #format; #status-subresource: the main resource ignores status, /status ignores everything but
status, ``metadata.generation`` is incremented for changes outside metadata and status).
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import crd_rules

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GIZMOS = "/apis/example.com/v1/namespaces/default/gizmos"
MERGE = {"Content-Type": "application/merge-patch+json"}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('g')", "message": "gizmo names start with g"}],
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.minReplicas <= self.maxReplicas",
                 "message": "minReplicas cannot be larger than maxReplicas"},
                {"rule": "!has(self.replicas) || self.replicas <= self.maxReplicas",
                 "messageExpression": "'replicas must be at most ' + string(self.maxReplicas)",
                 "reason": "FieldValueForbidden", "fieldPath": ".replicas"},
                {"rule": "self.size != 'XXL'"},
            ],
            "properties": {
                "minReplicas": {"type": "integer", "default": 1},
                "maxReplicas": {"type": "integer", "default": 3},
                "replicas": {"type": "integer"},
                "size": {"type": "string", "default": "M", "enum": ["S", "M", "XXL"]},
                "owner": {"type": "string", "x-kubernetes-validations": [
                    {"rule": "self == oldSelf", "message": "owner is immutable"}]},
                "contact": {"type": "string", "format": "email"},
                "since": {"type": "string", "format": "date-time"},
                "network": {"type": "string", "format": "cidr"},
                "id": {"type": "string", "format": "uuid"},
                "labels": {"type": "array", "default": [], "items": {
                    "type": "object", "properties": {"name": {"type": "string"},
                                                     "weight": {"type": "integer", "default": 10}}}},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}

GIZMOS_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": SCHEMA}}]},
}


@pytest.fixture
async def gizmos(http: httpx.AsyncClient) -> None:
    response = await http.post(CRDS, json=GIZMOS_CRD)
    assert response.status_code == 201, response.text


def gizmo(name: str = "g1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": name}, "spec": spec}


def causes(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    return list(response.json()["details"]["causes"])


async def test_a_failing_rule_reports_its_message_at_the_node(http: httpx.AsyncClient, gizmos: None) -> None:
    response = await http.post(GIZMOS, json=gizmo(minReplicas=5, maxReplicas=2))
    assert causes(response) == [{"reason": "FieldValueInvalid", "field": "spec",
                                 "message": 'Invalid value: "object": minReplicas cannot be larger than maxReplicas'}]
    assert response.json()["message"] == ('Gizmo.example.com "g1" is invalid: spec: Invalid value: "object": '
                                          'minReplicas cannot be larger than maxReplicas')


async def test_message_expression_reason_and_field_path(http: httpx.AsyncClient, gizmos: None) -> None:
    response = await http.post(GIZMOS, json=gizmo(replicas=9))
    assert causes(response) == [{"reason": "FieldValueForbidden", "field": "spec.replicas",
                                 "message": "Forbidden: replicas must be at most 3"}]


async def test_a_rule_without_message_says_which_rule_failed(http: httpx.AsyncClient, gizmos: None) -> None:
    response = await http.post(GIZMOS, json=gizmo(size="XXL"))
    assert causes(response) == [{"reason": "FieldValueInvalid", "field": "spec",
                                 "message": "Invalid value: \"object\": failed rule: self.size != 'XXL'"}]


async def test_a_root_rule_sees_the_metadata_name(http: httpx.AsyncClient, gizmos: None) -> None:
    response = await http.post(GIZMOS, json=gizmo("widget"))
    assert causes(response) == [{"reason": "FieldValueInvalid", "field": "<nil>",
                                 "message": 'Invalid value: "object": gizmo names start with g'}]


async def test_a_transition_rule_runs_only_on_updates(http: httpx.AsyncClient, gizmos: None) -> None:
    created = await http.post(GIZMOS, json=gizmo(owner="team-a"))
    assert created.status_code == 201, created.text
    unchanged = await http.patch(f"{GIZMOS}/g1", json={"spec": {"replicas": 2}}, headers=MERGE)
    assert unchanged.status_code == 200, unchanged.text
    changed = await http.patch(f"{GIZMOS}/g1", json={"spec": {"owner": "team-b"}}, headers=MERGE)
    assert causes(changed) == [{"reason": "FieldValueInvalid", "field": "spec.owner",
                                "message": 'Invalid value: "string": owner is immutable'}]


async def test_rules_are_not_run_on_an_object_with_type_errors(http: httpx.AsyncClient, gizmos: None) -> None:
    response = await http.post(GIZMOS, json=gizmo(minReplicas="five", maxReplicas=2))
    found = causes(response)
    assert found[0]["reason"] == "FieldValueTypeInvalid" and found[0]["field"] == "spec.minReplicas"
    assert found[-1] == {"reason": "FieldValueInvalid", "field": "<nil>", "message": (
        'Invalid value: "null": some validation rules were not checked because the object was invalid; correct '
        "the existing errors to complete validation")}


@pytest.mark.parametrize(("field", "value", "format_"), [
    ("contact", "nobody", "email"), ("since", "yesterday", "date-time"), ("network", "10.0.0.1", "cidr"),
    ("id", "not-a-uuid", "uuid"),
])
async def test_formats_are_checked(http: httpx.AsyncClient, gizmos: None, field: str, value: str,
                                   format_: str) -> None:
    response = await http.post(GIZMOS, json=gizmo(**{field: value}))
    assert causes(response) == [{"reason": "FieldValueInvalid", "field": f"spec.{field}", "message": (
        f'Invalid value: "{value}": spec.{field} in body must be of type {format_}: "{value}"')}]


async def test_valid_formats_pass(http: httpx.AsyncClient, gizmos: None) -> None:
    response = await http.post(GIZMOS, json=gizmo(contact="ops@example.com", since="2026-01-02T03:04:05Z",
                                                  network="10.0.0.0/8", id="0f8fad5b-d9cb-469f-a165-70867728950e"))
    assert response.status_code == 201, response.text


async def test_defaults_fill_missing_fields_at_every_depth_and_return_after_removal(http: httpx.AsyncClient,
                                                                                   gizmos: None) -> None:
    created = await http.post(GIZMOS, json=gizmo(labels=[{"name": "a"}], size=None))
    assert created.status_code == 201, created.text
    spec = created.json()["spec"]
    assert spec == {"minReplicas": 1, "maxReplicas": 3, "size": "M", "labels": [{"name": "a", "weight": 10}]}
    removed = await http.patch(f"{GIZMOS}/g1", json={"spec": {"maxReplicas": None, "labels": None}}, headers=MERGE)
    assert removed.json()["spec"]["maxReplicas"] == 3 and removed.json()["spec"]["labels"] == []


async def test_the_status_subresource_keeps_spec_and_status_apart(http: httpx.AsyncClient, gizmos: None) -> None:
    created = (await http.post(GIZMOS, json={**gizmo(replicas=2), "status": {"ready": True}})).json()
    assert "status" not in created and created["metadata"]["generation"] == 1  # status is not set on create
    with_status = copy.deepcopy(created)
    with_status["status"] = {"ready": True}
    with_status["spec"]["replicas"] = 3
    status = (await http.put(f"{GIZMOS}/g1/status", json=with_status)).json()
    assert status["status"] == {"ready": True} and status["spec"]["replicas"] == 2  # spec ignored on /status
    assert status["metadata"]["generation"] == 1  # a status change does not bump the generation
    main = copy.deepcopy(status)
    main["status"] = {"ready": False}
    labels = (await http.put(f"{GIZMOS}/g1", json={**main, "metadata": {
        **main["metadata"], "labels": {"a": "b"}}})).json()
    assert labels["status"] == {"ready": True}  # status ignored on the main resource
    assert labels["metadata"]["generation"] == 1  # nor does a metadata change
    spec = (await http.patch(f"{GIZMOS}/g1", json={"spec": {"replicas": 3}}, headers=MERGE)).json()
    assert spec["metadata"]["generation"] == 2


def test_rules_that_do_not_compile_are_listed_for_the_crds_validation() -> None:
    broken = copy.deepcopy(GIZMOS_CRD)
    spec_schema = broken["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["x-kubernetes-validations"].append({"rule": "self.replicas >"})
    spec_schema["properties"]["owner"]["x-kubernetes-validations"].append({"rule": "size(nothing) > 0"})
    found = crd_rules.compile_errors(broken)
    assert [error.field for error in found] == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[3].rule",
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[owner].x-kubernetes-validations[1].rule"]
    assert "Syntax error" in found[0].message and "undeclared reference to 'nothing'" in found[1].message
    assert crd_rules.compile_errors(GIZMOS_CRD) == []
