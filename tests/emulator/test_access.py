"""The authentication/authorization seam: hooks see each request as a real apiserver's authorizer does."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, RequestAttributes, UserInfo


async def test_without_hooks_any_token_is_admitted(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/namespaces", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 200


async def test_hooks_answer_401_and_403_as_status_objects_with_request_attributes() -> None:
    seen: list[RequestAttributes] = []

    async def authenticate(headers: Mapping[str, str]) -> UserInfo | None:
        return UserInfo(username="alice") if headers.get("Authorization") == "Bearer good" else None

    async def authorize(user: UserInfo, attributes: RequestAttributes) -> bool:
        seen.append(attributes)
        return attributes.verb in ("get", "list")

    emulator = ClusterEmulator(authenticator=authenticate, authorizer=authorize)
    async with EmulatorServer(emulator) as srv, httpx.AsyncClient(base_url=srv.url) as http:
        anonymous = await http.get("/api/v1/namespaces/default/secrets")
        assert anonymous.status_code == 401 and anonymous.json()["reason"] == "Unauthorized"
        good = {"Authorization": "Bearer good"}
        assert (await http.get("/api/v1/namespaces/default/secrets", headers=good)).status_code == 200
        denied = await http.post("/api/v1/namespaces/default/secrets", json={"metadata": {"name": "s"}}, headers=good)
        assert denied.status_code == 403 and denied.json()["reason"] == "Forbidden"
        assert 'User "alice" cannot create resource "secrets"' in denied.json()["message"]
    assert seen[-1] == RequestAttributes(verb="create", group="", version="v1", resource="secrets",
                                         subresource=None, namespace="default", name=None)
