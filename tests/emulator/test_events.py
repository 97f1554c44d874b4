"""Events are stored once and served as ``v1`` and as ``events.k8s.io/v1``, converted as kube-apiserver does
(``pkg/apis/events/v1/conversion.go``), with the field selectors and validation of each version."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import read_events

CORE = "/api/v1/namespaces/default/events"
CORE_ALL = "/api/v1/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"
MERGE = {"Content-Type": "application/merge-patch+json"}
REGARDING = {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "name": "shop", "uid": "u-1",
             "fieldPath": "spec.phases[0]"}


def new_event(name: str, **overrides: Any) -> dict[str, Any]:
    """An Event of the new API, as the operator writes them (about a cluster-scoped object: in default)."""
    body: dict[str, Any] = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
        "eventTime": "2026-11-02T10:00:00.123456Z", "reportingController": "shipway.dev/operator",
        "reportingInstance": "operator-0", "action": "Deliver", "reason": "Delivered", "regarding": REGARDING,
        "note": "delivered to shop-stage", "type": "Normal",
    }
    body.update(overrides)
    return body


def core_event(name: str, **overrides: Any) -> dict[str, Any]:
    """An Event of the old API, as the REST API writes them."""
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "name": "blog", "uid": "u-2"},
        "reason": "CredentialSet", "message": "pipeline credential set", "type": "Normal",
        "source": {"component": "shipway-api", "host": "api-0"}, "reportingComponent": "shipway-api",
        "firstTimestamp": "2026-11-02T10:00:00Z", "lastTimestamp": "2026-11-02T10:05:00Z", "count": 3,
    }
    body.update(overrides)
    return body


async def test_an_event_of_the_new_api_reads_as_a_core_event(http: httpx.AsyncClient) -> None:
    created = await http.post(NEW, json=new_event("shop.1"))
    assert created.status_code == 201, created.text
    core = (await http.get(f"{CORE}/shop.1")).json()
    assert core["apiVersion"] == "v1" and core["kind"] == "Event"
    assert core["involvedObject"] == REGARDING
    assert core["message"] == "delivered to shop-stage"
    assert core["reportingComponent"] == "shipway.dev/operator"
    assert core["reportingInstance"] == "operator-0"
    assert (core["eventTime"], core["action"], core["reason"], core["type"]) == (
        "2026-11-02T10:00:00.123456Z", "Deliver", "Delivered", "Normal")
    # what a Go server writes for the zero values of the old API's fields (structs, times)
    assert core["source"] == {} and core["firstTimestamp"] is None and core["lastTimestamp"] is None
    assert "count" not in core and "regarding" not in core and "note" not in core
    assert core["metadata"] == created.json()["metadata"]
    again = (await http.get(f"{NEW}/shop.1")).json()
    assert again["regarding"] == REGARDING and again["note"] == "delivered to shop-stage"
    assert again["reportingController"] == "shipway.dev/operator"
    assert "involvedObject" not in again and "message" not in again


async def test_a_core_event_reads_as_an_event_of_the_new_api(http: httpx.AsyncClient) -> None:
    assert (await http.post(CORE, json=core_event("blog.1"))).status_code == 201
    new = (await http.get(f"{NEW}/blog.1")).json()
    assert new["apiVersion"] == "events.k8s.io/v1"
    assert new["regarding"]["name"] == "blog" and new["note"] == "pipeline credential set"
    assert new["deprecatedSource"] == {"component": "shipway-api", "host": "api-0"}
    assert new["deprecatedFirstTimestamp"] == "2026-11-02T10:00:00Z"
    assert new["deprecatedLastTimestamp"] == "2026-11-02T10:05:00Z"
    assert new["deprecatedCount"] == 3
    assert new["reportingController"] == "shipway-api"
    assert new["eventTime"] is None and "series" not in new
    for core_only in ("involvedObject", "message", "source", "firstTimestamp", "count", "reportingComponent"):
        assert core_only not in new


async def test_one_storage_one_name_and_one_resource_version(http: httpx.AsyncClient) -> None:
    first = (await http.post(NEW, json=new_event("same"))).json()
    clash = await http.post(CORE, json=core_event("same"))
    assert clash.status_code == 409 and clash.json()["reason"] == "AlreadyExists"
    listed_core = (await http.get(CORE)).json()
    listed_new = (await http.get(NEW)).json()
    assert [e["metadata"]["name"] for e in listed_core["items"]] == ["same"]
    assert [e["metadata"]["name"] for e in listed_new["items"]] == ["same"]
    assert listed_core["items"][0]["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert (await http.delete(f"{CORE}/same")).status_code == 200
    assert (await http.get(f"{NEW}/same")).status_code == 404


async def test_series_patched_through_the_new_api_is_seen_through_both(http: httpx.AsyncClient) -> None:
    await http.post(NEW, json=new_event("series"))
    series = {"count": 2, "lastObservedTime": "2026-11-02T10:01:00.000000Z"}
    patched = await http.patch(f"{NEW}/series", json={"series": series}, headers=MERGE)
    assert patched.status_code == 200, patched.text
    assert patched.json()["series"] == series
    assert (await http.get(f"{CORE}/series")).json()["series"] == series


@pytest.mark.parametrize(("selector", "expected"), [
    ("involvedObject.name=shop", ["shop.1"]),
    ("involvedObject.namespace=", ["blog.1", "shop.1"]),
    ("involvedObject.kind=Pipeline,involvedObject.uid=u-1", ["shop.1"]),
    ("involvedObject.apiVersion=shipway.dev/v1alpha1,involvedObject.name!=shop", ["blog.1"]),
    ("involvedObject.fieldPath=spec.phases[0]", None),  # brackets: not a selector value the parser takes
    ("type=Warning", []),
    ("reason=CredentialSet", ["blog.1"]),
    ("source=shipway-api", ["blog.1"]),
    ("source=shipway.dev/operator", ["shop.1"]),  # no source.component: the reporting controller
    ("reportingComponent=shipway.dev/operator", ["shop.1"]),
])
async def test_core_field_selectors_over_events_of_both_apis(http: httpx.AsyncClient, selector: str,
                                                            expected: list[str] | None) -> None:
    await http.post(NEW, json=new_event("shop.1"))
    await http.post(CORE, json=core_event("blog.1"))
    response = await http.get(CORE_ALL, params={"fieldSelector": selector})
    if expected is None:
        assert response.status_code == 400
        return
    assert response.status_code == 200, response.text
    assert sorted(e["metadata"]["name"] for e in response.json()["items"]) == expected


async def test_field_selectors_of_the_new_api(http: httpx.AsyncClient) -> None:
    await http.post(NEW, json=new_event("shop.1"))
    await http.post(CORE, json=core_event("blog.1"))
    for selector, expected in (("regarding.name=blog", ["blog.1"]), ("regarding.uid=u-1", ["shop.1"]),
                               ("reportingController=shipway-api", ["blog.1"]), ("reason=Delivered", ["shop.1"])):
        items = (await http.get(NEW, params={"fieldSelector": selector})).json()["items"]
        assert [e["metadata"]["name"] for e in items] == expected, selector
    refused = await http.get(NEW, params={"fieldSelector": "source=shipway-api"})
    assert refused.status_code == 400 and "field label not supported: source" in refused.json()["message"]


async def test_watches_of_either_api_see_writes_through_the_other(http: httpx.AsyncClient) -> None:
    rv = (await http.get(CORE)).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": rv, "fieldSelector": "involvedObject.name=shop"}
    async with http.stream("GET", CORE, params=params) as core_watch, \
            http.stream("GET", NEW, params={"watch": "1", "resourceVersion": rv}) as new_watch:
        await http.post(CORE, json=core_event("blog.1"))  # not about shop: the core watch skips it
        await http.post(NEW, json=new_event("shop.1"))
        await http.delete(f"{CORE}/shop.1")
        core_seen = await read_events(core_watch, 2)
        new_seen = await read_events(new_watch, 3)
    assert [(e["type"], e["object"]["apiVersion"], e["object"]["involvedObject"]["name"]) for e in core_seen] == [
        ("ADDED", "v1", "shop"), ("DELETED", "v1", "shop")]
    assert [(e["type"], e["object"]["apiVersion"], e["object"]["regarding"]["name"]) for e in new_seen] == [
        ("ADDED", "events.k8s.io/v1", "blog"), ("ADDED", "events.k8s.io/v1", "shop"),
        ("DELETED", "events.k8s.io/v1", "shop")]
    assert new_seen[0]["object"]["note"] == "pipeline credential set"


async def test_the_new_api_holds_events_to_its_strict_rules(http: httpx.AsyncClient) -> None:
    missing = await http.post(NEW, json=new_event("bad", eventTime=None, type="Info", deprecatedCount=2))
    assert missing.status_code == 422
    assert {(c["field"], c["reason"]) for c in missing.json()["details"]["causes"]} == {
        ("eventTime", "FieldValueRequired"),
        ("type", "FieldValueInvalid"), ("deprecatedCount", "FieldValueInvalid")}
    assert missing.json()["message"].startswith('Event.events.k8s.io "bad" is invalid: [')
    unreported = await http.post(NEW, json=new_event("bad", reportingController="", action=""))
    assert {c["field"] for c in unreported.json()["details"]["causes"]} == {"reportingController", "action"}
    assert (await http.post(NEW, json=new_event("ok"))).status_code == 201
    note = await http.patch(f"{NEW}/ok", json={"note": "changed"}, headers=MERGE)
    assert note.status_code == 422 and note.json()["details"]["causes"][0]["field"] == "message"
    short = await http.patch(f"{NEW}/ok", json={"series": {"count": 1, "lastObservedTime": None}}, headers=MERGE)
    assert {c["field"] for c in short.json()["details"]["causes"]} == {"series.count", "series.lastObservedTime"}
    # the old API is lenient: its fields may change on update
    assert (await http.patch(f"{CORE}/ok", json={"message": "changed"}, headers=MERGE)).status_code == 200


async def test_the_old_api_keeps_an_event_in_its_objects_namespace(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces", json={"metadata": {"name": "team-a"}})
    wrong = core_event("x", involvedObject={"kind": "Secret", "name": "s", "namespace": "team-b"})
    response = await http.post("/api/v1/namespaces/team-a/events", json={**wrong, "metadata": {"name": "x"}})
    assert response.status_code == 422
    assert response.json()["message"] == ('Event "x" is invalid: involvedObject.namespace: Invalid value: '
                                          '"team-b": does not match event.namespace')
    cluster_scoped = await http.post("/api/v1/namespaces/team-a/events", json={**core_event("y"),
                                                                               "metadata": {"name": "y"}})
    assert cluster_scoped.status_code == 422  # about a cluster-scoped object: in default only
