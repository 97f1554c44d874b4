"""Who admission webhooks are told made the request: the caller authenticated by the emulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, UserInfo, generate_users

from .helpers import WIDGETS, WIDGETS_CRD
from .test_admission import WIDGET, register
from .webhook_server import WebhookServer, hook

pytestmark = pytest.mark.integration


async def test_the_authenticated_callers_uid_groups_and_extra_are_sent(tmp_path: Any, webhook: WebhookServer) -> None:
    async def authenticate(headers: Any) -> UserInfo | None:
        return UserInfo(username="alice", uid="u-1", groups=("team-a", "system:authenticated"),
                        extra={"scopes": ("read", "write")})

    async with EmulatorServer(ClusterEmulator(authenticator=authenticate)) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        assert (await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                json=WIDGETS_CRD)).status_code == 201
        await register(http, hook("check.example.com", webhook.url(), webhook.ca_bundle))
        assert (await http.post(WIDGETS.format(ns="default"), json=WIDGET)).status_code == 201
    assert webhook.requests()[0]["userInfo"] == {
        "username": "alice", "uid": "u-1", "groups": ["team-a", "system:authenticated"],
        "extra": {"scopes": ["read", "write"]}}


async def test_a_user_of_the_users_file_is_sent_with_the_groups_the_api_server_adds(webhook: WebhookServer) -> None:
    users = generate_users()
    async with EmulatorServer(ClusterEmulator(users=users)) as server:
        team_a = users.by_name("team-a")
        async with httpx.AsyncClient(base_url=server.url, timeout=5, verify=server.client_ssl_context(),
                                     headers={"Authorization": f"Bearer {users.admin.token}"}) as admin, \
                httpx.AsyncClient(base_url=server.url, timeout=5, verify=server.client_ssl_context(),
                                  headers={"Authorization": f"Bearer {team_a.token}"}) as team:
            await register(admin, hook("who.example.com", webhook.url(), webhook.ca_bundle, groups=("",),
                                       resources=("configmaps",)))
            assert (await admin.post("/api/v1/namespaces/default/configmaps",
                                     json={"metadata": {"name": "a"}})).status_code == 201
            refused = await team.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "b"}})
            assert refused.status_code == 403  # authorization comes first: no webhook call
    assert [r["userInfo"] for r in webhook.requests()] == [
        {"username": "admin", "groups": ["system:masters", "system:authenticated"]}]
