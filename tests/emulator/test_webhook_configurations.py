"""Webhook configurations as stored objects: served to clients (kubectl included), defaulted and validated as
the admissionregistration.k8s.io/v1 API does."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .webhook_server import WebhookServer, configuration, hook

pytestmark = pytest.mark.integration
VWCS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
MWCS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


async def invalid(http: httpx.AsyncClient, *hooks: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(VWCS, json=configuration("bad", *hooks))
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["reason"] == "Invalid" and body["details"]["kind"] == "ValidatingWebhookConfiguration"
    return body


async def test_a_configuration_is_stored_with_the_v1_defaults(http: httpx.AsyncClient) -> None:
    created = await http.post(VWCS, json=configuration("checks", hook("a.example.com", "https://127.0.0.1/v", "")))
    assert created.status_code == 201, created.text
    [stored] = created.json()["webhooks"]
    assert (stored["failurePolicy"], stored["matchPolicy"], stored["timeoutSeconds"]) == ("Fail", "Equivalent", 10)
    assert stored["namespaceSelector"] == stored["objectSelector"] == {}
    assert stored["rules"][0]["scope"] == "*"
    listed = (await http.get(VWCS)).json()
    assert [i["metadata"]["name"] for i in listed["items"]] == ["checks"]
    assert (await http.get("/apis/admissionregistration.k8s.io/v1")).json()["resources"][0]["namespaced"] is False
    mutating = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": "m"}, "webhooks": [hook("m.example.com", "https://127.0.0.1/m", "")]}
    stored_mutating = await http.post(MWCS, json=mutating)
    assert stored_mutating.status_code == 201
    assert stored_mutating.json()["webhooks"][0]["reinvocationPolicy"] == "Never"


async def test_match_conditions_are_refused_rather_than_ignored(http: httpx.AsyncClient) -> None:
    body = await invalid(http, hook("cel.example.com", "https://127.0.0.1/v", "",
                                    matchConditions=[{"name": "x", "expression": "true"}]))
    assert body["details"]["causes"][0]["field"] == "webhooks[0].matchConditions"
    assert "matchConditions (CEL) are not supported by this emulator" in body["message"]


async def test_side_effects_are_required_and_must_be_none_on_v1(http: httpx.AsyncClient) -> None:
    missing = hook("a.example.com", "https://127.0.0.1/v", "")
    del missing["sideEffects"]
    body = await invalid(http, missing)
    assert body["message"] == ('ValidatingWebhookConfiguration.admissionregistration.k8s.io "bad" is invalid:'
                               " webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun")
    some = await invalid(http, hook("a.example.com", "https://127.0.0.1/v", "", sideEffects="Some"))
    assert some["details"]["causes"] == [{
        "reason": "FieldValueNotSupported", "field": "webhooks[0].sideEffects",
        "message": 'Unsupported value: "Some": supported values: "None", "NoneOnDryRun"'}]


async def test_names_urls_timeouts_and_review_versions_are_checked(http: httpx.AsyncClient) -> None:
    good = hook("a.example.com", "https://127.0.0.1/v", "")
    body = await invalid(http, good, {**good, "clientConfig": {"url": "http://127.0.0.1/v"}},
                         {**good, "name": "short", "timeoutSeconds": 31},
                         {**good, "name": "b.example.com", "admissionReviewVersions": ["v1beta1"]})
    assert {(c["field"], c["message"]) for c in body["details"]["causes"]} == {
        ("webhooks[1].clientConfig.url",
         'Invalid value: "http": \'https\' is the only allowed URL scheme; desired format: https://host[/path]'),
        ("webhooks[1].name", 'Duplicate value: "a.example.com"'),
        ("webhooks[2].name", 'Invalid value: "short": should be a domain with at least three segments separated'
                             " by dots"),
        ("webhooks[2].timeoutSeconds", "Invalid value: 31: the timeout value must be between 1 and 30 seconds"),
        ("webhooks[3].admissionReviewVersions", 'Invalid value: []string{"v1beta1"}: this emulator sends'
                                                " admission.k8s.io/v1 reviews only: include v1"),
    }
    assert body["message"].startswith('ValidatingWebhookConfiguration.admissionregistration.k8s.io "bad" is'
                                      " invalid: [")
    both = await invalid(http, {**good, "clientConfig": {}})
    assert both["details"]["causes"][0]["message"] == "Required value: exactly one of url or service is required"


async def test_rules_are_checked(http: httpx.AsyncClient) -> None:
    body = await invalid(http, hook("a.example.com", "https://127.0.0.1/v", "", rules=[
        {"operations": ["*", "CREATE"], "apiGroups": [], "apiVersions": ["v1"], "resources": ["x"]},
        {"operations": ["PATCH"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*", "x"],
         "scope": "Everywhere"}]))
    assert [c["field"] for c in body["details"]["causes"]] == [
        "webhooks[0].rules[0].operations", "webhooks[0].rules[0].apiGroups", "webhooks[0].rules[1].operations[0]",
        "webhooks[0].rules[1].resources", "webhooks[0].rules[1].scope"]


async def test_an_update_keeps_validating_and_a_delete_removes_it(http: httpx.AsyncClient) -> None:
    created = (await http.post(VWCS, json=configuration("c", hook("a.example.com", "https://127.0.0.1/v", "")))).json()
    created["webhooks"][0]["timeoutSeconds"] = 0
    assert (await http.put(f"{VWCS}/c", json=created)).status_code == 422
    created["webhooks"][0]["timeoutSeconds"] = 5
    assert (await http.put(f"{VWCS}/c", json=created)).json()["webhooks"][0]["timeoutSeconds"] == 5
    assert (await http.delete(f"{VWCS}/c")).status_code == 200
    assert (await http.get(f"{VWCS}/c")).status_code == 404


async def test_kubectl_creates_lists_and_deletes_configurations(kubectl: Any, webhook: WebhookServer) -> None:
    document = json.dumps(configuration("k", hook("k.example.com", webhook.url(), webhook.ca_bundle)))
    applied = await kubectl("apply", "--validate=false", "-f", "-", stdin=document)
    assert applied.code == 0, applied.stderr
    assert "validatingwebhookconfiguration.admissionregistration.k8s.io/k created" in applied.stdout
    listed = await kubectl("get", "validatingwebhookconfigurations", "-o", "json")
    assert [i["metadata"]["name"] for i in json.loads(listed.stdout)["items"]] == ["k"]
    deleted = await kubectl("delete", "validatingwebhookconfiguration", "k")
    assert deleted.code == 0 and "deleted" in deleted.stdout, deleted.stderr
