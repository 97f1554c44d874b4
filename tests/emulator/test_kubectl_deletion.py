"""``kubectl delete`` against the emulator with users and RBAC on: server dry runs persist nothing, cascading and
namespace deletions take the time the controllers take, and kubectl waits for them as it does on a real cluster.

Sources: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_delete/ (``--dry-run=server``,
``--cascade=background|foreground|orphan``, ``--wait``), https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run.
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

from .helpers import Completed, eventually
from .secured_support import secured

CMS = "/api/v1/namespaces/team-a/configmaps"


async def kubectl(config: pathlib.Path, *args: str) -> Completed:
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(config), "--request-timeout", "10s", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    return Completed(process.returncode or 0, out.decode(), err.decode())


async def test_kubectl_delete_dry_run_server_changes_nothing(tmp_path: pathlib.Path) -> None:
    async with secured(namespace_deletion_delay=0.1) as cluster:
        config = cluster.kubeconfig(tmp_path / "admin", "admin")
        owner = await cluster.create(CMS, {"metadata": {"name": "owner"}})
        reference: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                     "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}
        await cluster.create(CMS, {"metadata": {"name": "child", "ownerReferences": [reference]}})
        await asyncio.sleep(0.1)  # the ServiceAccount controller has made the namespaces' default accounts
        before = cluster.server.emulator.cluster.store.changes.revision
        for args in (("namespace", "team-a"), ("configmap", "owner", "-n", "team-a", "--cascade=foreground"),
                     ("configmaps", "--all", "-n", "team-a")):
            done = await kubectl(config, "delete", *args, "--dry-run=server")
            assert done.code == 0 and "(server dry run)" in done.stdout, done.stderr
        await asyncio.sleep(0.5)  # longer than the controllers' lags: nothing happened later either
        assert cluster.server.emulator.cluster.store.changes.revision == before
        phase = await kubectl(config, "get", "namespace", "team-a", "-o", "jsonpath={.status.phase}")
        assert phase.stdout == "Active"
        names = await kubectl(config, "get", "configmaps", "-n", "team-a", "-o", "name")
        assert names.stdout.split() == ["configmap/child", "configmap/owner"]


async def test_kubectl_delete_namespace_waits_for_the_namespace_controller(tmp_path: pathlib.Path) -> None:
    async with secured(namespace_deletion_delay=0.3) as cluster:
        config = cluster.kubeconfig(tmp_path / "admin", "admin")
        await cluster.create("/api/v1/namespaces/team-b/configmaps", {"metadata": {"name": "c"}})
        started = await kubectl(config, "delete", "namespace", "team-b", "--wait=false")
        assert started.code == 0, started.stderr
        phase = await kubectl(config, "get", "namespace", "team-b", "-o", "jsonpath={.status.phase}")
        assert phase.stdout == "Terminating"

        async def gone() -> bool:
            return (await cluster.admin.get("/api/v1/namespaces/team-b")).status_code == 404

        await eventually(gone, timeout=5)
        again = await kubectl(config, "delete", "namespace", "team-a")  # waits (--wait is the default)
        assert again.code == 0 and 'namespace "team-a" deleted' in again.stdout, again.stderr
        assert (await cluster.admin.get("/api/v1/namespaces/team-a")).status_code == 404


async def test_kubectl_delete_cascade_foreground_as_a_team_user(tmp_path: pathlib.Path) -> None:
    async with secured(gc_delay=0.1) as cluster:
        await cluster.grant("team-a", "cm-admin", [{"apiGroups": [""], "resources": ["configmaps"],
                                                    "verbs": ["get", "list", "watch", "delete"]}], group="team-a")
        owner = await cluster.create(CMS, {"metadata": {"name": "owner"}})
        await cluster.create(CMS, {"metadata": {"name": "child", "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": True}]}})
        config = cluster.kubeconfig(tmp_path / "team-a", "team-a")
        done = await kubectl(config, "delete", "configmap", "owner", "-n", "team-a", "--cascade=foreground")
        assert done.code == 0, done.stderr
        for name in ("owner", "child"):
            assert (await cluster.admin.get(f"{CMS}/{name}")).status_code == 404, name
