"""Table responses with a CRD's ``additionalPrinterColumns`` (``kubectl get``, ``kubectl get -w``).

Sources: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
#additional-printer-columns, https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables,
and the apiextensions-apiserver's ``tableconvertor`` (a column shows the first value its JSONPath finds;
``date`` columns as ``HumanDuration``; ``Name`` + ``Age`` when a version declares no columns); watch Tables
carry the column definitions in their first event only (the API server's watch handler).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import tables

from ..helpers import WIDGETS, WIDGETS_CRD, read_events
from .support import PIPELINES, Kubectl, cells

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
STATUS = {"conditions": [{"type": "Verified", "status": "False", "reason": "X", "message": "",
                          "lastTransitionTime": "2026-01-01T00:00:00Z"},
                         {"type": "Ready", "status": "True", "reason": "Delivered", "message": "",
                          "lastTransitionTime": "2026-01-01T00:00:00Z"}]}


async def _shop(http: httpx.AsyncClient, name: str = "shop", *, ready: bool = True) -> dict[str, Any]:
    body = {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": [{"name": "stage"}, {"name": "production"}]}}
    created = (await http.post(PIPELINES, json=body)).json()
    if ready:
        created["status"] = STATUS
        response = await http.put(f"{PIPELINES}/{name}/status", json=created)
        assert response.status_code == 200, response.text
        return dict(response.json())
    return dict(created)


async def test_a_list_table_has_the_crd_columns_with_first_values(admin: httpx.AsyncClient,
                                                                 shipway_crds: None) -> None:
    await _shop(admin)
    await _shop(admin, "blog", ready=False)
    table = (await admin.get(PIPELINES, headers=TABLE)).json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    definitions = table["columnDefinitions"]
    assert [(c["name"], c["type"], c["format"]) for c in definitions] == [
        ("Name", "string", "name"), ("Phases", "string", ""), ("Ready", "string", ""), ("Age", "date", "")]
    assert definitions[2]["description"] == ("Custom resource definition column (in JSONPath format): "
                                             '.status.conditions[?(@.type=="Ready")].status')
    rows = {row["cells"][0]: row["cells"] for row in table["rows"]}
    assert rows["shop"][1:3] == ["stage", "True"]  # the first phase only, as kube-apiserver shows it
    assert rows["blog"][1:3] == ["stage", None]  # no Ready condition yet: an empty cell
    assert rows["shop"][3].endswith("s")
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


async def test_a_crd_without_columns_gets_name_and_age(http: httpx.AsyncClient) -> None:
    assert (await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
            ).status_code == 201
    await http.post(WIDGETS.format(ns="default"), json={"apiVersion": "example.com/v1", "kind": "Widget",
                                                        "metadata": {"name": "w"}})
    table = (await http.get(WIDGETS.format(ns="default"), headers=TABLE)).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["columnDefinitions"][1]["type"] == "date"


def test_cells_are_typed_by_column_type() -> None:
    body = {"metadata": {"name": "x", "creationTimestamp": "2000-01-01T00:00:00Z"},
            "spec": {"n": 3.0, "ok": True, "tags": ["a", "b"], "m": {"k": 1}, "s": 5}}
    columns = [{"name": "N", "type": "integer", "jsonPath": ".spec.n"},
               {"name": "Ok", "type": "boolean", "jsonPath": ".spec.ok"},
               {"name": "Tag", "type": "string", "jsonPath": ".spec.tags[*]"},
               {"name": "Last", "type": "string", "jsonPath": ".spec.tags[-1]"},
               {"name": "M", "type": "string", "jsonPath": ".spec.m"},
               {"name": "S", "type": "string", "jsonPath": ".spec.s"},
               {"name": "Wrong", "type": "boolean", "jsonPath": ".spec.s"},
               {"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"},
               {"name": "Born", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    table = tables.maybe_table("as=Table", _spec(), body, listing=False, columns=columns)
    [row] = table["rows"]
    assert row["cells"][:9] == ["x", 3, True, "a", "b", '{"k":1}', "5", None, None]
    assert row["cells"][9].endswith("y")  # years ago


def _spec() -> Any:
    from shipway_sandbox.emulator.resources import ResourceSpec

    return ResourceSpec(group="example.com", version="v1", plural="things", kind="Thing")


@pytest.mark.parametrize(("seconds", "shown"), [
    (5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (7200, "120m"), (3 * 3600 + 60, "3h1m"),
    (10 * 3600, "10h"), (50 * 3600, "2d2h"), (9 * 86400, "9d"), (3 * 365 * 86400 + 2 * 86400, "3y2d"),
    (-0.5, "0s"), (-5, "<invalid>"),
])
def test_ages_are_human_durations(seconds: float, shown: str) -> None:
    assert tables.human_duration(seconds) == shown


async def test_a_table_watch_sends_headers_once(admin: httpx.AsyncClient, shipway_crds: None) -> None:
    await _shop(admin, ready=False)
    async with admin.stream("GET", PIPELINES, params={"watch": "1"}, headers=TABLE) as response:
        [added] = await read_events(response, 1)
        await admin.patch(f"{PIPELINES}/shop", json={"spec": {"reclaimPolicy": "Delete"}},
                          headers={"Content-Type": "application/merge-patch+json"})
        [modified] = await read_events(response, 1)
    assert added["type"] == "ADDED" and added["object"]["kind"] == "Table"
    assert [c["name"] for c in added["object"]["columnDefinitions"]] == ["Name", "Phases", "Ready", "Age"]
    assert modified["type"] == "MODIFIED" and modified["object"]["columnDefinitions"] == []
    assert modified["object"]["rows"][0]["cells"][:2] == ["shop", "stage"]


async def test_kubectl_get_pipelines_shows_the_columns(kube: Kubectl, admin: httpx.AsyncClient,
                                                      shipway_crds: None) -> None:
    await _shop(admin)
    listed = await kube("get", "pipelines")
    assert listed.code == 0, listed.stderr
    header, row = cells(listed.stdout)
    assert header == ["NAME", "PHASES", "READY", "AGE"]
    assert row[:3] == ["shop", "stage", "True"]
    wide = await kube("get", "pipeline", "shop", "-o", "json")
    assert json.loads(wide.stdout)["metadata"]["name"] == "shop"


async def test_kubectl_get_watch_prints_each_change_as_a_row(kube: Kubectl, admin: httpx.AsyncClient,
                                                             shipway_crds: None) -> None:
    await _shop(admin, ready=False)
    watching = asyncio.create_task(kube("get", "pipelines", "-w", "--request-timeout=3s"))
    await asyncio.sleep(1.0)
    shop = await admin.get(f"{PIPELINES}/shop")
    body = shop.json()
    body["status"] = STATUS
    assert (await admin.put(f"{PIPELINES}/shop/status", json=body)).status_code == 200
    done = await watching
    rows = cells(done.stdout)
    assert rows[0] == ["NAME", "PHASES", "READY", "AGE"]
    assert [r[:2] for r in rows[1:]] == [["shop", "stage"], ["shop", "stage"]]
    assert rows[2][2] == "True"  # the update's row, printed under the same header


async def test_built_in_kinds_have_kube_apiservers_printer_columns(http: httpx.AsyncClient) -> None:
    await http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "c"}, "data": {"a": "1"},
                                                                    "binaryData": {"b": "AA=="}})
    await http.post("/api/v1/namespaces/default/secrets", json={"metadata": {"name": "s"}, "type": "Opaque",
                                                                 "data": {"a": "AA=="}})
    await http.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", json={
        "metadata": {"name": "rb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "ann"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "x"}]})
    configmaps = (await http.get("/api/v1/namespaces/default/configmaps/c", headers=TABLE)).json()
    assert [c["name"] for c in configmaps["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert configmaps["rows"][0]["cells"][:2] == ["c", 2]
    secrets = (await http.get("/api/v1/namespaces/default/secrets/s", headers=TABLE)).json()
    assert secrets["rows"][0]["cells"][:3] == ["s", "Opaque", 1]
    bindings = (await http.get("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/rb",
                               headers=TABLE)).json()
    assert [(c["name"], c["priority"]) for c in bindings["columnDefinitions"]] == [
        ("Name", 0), ("Role", 0), ("Age", 0), ("Users", 1), ("Groups", 1), ("ServiceAccounts", 1)]
    cells = bindings["rows"][0]["cells"]
    assert cells[1] == "Role/r" and cells[3:] == ["ann", "", "x/sa"]
    crds = (await http.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", headers=TABLE)).json()
    assert [c["name"] for c in crds["columnDefinitions"]] == ["Name", "Created At"]
