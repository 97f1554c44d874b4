"""``kubectl get events`` and ``kubectl describe`` show an Event written through ``events.k8s.io/v1`` about a
cluster-scoped custom object (a Pipeline), as against a real kube-apiserver."""

from __future__ import annotations

import datetime
import re
from typing import Any

import httpx

from shipway.core.crds import custom_resource_definitions

NEW = "/apis/events.k8s.io/v1/namespaces/default/events"
PIPELINES = "/apis/shipway.dev/v1alpha1/pipelines"


def _micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _pipeline(http: httpx.AsyncClient, name: str) -> dict[str, Any]:
    for crd in custom_resource_definitions():
        response = await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
        assert response.status_code == 201, response.text
    body = {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": [{"name": "stage"}]}}
    created = await http.post(PIPELINES, json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _event_about(http: httpx.AsyncClient, pipeline: dict[str, Any], name: str, note: str) -> None:
    meta = pipeline["metadata"]
    event = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
        "eventTime": _micro_now(), "reportingController": "shipway.dev/operator", "reportingInstance": "op-1",
        "action": "Deliver", "reason": "Delivered", "type": "Normal", "note": note,
        "regarding": {"apiVersion": pipeline["apiVersion"], "kind": "Pipeline", "name": meta["name"],
                      "uid": meta["uid"]},
    }
    response = await http.post(NEW, json=event)
    assert response.status_code == 201, response.text


async def test_kubectl_get_events_and_describe_show_an_event_of_the_new_api(http: httpx.AsyncClient,
                                                                           kubectl: Any) -> None:
    shop = await _pipeline(http, "shop")
    other = await http.post(PIPELINES, json={"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                                              "metadata": {"name": "blog"}, "spec": {"phases": [{"name": "stage"}]}})
    await _event_about(http, shop, "shop.17a2b", "delivered to shop-stage")
    await _event_about(http, other.json(), "blog.99c1d", "delivered to blog-stage")

    listed = await kubectl("get", "events", "-n", "default")
    assert listed.code == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert re.split(r"\s{2,}", header.strip()) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    cells = sorted(re.split(r"\s{2,}", row.strip())[1:] for row in rows)
    assert cells == [["Normal", "Delivered", "pipeline/blog", "delivered to blog-stage"],
                     ["Normal", "Delivered", "pipeline/shop", "delivered to shop-stage"]]

    wide = await kubectl("get", "events", "-n", "default", "-o", "wide", "--field-selector", "involvedObject.name=shop")
    assert wide.code == 0, wide.stderr
    [row] = wide.stdout.splitlines()[1:]
    assert "shipway.dev/operator, op-1" in row and "shop.17a2b" in row

    described = await kubectl("describe", "pipeline", "shop")
    assert described.code == 0, described.stderr
    events = described.stdout.split("Events:", 1)[1].splitlines()
    assert re.split(r"\s{2,}", events[1].strip()) == ["Type", "Reason", "Age", "From", "Message"]
    [line] = [e for e in events[3:] if e.strip()]
    type_, reason, _age, source, message = re.split(r"\s{2,}", line.strip())
    assert (type_, reason, source, message) == ("Normal", "Delivered", "shipway.dev/operator",
                                                "delivered to shop-stage")


async def test_kubectl_events_lists_and_filters_by_object(http: httpx.AsyncClient, kubectl: Any) -> None:
    shop = await _pipeline(http, "shop")
    await _event_about(http, shop, "shop.2c3d4", "delivered to shop-stage")
    listed = await kubectl("events", "-n", "default")
    assert listed.code == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert re.split(r"\s{2,}", header.strip()) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    [row] = rows
    assert re.split(r"\s{2,}", row.strip())[1:] == ["Normal", "Delivered", "Pipeline/shop", "delivered to shop-stage"]
    filtered = await kubectl("events", "-n", "default", "--for", "pipeline/shop", "--types", "Warning")
    assert filtered.code == 0, filtered.stderr
    assert "delivered to shop-stage" not in filtered.stdout


async def test_kubectl_wait_returns_when_the_condition_is_written(http: httpx.AsyncClient, kubectl: Any) -> None:
    await _pipeline(http, "shop")
    not_yet = await kubectl("wait", "--for=condition=Ready", "pipeline/shop", "--timeout=1s")
    assert not_yet.code != 0 and "timed out" in not_yet.stderr
    status = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Delivered", "message": "m",
                                         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    patched = await http.patch(f"{PIPELINES}/shop/status", json=status,
                               headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    ready = await kubectl("wait", "--for=condition=Ready", "pipeline/shop", "--timeout=10s")
    assert ready.code == 0 and "condition met" in ready.stdout, ready.stderr
