"""Size limits: the API server's request body limit, etcd's request limit, the 1 MiB of a Secret or ConfigMap.

Sources: ``k8s.io/apiserver/pkg/server/config.go`` (``MaxRequestBodyBytes`` = 3 MiB, "2x the etcd limit"),
``handlers/rest.go`` ``limitedReadBody`` (``NewRequestEntityTooLargeError("limit is N")``), etcd's
``--max-request-bytes`` (1.5 MiB) surfacing as a 500 ``etcdserver: request is too large`` (kubernetes/kubernetes
issues #74600, #112152: ``apiserver received an error that is not an metav1.Status``), and
https://kubernetes.io/docs/concepts/configuration/secret/#restriction-data-size ("Individual Secrets are limited
to 1MiB in size").
"""

from __future__ import annotations

import base64

import httpx

from shipway_sandbox.emulator import ClusterEmulator

MiB = 1024 * 1024
CMS = "/api/v1/namespaces/default/configmaps"


async def test_a_request_body_over_3_mib_is_413(http: httpx.AsyncClient) -> None:
    response = await http.post(CMS, json={"metadata": {"name": "huge"}, "data": {"k": "x" * (3 * MiB)}})
    assert response.status_code == 413
    assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "Request entity too large: limit is 3145728",
                               "reason": "RequestEntityTooLarge", "code": 413}


async def test_an_object_over_etcds_limit_is_a_500_from_etcd_but_not_on_a_dry_run(
        http: httpx.AsyncClient, widgets: str, emulator: ClusterEmulator) -> None:
    before = emulator.cluster.store.changes.revision
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "big"},
            "spec": {"blob": "x" * (2 * MiB)}}  # under the request limit, over etcd's
    dry = await http.post(widgets.format(ns="default"), json=body, params={"dryRun": "All"})
    assert dry.status_code == 201  # a dry run never reaches etcd
    response = await http.post(widgets.format(ns="default"), json=body)
    assert response.status_code == 500
    assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "etcdserver: request is too large", "code": 500}
    assert emulator.cluster.store.changes.revision == before
    assert (await http.get(f"{widgets.format(ns='default')}/big")).status_code == 404


async def test_a_secret_or_config_map_holds_1_mib_of_data(http: httpx.AsyncClient) -> None:
    secret = await http.post("/api/v1/namespaces/default/secrets", json={
        "metadata": {"name": "s"}, "data": {"k": base64.b64encode(b"x" * (MiB + 1)).decode()}})
    assert secret.status_code == 422
    assert secret.json()["message"] == 'Secret "s" is invalid: data: Too long: may not be more than 1048576 bytes'
    config = await http.post(CMS, json={"metadata": {"name": "c"}, "data": {"a": "x" * MiB, "b": "y"}})
    assert config.status_code == 422
    assert config.json()["message"] == 'ConfigMap "c" is invalid: []: Too long: may not be more than 1048576 bytes'
    exact = await http.post(CMS, json={"metadata": {"name": "c"}, "data": {"a": "x" * MiB}})
    assert exact.status_code == 201
