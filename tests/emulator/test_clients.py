"""Real clients against the emulator over HTTP: lightkube, kubectl and kopf."""

from __future__ import annotations

import asyncio
import json
import pathlib
import threading
from typing import Any

import httpx
import kopf
import lightkube
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace, ServiceAccount

from shipway_sandbox.emulator import EmulatorServer

from .helpers import WIDGETS_CRD, eventually

Widget = create_namespaced_resource("example.com", "v1", "Widget", "widgets")


async def test_lightkube_crud_apply_and_watch(kubeconfig: pathlib.Path) -> None:
    client = lightkube.AsyncClient(config=lightkube.KubeConfig.from_file(kubeconfig))
    try:
        created = await client.create(ConfigMap(metadata=ObjectMeta(name="lk"), data={"a": "1"}), namespace="default")
        assert created.metadata is not None and created.metadata.uid and created.metadata.resourceVersion
        fetched = await client.get(ConfigMap, "lk", namespace="default")
        assert fetched.data == {"a": "1"}
        applied = await client.apply(ConfigMap(metadata=ObjectMeta(name="lk2", namespace="default"), data={"b": "2"}),
                                     field_manager="shipway-test")
        assert applied.data == {"b": "2"}
        names = [cm.metadata.name async for cm in client.list(ConfigMap, namespace="default")
                 if cm.metadata is not None]
        assert names == ["lk", "lk2"]
        seen: list[tuple[str, str | None]] = []
        async for event, obj in client.watch(ConfigMap, namespace="default", resource_version="0"):
            seen.append((event, obj.metadata.name if obj.metadata else None))
            if len(seen) == 2:
                break
        assert seen == [("ADDED", "lk"), ("ADDED", "lk2")]
        await client.delete(ConfigMap, "lk", namespace="default")
        await client.create(Namespace(metadata=ObjectMeta(name="lk-ns")))
        await asyncio.sleep(0.2)
        sa = await client.get(ServiceAccount, "default", namespace="lk-ns")
        assert sa.metadata is not None and sa.metadata.namespace == "lk-ns"
    finally:
        await client.close()


async def test_lightkube_custom_objects_and_status_subresource(
    kubeconfig: pathlib.Path, http: httpx.AsyncClient,
) -> None:
    await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    client = lightkube.AsyncClient(config=lightkube.KubeConfig.from_file(kubeconfig))
    try:
        widget = await client.create(Widget(metadata=ObjectMeta(name="w", namespace="default"), spec={"size": 1}))
        assert widget is not None and widget.metadata.generation == 1  # 201 with a body, not None
        patched = await client.patch(Widget.Status, "w", {"status": {"ready": True}, "spec": {"size": 9}},
                                     namespace="default", patch_type=lightkube.types.PatchType.MERGE)
        assert patched.status == {"ready": True} and patched.spec == {"size": 1}
    finally:
        await client.close()


async def test_kubectl_gets_namespaces(kubectl: Any) -> None:
    result = await kubectl("get", "namespaces")
    assert result.code == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert result.stdout.split()[:3] == ["NAME", "STATUS", "AGE"]
    assert rows["default"] == "Active" and rows["kube-system"] == "Active"


async def test_kubectl_applies_a_crd_then_a_custom_object_then_gets_and_deletes(kubectl: Any) -> None:
    crd = await kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(WIDGETS_CRD))
    assert crd.code == 0, crd.stderr
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "kw", "namespace": "default"}, "spec": {"size": 3}}
    created = await kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(widget))
    assert created.code == 0 and "widget.example.com/kw created" in created.stdout, created.stderr
    widget["spec"] = {"size": 4}
    configured = await kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(widget))
    assert "configured" in configured.stdout, configured.stderr
    listed = await kubectl("get", "widgets", "-n", "default", "-o", "json")
    items = json.loads(listed.stdout)["items"]
    assert [(i["metadata"]["name"], i["spec"]) for i in items] == [("kw", {"size": 4})]
    table = await kubectl("get", "wd", "-n", "default")
    assert "kw" in table.stdout and "NAME" in table.stdout, table.stderr
    deleted = await kubectl("delete", "widget", "kw", "-n", "default")
    assert deleted.code == 0 and "deleted" in deleted.stdout, deleted.stderr
    empty = await kubectl("get", "widgets", "-n", "default", "-o", "json")
    assert json.loads(empty.stdout)["items"] == []


async def test_kopf_operator_handles_creation_of_a_custom_object(
    server: EmulatorServer, http: httpx.AsyncClient,
) -> None:
    await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    registry = kopf.OperatorRegistry()
    handled, deleted = threading.Event(), threading.Event()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=server.url, insecure=True)

    @kopf.on.create("example.com", "v1", "widgets", registry=registry)
    def on_create(spec: Any, patch: Any, **_: Any) -> dict[str, Any]:
        patch.status["seen"] = spec.get("size")
        handled.set()
        return {"message": "handled"}

    @kopf.on.delete("example.com", "v1", "widgets", registry=registry)
    def on_delete(**_: Any) -> None:  # a deletion handler makes kopf add its finalizer (a JSON patch)
        deleted.set()

    stop = asyncio.get_running_loop().create_future()
    ready = asyncio.Event()
    operator = asyncio.create_task(kopf.operator(
        registry=registry, standalone=True, clusterwide=True, stop_flag=stop, ready_flag=ready,
    ))
    try:
        await asyncio.wait_for(ready.wait(), timeout=10)
        url = "/apis/example.com/v1/namespaces/default/widgets"
        assert (await http.post(url, json={"metadata": {"name": "kopfed"}, "spec": {"size": 7}})).status_code == 201

        async def finished() -> bool:
            body = (await http.get(f"{url}/kopfed")).json()
            return any(key.endswith("on_create") for key in body.get("status", {}))

        await eventually(finished, timeout=10)
        body = (await http.get(f"{url}/kopfed")).json()
        assert handled.is_set()
        assert "kopf.zalando.org/KopfFinalizerMarker" in body["metadata"]["finalizers"]
        results = {k.rsplit(".", 1)[-1]: v for k, v in body["status"].items()}
        assert results == {"seen": 7, "on_create": {"message": "handled"}}
        assert "kopf.zalando.org/last-handled-configuration" in body["metadata"]["annotations"]
        assert (await http.delete(f"{url}/kopfed")).status_code == 200

        async def released() -> bool:  # kopf removes its finalizer, which completes the deletion
            return (await http.get(f"{url}/kopfed")).status_code == 404

        await eventually(released, timeout=10)
        assert deleted.is_set()
    finally:
        stop.set_result(None)
        await asyncio.wait_for(operator, timeout=10)
