"""Server-side dry run (``dryRun=All``): the full request is processed and answered as it would be, but
nothing is stored, no resourceVersion is used, no watch event is sent and no controller reacts."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator

from .helpers import WIDGETS, make_namespace, read_events
from .test_admission import WIDGET

pytestmark = pytest.mark.integration
DRY = {"dryRun": "All"}
MERGE = {"Content-Type": "application/merge-patch+json"}


def revision(emulator: ClusterEmulator) -> int:
    return emulator.cluster.store.changes.revision


async def test_other_dry_run_values_are_refused_on_the_options_of_the_verb(
        http: httpx.AsyncClient, widgets: str) -> None:
    refused = await http.post(WIDGETS.format(ns="default"), json=WIDGET, params={"dryRun": "Yes"})
    assert refused.status_code == 422
    assert refused.json()["message"] == ('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value:'
                                         ' []string{"Yes"}: supported values: "All"')
    assert refused.json()["details"] == {"kind": "CreateOptions", "group": "meta.k8s.io", "causes": [{
        "reason": "FieldValueNotSupported", "field": "dryRun",
        "message": 'Unsupported value: []string{"Yes"}: supported values: "All"'}]}
    await http.post(WIDGETS.format(ns="default"), json=WIDGET)
    path = f"{WIDGETS.format(ns='default')}/w1"
    patched = await http.patch(path, json={}, params={"dryRun": "true"}, headers=MERGE)
    assert patched.status_code == 422 and patched.json()["message"].startswith('PatchOptions.meta.k8s.io "" is')
    deleted = await http.request("DELETE", path, json={"dryRun": ["All", "Some"]})
    assert deleted.status_code == 422 and deleted.json()["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"All", "Some"}: supported'
        ' values: "All"')
    assert (await http.get(path)).status_code == 200


async def test_create_update_patch_and_delete_store_nothing_and_use_no_resource_version(
        http: httpx.AsyncClient, widgets: str, emulator: ClusterEmulator) -> None:
    collection = WIDGETS.format(ns="default")
    path = f"{collection}/w1"
    stored = (await http.post(collection, json=WIDGET)).json()
    before = revision(emulator)

    created = await http.post(collection, json={**WIDGET, "metadata": {"name": "w2"}}, params=DRY)
    assert created.status_code == 201
    meta = created.json()["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1 and "resourceVersion" not in meta
    updated = await http.put(path, json={**stored, "spec": {"size": 2}}, params=DRY)
    assert updated.status_code == 200 and updated.json()["spec"] == {"size": 2}
    assert updated.json()["metadata"]["generation"] == 2
    assert updated.json()["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    patches = [({"spec": {"size": 3}}, MERGE),
               ([{"op": "replace", "path": "/spec/size", "value": 4}], {"Content-Type": "application/json-patch+json"})]
    for document, headers in patches:
        patched = await http.patch(path, json=document, params=DRY, headers=headers)
        assert patched.status_code == 200 and patched.json()["spec"]["size"] in (3, 4)
    apply = {"Content-Type": "application/apply-patch+yaml"}
    applied = await http.patch(f"{collection}/w3", content=json.dumps({**WIDGET, "metadata": {"name": "w3"}}),
                               params={**DRY, "fieldManager": "tests"}, headers=apply)
    assert applied.status_code == 201
    deleted = await http.delete(path, params=DRY)
    assert deleted.status_code == 200 and deleted.json()["metadata"]["name"] == "w1"
    assert (await http.delete(collection, params=DRY)).status_code == 200

    assert revision(emulator) == before
    assert (await http.get(path)).json() == stored
    names = [i["metadata"]["name"] for i in (await http.get(collection)).json()["items"]]
    assert names == ["w1"]


async def test_dry_runs_still_validate_and_conflict(http: httpx.AsyncClient, widgets: str) -> None:
    collection = WIDGETS.format(ns="default")
    stored = (await http.post(collection, json=WIDGET)).json()
    again = await http.post(collection, json=WIDGET, params=DRY)
    assert again.status_code == 409 and again.json()["reason"] == "AlreadyExists"
    stale = {**stored, "metadata": {**stored["metadata"], "resourceVersion": "1"}}
    assert (await http.put(f"{collection}/w1", json=stale, params=DRY)).status_code == 409
    nameless = await http.post("/api/v1/namespaces", json={"metadata": {}}, params=DRY)
    assert nameless.status_code == 422
    missing = await http.delete(f"{collection}/nothing", params=DRY)
    assert missing.status_code == 404


async def test_no_watch_event_is_sent_for_a_dry_run(
        http: httpx.AsyncClient, widgets: str, emulator: ClusterEmulator) -> None:
    collection = WIDGETS.format(ns="default")
    stored = (await http.post(collection, json=WIDGET)).json()
    since = stored["metadata"]["resourceVersion"]
    async with http.stream("GET", collection, params={"watch": "true", "resourceVersion": since}) as stream:
        await http.post(collection, json={**WIDGET, "metadata": {"name": "dry"}}, params=DRY)
        await http.patch(f"{collection}/w1", json={"spec": {"size": 7}}, params=DRY, headers=MERGE)
        await http.delete(f"{collection}/w1", params=DRY)
        await http.post(collection, json={**WIDGET, "metadata": {"name": "real"}})
        [event] = await read_events(stream, 1)
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "real")


async def test_no_controller_reacts_to_a_dry_run(
        http: httpx.AsyncClient, widgets: str, emulator: ClusterEmulator) -> None:
    created = await http.post("/api/v1/namespaces", json={"metadata": {"name": "ghost"}}, params=DRY)
    assert created.status_code == 201 and created.json()["status"] == {"phase": "Active"}
    await make_namespace(http, "team")
    owner = (await http.post("/api/v1/namespaces/team/configmaps", json={"metadata": {"name": "owner"}})).json()
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    await http.post("/api/v1/namespaces/team/configmaps",
                    json={"metadata": {"name": "dependent", "ownerReferences": [reference]}})
    await http.post(WIDGETS.format(ns="team"), json=WIDGET)
    assert (await http.delete("/api/v1/namespaces/team/configmaps/owner", params=DRY)).status_code == 200
    terminating = await http.delete("/api/v1/namespaces/team", params=DRY)
    assert terminating.status_code == 200 and terminating.json()["status"]["phase"] == "Terminating"
    await asyncio.sleep(emulator.service_account_delay * 4)  # the ServiceAccount controller's lag, and more
    assert (await http.get("/api/v1/namespaces/ghost")).status_code == 404
    assert (await http.get("/api/v1/namespaces/ghost/serviceaccounts/default")).status_code == 404
    assert (await http.get("/api/v1/namespaces/team")).json()["status"]["phase"] == "Active"
    for path in ("/api/v1/namespaces/team/configmaps/owner", "/api/v1/namespaces/team/configmaps/dependent",
                 f"{WIDGETS.format(ns='team')}/w1"):
        assert (await http.get(path)).status_code == 200, path


async def test_a_dry_run_delete_of_an_object_with_finalizers_shows_it_marked(
        http: httpx.AsyncClient, widgets: str) -> None:
    collection = WIDGETS.format(ns="default")
    await http.post(collection, json={**WIDGET, "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    marked = await http.delete(f"{collection}/held", params=DRY)
    assert marked.status_code == 200 and marked.json()["metadata"]["deletionTimestamp"]
    assert "deletionTimestamp" not in (await http.get(f"{collection}/held")).json()["metadata"]


async def test_a_dry_run_status_update_changes_nothing(http: httpx.AsyncClient, widgets: str) -> None:
    path = f"{WIDGETS.format(ns='default')}/w1"
    stored = (await http.post(WIDGETS.format(ns="default"), json=WIDGET)).json()
    answered = await http.put(f"{path}/status", json={**stored, "status": {"ready": True}}, params=DRY)
    assert answered.status_code == 200 and answered.json()["status"] == {"ready": True}
    assert "status" not in (await http.get(path)).json()


# -- kubectl --dry-run=server ---------------------------------------------------------------------------------
async def test_kubectl_server_dry_run_persists_nothing(
        kubectl: Any, http: httpx.AsyncClient, widgets: str, emulator: ClusterEmulator) -> None:
    document = json.dumps({**WIDGET, "metadata": {"name": "kw", "namespace": "default"}})
    before = revision(emulator)
    created = await kubectl("apply", "--validate=false", "--dry-run=server", "-f", "-", stdin=document)
    assert created.code == 0, created.stderr
    assert "widget.example.com/kw created (server dry run)" in created.stdout
    assert revision(emulator) == before
    missing = await kubectl("get", "widget", "kw", "-n", "default")
    assert missing.code != 0 and "NotFound" in missing.stderr

    real = await kubectl("apply", "--validate=false", "-f", "-", stdin=document)
    assert real.code == 0, real.stderr
    stored = (await http.get(f"{WIDGETS.format(ns='default')}/kw")).json()
    changed = json.dumps({**WIDGET, "metadata": {"name": "kw", "namespace": "default"}, "spec": {"size": 9}})
    configured = await kubectl("apply", "--validate=false", "--dry-run=server", "-f", "-", "-o", "json",
                               stdin=changed)
    assert configured.code == 0, configured.stderr
    assert json.loads(configured.stdout)["spec"] == {"size": 9}
    deleted = await kubectl("delete", "widget", "kw", "-n", "default", "--dry-run=server")
    assert deleted.code == 0 and "deleted (server dry run)" in deleted.stdout, deleted.stderr
    assert (await http.get(f"{WIDGETS.format(ns='default')}/kw")).json() == stored
