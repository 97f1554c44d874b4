"""Server-side field validation (``fieldValidation=Strict|Warn|Ignore``) with kube-apiserver's messages.

Sources: https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation and the expected
messages of kube-apiserver's own integration test, test/integration/apiserver/field_validation_test.go
(custom resources: duplicates first, then the unknown fields sorted; built-in kinds: document order; patches
without the ``cannot be handled as`` prefix; apply: duplicates as YAML errors, unknown fields always refused,
kubernetes/kubernetes#122480 for its 500).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from shipway.core.crds import custom_resource_definitions

PIPELINES = "/apis/shipway.dev/v1alpha1/pipelines"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}
TYPO = 'unknown field "spec.regsitry"'


@pytest.fixture
async def shipway(http: httpx.AsyncClient) -> None:
    for body in custom_resource_definitions():
        assert (await http.post(CRDS, json=body)).status_code == 201


def pipeline(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": [{"name": "stage"}], **spec}}


def warnings(response: httpx.Response) -> list[str]:
    """The texts of the ``Warning: 299 - "..."`` headers."""
    return [json.loads(value.split(" ", 2)[2]) for value in response.headers.get_list("Warning")]


def bad_request(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["reason"] == "BadRequest" and body["code"] == 400
    return str(body["message"])


async def test_strict_create_is_refused_naming_the_unknown_field(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, params={"fieldValidation": "Strict"},
                               json=pipeline("shop", regsitry={"inherit": True}))
    assert bad_request(response) == ('Pipeline in version "v1alpha1" cannot be handled as a Pipeline: '
                                     f'strict decoding error: {TYPO}')
    assert (await http.get(f"{PIPELINES}/shop")).status_code == 404


async def test_warn_stores_the_object_without_the_field_and_says_so(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, params={"fieldValidation": "Warn"},
                               json=pipeline("shop", regsitry={"inherit": True}))
    assert response.status_code == 201, response.text
    assert warnings(response) == [TYPO]
    assert "regsitry" not in response.json()["spec"]


async def test_no_directive_is_warn_as_since_kubernetes_1_27(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, json=pipeline("shop", regsitry={}))
    assert response.status_code == 201 and warnings(response) == [TYPO]


async def test_ignore_drops_the_field_silently(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, params={"fieldValidation": "Ignore"}, json=pipeline("shop", regsitry={}))
    assert response.status_code == 201 and warnings(response) == []
    assert "regsitry" not in response.json()["spec"]


async def test_an_unsupported_directive_is_422_on_the_options(http: httpx.AsyncClient, shipway: None) -> None:
    response = await http.post(PIPELINES, params={"fieldValidation": "strict"}, json=pipeline("shop"))
    assert response.status_code == 422
    assert response.json()["message"] == ('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported '
                                          'value: "strict": supported values: "", "Ignore", "Strict", "Warn"')


async def test_custom_resources_list_duplicates_first_then_unknown_fields_sorted(http: httpx.AsyncClient,
                                                                                shipway: None) -> None:
    body = ('{"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": "shop", '
            '"unknownMeta": 1}, "spec": {"zeta": 1, "phases": [{"name": "stage", "nested": 2}], '
            '"reclaimPolicy": "Retain", "reclaimPolicy": "Delete"}}')
    response = await http.post(PIPELINES, params={"fieldValidation": "Strict"}, content=body,
                               headers={"Content-Type": "application/json"})
    assert bad_request(response).endswith(
        'strict decoding error: duplicate field "spec.reclaimPolicy", unknown field "metadata.unknownMeta", '
        'unknown field "spec.phases[0].nested", unknown field "spec.zeta"')
    warned = await http.post(PIPELINES, content=body, headers={"Content-Type": "application/json"})
    assert warned.status_code == 201
    assert warnings(warned) == ['duplicate field "spec.reclaimPolicy"', 'unknown field "metadata.unknownMeta"',
                                'unknown field "spec.phases[0].nested"', 'unknown field "spec.zeta"']
    assert warned.json()["spec"]["reclaimPolicy"] == "Delete"  # the last duplicate wins


async def test_strict_update_is_refused_and_changes_nothing(http: httpx.AsyncClient, shipway: None) -> None:
    created = (await http.post(PIPELINES, json=pipeline("shop"))).json()
    created["spec"]["regsitry"] = {}
    response = await http.put(f"{PIPELINES}/shop", params={"fieldValidation": "Strict"}, json=created)
    assert bad_request(response).endswith(f"strict decoding error: {TYPO}")
    stored = (await http.get(f"{PIPELINES}/shop")).json()
    assert stored["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_strict_merge_patch_checks_the_patched_object_without_the_kind_prefix(http: httpx.AsyncClient,
                                                                                   shipway: None) -> None:
    await http.post(PIPELINES, json=pipeline("shop"))
    response = await http.patch(f"{PIPELINES}/shop", params={"fieldValidation": "Strict"}, headers=MERGE,
                                json={"spec": {"regsitry": {"inherit": False}}})
    assert bad_request(response) == f"strict decoding error: {TYPO}"


async def test_strict_json_patch_also_checks_its_own_operations(http: httpx.AsyncClient, shipway: None) -> None:
    await http.post(PIPELINES, json=pipeline("shop"))
    operations = '[{"op": "add", "path": "/spec/regsitry", "value": {}, "foo": "bar"}]'
    response = await http.patch(f"{PIPELINES}/shop", params={"fieldValidation": "Strict"}, content=operations,
                                headers=JSON_PATCH)
    assert bad_request(response) == f'strict decoding error: json patch unknown field "[0].foo", {TYPO}'
    warned = await http.patch(f"{PIPELINES}/shop", content=operations, headers=JSON_PATCH)
    assert warned.status_code == 200 and warnings(warned) == ['json patch unknown field "[0].foo"', TYPO]


async def test_built_in_kinds_are_checked_in_document_order(http: httpx.AsyncClient) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labelz": {"a": "b"}},
            "dataa": {"k": "v"}, "data": {"k": "v"}}
    response = await http.post(CONFIGMAPS, params={"fieldValidation": "Strict"}, json=body)
    assert bad_request(response) == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
                                     'error: unknown field "metadata.labelz", unknown field "dataa"')
    warned = await http.post(CONFIGMAPS, json=body)
    assert warned.status_code == 201
    assert warnings(warned) == ['unknown field "metadata.labelz"', 'unknown field "dataa"']
    stored = (await http.get(f"{CONFIGMAPS}/c")).json()
    assert "dataa" not in stored and "labelz" not in stored["metadata"]  # as decoding into the Go type drops them


async def test_yaml_bodies_report_duplicate_keys_by_line(http: httpx.AsyncClient) -> None:
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: '1'\n  a: '2'\n"
    response = await http.post(CONFIGMAPS, params={"fieldValidation": "Strict"}, content=body,
                               headers={"Content-Type": "application/yaml"})
    assert bad_request(response).endswith(
        'strict decoding error: yaml: unmarshal errors:\n  line 7: key "a" already set in map')
    warned = await http.post(CONFIGMAPS, content=body, headers={"Content-Type": "application/yaml"})
    assert warned.status_code == 201 and warnings(warned) == ['line 7: key "a" already set in map']
    assert warned.json()["data"] == {"a": "2"}


async def test_apply_reports_duplicates_as_yaml_errors(http: httpx.AsyncClient, shipway: None) -> None:
    doc = ("apiVersion: shipway.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: shop\nspec:\n  phases: "
           "[{name: stage}]\n  reclaimPolicy: Retain\n  reclaimPolicy: Delete\n")
    refused = await http.patch(f"{PIPELINES}/shop", params={"fieldManager": "t", "fieldValidation": "Strict"},
                               content=doc, headers=APPLY)
    assert bad_request(refused) == ("error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal "
                                    'errors:\n  line 8: key "reclaimPolicy" already set in map')
    warned = await http.patch(f"{PIPELINES}/shop", params={"fieldManager": "t"}, content=doc, headers=APPLY)
    assert warned.status_code == 201 and warnings(warned) == ['line 8: key "reclaimPolicy" already set in map']


@pytest.mark.parametrize("directive", ["Strict", "Warn", "Ignore"])
async def test_apply_always_refuses_an_unknown_field(http: httpx.AsyncClient, shipway: None, directive: str) -> None:
    doc = ("apiVersion: shipway.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: shop\nspec:\n  phases: "
           "[{name: stage}]\n  regsitry: {}\n")
    response = await http.patch(f"{PIPELINES}/shop", params={"fieldManager": "t", "fieldValidation": directive},
                                content=doc, headers=APPLY)
    assert response.status_code == 500
    body = response.json()
    assert "reason" not in body  # kube-apiserver answers this one as an error it did not convert
    assert body["message"] == ("failed to create typed patch object (/shop; shipway.dev/v1alpha1, Kind=Pipeline): "
                               ".spec.regsitry: field not declared in schema")
