"""The workflows users script against a cluster, with the real kubectl, as the sandbox serves them (HTTPS and
tokens): ``apply --server-side`` (twice, a conflicting field manager refused then forced), ``diff`` (a server
dry run: nothing stored), ``edit`` (an editor that changes the file) and ``proxy``.

Sources: https://kubernetes.io/docs/reference/using-api/server-side-apply/ (conflicts, ``--force-conflicts``),
https://kubernetes.io/docs/reference/kubectl/generated/kubectl_diff/ (a server-side dry run),
https://kubernetes.io/docs/reference/kubectl/generated/kubectl_edit/ (``KUBE_EDITOR``),
https://kubernetes.io/docs/tasks/extend-kubernetes/http-proxy-access-api/.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import signal

import httpx

from .support import EXAMPLES, PIPELINES, Kubectl, pipeline_of

SHOP = str(EXAMPLES / "sandbox" / "shop.yaml")


async def test_apply_server_side_twice_then_a_conflicting_manager_refused_then_forced(
        kube: Kubectl, admin: httpx.AsyncClient, shipway_crds: None) -> None:
    first = await kube("apply", "--server-side", "-f", SHOP)
    assert first.code == 0 and first.stdout.strip() == "pipeline.shipway.dev/shop serverside-applied", first.stderr
    version = (await pipeline_of(admin, "shop"))["metadata"]["resourceVersion"]
    second = await kube("apply", "--server-side", "-f", SHOP)
    assert second.code == 0, second.stderr
    assert (await pipeline_of(admin, "shop"))["metadata"]["resourceVersion"] == version  # nothing changed

    other = pathlib.Path(SHOP).read_text().replace("registry: ghcr.io", "registry: quay.io")
    refused = await kube("apply", "--server-side", "--field-manager=ci", "-f", "-", stdin=other)
    assert refused.code == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.registry.push.registry' in refused.stderr
    assert "--force-conflicts" in refused.stderr
    assert (await pipeline_of(admin, "shop"))["spec"]["registry"]["push"]["registry"] == "ghcr.io"

    forced = await kube("apply", "--server-side", "--field-manager=ci", "--force-conflicts", "-f", "-", stdin=other)
    assert forced.code == 0, forced.stderr
    shop = await pipeline_of(admin, "shop")
    assert shop["spec"]["registry"]["push"]["registry"] == "quay.io"
    owners = {e["manager"]: e["fieldsV1"] for e in shop["metadata"]["managedFields"]}
    assert "f:registry" in owners["ci"]["f:spec"]["f:registry"]["f:push"]
    assert "f:registry" not in owners["kubectl"]["f:spec"]["f:registry"]["f:push"]  # taken over by force


async def test_client_side_apply_then_server_side_apply_migrates_the_owner(kube: Kubectl, admin: httpx.AsyncClient,
                                                                           shipway_crds: None) -> None:
    assert (await kube("apply", "-f", SHOP)).code == 0
    upgraded = await kube("apply", "--server-side", "-f", SHOP)
    assert upgraded.code == 0, upgraded.stderr  # kubectl moves kubectl-client-side-apply's fields to itself first
    managers = {e["manager"] for e in (await pipeline_of(admin, "shop"))["metadata"]["managedFields"]}
    assert "kubectl" in managers and "kubectl-client-side-apply" not in managers


async def test_diff_shows_the_change_and_stores_nothing(kube: Kubectl, admin: httpx.AsyncClient,
                                                       shipway_crds: None) -> None:
    assert (await kube("apply", "-f", SHOP)).code == 0
    before = await pipeline_of(admin, "shop")
    changed = pathlib.Path(SHOP).read_text().replace("team-a/shop", "team-a/diffed")
    # --server-side needs --force-conflicts here: the fields belong to kubectl-client-side-apply (a real cluster
    # answers the same 409 conflict, kubectl diff retries it as a lost race, then reports it)
    for flags in ((), ("--server-side", "--force-conflicts")):
        diffed = await kube("diff", *flags, "-f", "-", stdin=changed)
        assert diffed.code == 1, diffed.stderr  # 1: there are differences
        assert "-      repositoryPrefix: team-a/shop" in diffed.stdout
        assert "+      repositoryPrefix: team-a/diffed" in diffed.stdout
    same = await kube("diff", "-f", SHOP)
    assert same.code == 0 and same.stdout == ""
    after = await pipeline_of(admin, "shop")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_edit_with_an_editor_that_changes_the_file(kube: Kubectl, admin: httpx.AsyncClient,
                                                         shipway_crds: None, tmp_path: pathlib.Path) -> None:
    assert (await kube("apply", "-f", SHOP)).code == 0
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's#repositoryPrefix: team-a/shop#repositoryPrefix: team-a/edited#' \"$1\"\n")
    editor.chmod(0o755)
    edited = await kube("edit", "pipeline", "shop", env={"KUBE_EDITOR": str(editor)})
    assert edited.code == 0 and "pipeline.shipway.dev/shop edited" in edited.stdout, edited.stderr
    shop = await pipeline_of(admin, "shop")
    assert shop["spec"]["registry"]["push"]["repositoryPrefix"] == "team-a/edited"
    assert "kubectl-edit" in {e["manager"] for e in shop["metadata"]["managedFields"]}

    typo = tmp_path / "typo.sh"
    typo.write_text("#!/bin/sh\nsed -i 's#inherit: true#inherrit: true#' \"$1\"\n")
    typo.chmod(0o755)
    refused = await kube("edit", "pipeline", "shop", env={"KUBE_EDITOR": str(typo)})
    assert refused.code == 1
    assert 'strict decoding error: unknown field "spec.registry.inherrit"' in refused.stderr


async def test_proxy_serves_the_api_on_a_port_it_chose(admin_kubeconfig: pathlib.Path, admin: httpx.AsyncClient,
                                                       shipway_crds: None) -> None:
    await admin.post(PIPELINES, json={"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline",
                                      "metadata": {"name": "shop"}, "spec": {"phases": [{"name": "stage"}]}})
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(admin_kubeconfig), "proxy", "--port=0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        found = re.search(r"Starting to serve on 127\.0\.0\.1:(\d+)", line)
        assert found, line
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{found.group(1)}", timeout=10) as plain:
            listed = (await plain.get(PIPELINES)).json()  # no token: the proxy adds the admin's
            assert [p["metadata"]["name"] for p in listed["items"]] == ["shop"]
            assert "apis/shipway.dev/v1alpha1" in (await plain.get("/openapi/v3")).json()["paths"]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=10)
