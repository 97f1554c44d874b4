"""An in-process emulator with users and RBAC on (HTTPS, a CA of the run), and a client per user.

As ``tests/support/cluster.py`` runs it in its own process (``--users``): the admin is in ``system:masters``, the
team users (``team-a``, ``team-b``) only in their own group, so what they may do comes from the RBAC objects the
admin stores.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, Users, generate_users

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@dataclasses.dataclass
class Secured:
    server: EmulatorServer
    users: Users
    clients: dict[str, httpx.AsyncClient]

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.clients["admin"]

    def kubeconfig(self, path: pathlib.Path, user: str) -> pathlib.Path:
        from shipway_sandbox.emulator import kubeconfig

        return kubeconfig.write(path, self.server.url, token=self.users.by_name(user).token,
                                ca_pem=self.server.ca_pem)

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.admin.post(path, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def grant(self, namespace: str | None, name: str, rules: list[dict[str, Any]], *, group: str) -> None:
        """A Role (ClusterRole without namespace) of ``rules`` bound to ``group``, created by the admin."""
        scope = f"{RBAC}/namespaces/{namespace}" if namespace else RBAC
        kind = "Role" if namespace else "ClusterRole"
        await self.create(f"{scope}/{kind.lower()}s", {"metadata": {"name": name}, "rules": rules})
        await self.create(f"{scope}/{kind.lower()}bindings", {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})


@contextlib.asynccontextmanager
async def secured(**options: Any) -> AsyncIterator[Secured]:
    users = generate_users()
    lags = {"service_account_delay": 0.01, "gc_delay": 0.02, "namespace_deletion_delay": 0.05}
    emulator = ClusterEmulator(users=users, **{**lags, **options})
    async with EmulatorServer(emulator) as server, contextlib.AsyncExitStack() as stack:
        clients = {}
        for user in users:
            clients[user.name] = await stack.enter_async_context(httpx.AsyncClient(
                base_url=server.url, headers={"Authorization": f"Bearer {user.token}"}, timeout=10,
                verify=server.client_ssl_context()))
        for name in ("team-a", "team-b"):
            response = await clients["admin"].post("/api/v1/namespaces", json={"metadata": {"name": name}})
            assert response.status_code == 201, response.text
        yield Secured(server=server, users=users, clients=clients)
