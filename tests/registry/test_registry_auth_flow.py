"""The challenge flow as an ``httpx.Auth`` (issue 13): what it adds to httpx, pinned with recording servers.

A refused cached token is replaced once; the token sub-request keeps the client's timeout and headers;
authentication steps do not eat a request's redirect budget; bodies are never decoded; an ``Authorization``
header never crosses to another origin, not even on an ``http`` to ``https`` upgrade."""

from __future__ import annotations

import gzip
import itertools
import json
import time
from collections.abc import Callable

import httpx
from tests.support.hostile import Answer, ScriptedServer, SeenRequest, SilentServer

from shipway.adapters.registry import Credential, Reason, RegistryClient, TokenCache, requesting
from shipway.core.secrets import Secret

USER = "flow-user"


def challenge(server: ScriptedServer, realm: str = "/token") -> Answer:
    header = f'Bearer realm="{server.url}{realm}",service="flow"'
    return Answer(401, [("WWW-Authenticate", header), ("Content-Type", "application/json")], b"{}")


def token(value: str) -> Answer:
    return Answer(200, [("Content-Type", "application/json")], json.dumps({"token": value}).encode())


async def test_a_refused_cached_token_is_replaced_once_by_a_fresh_one(
    canary: str, no_leak: Callable[..., None]
) -> None:
    issued = itertools.count(1)
    revoked: set[str] = set()
    refuse_pulls = [False]

    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return token(f"t{next(issued)}")
        bearer = (request.authorization or "").removeprefix("Bearer ")
        if not bearer or bearer in revoked or (refuse_pulls[0] and "/manifests/" in request.path):
            return challenge(server)
        return Answer(200, body=b"{}")

    cache = TokenCache()
    with ScriptedServer(script) as registry:
        async with RegistryClient(token_cache=cache) as client:
            async def verify() -> tuple[Reason | None, list[SeenRequest]]:
                before = len(registry.requests)
                result = await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)),
                                             repository="flow/app", check_push=False)
                no_leak(result)
                assert result.valid.ok and result.can_pull is not None
                return result.can_pull.reason, registry.requests[before:]

            assert (await verify())[0] is None  # login t1, pull t2 (cached)
            revoked.update({"t1", "t2"})
            reason, seen = await verify()  # login t3; the cached t2 is refused, so t4 is fetched, once
            assert reason is None
            pulls = [(r.method, r.authorization) for r in seen if "/manifests/" in r.path]
            assert pulls == [("HEAD", "Bearer t2"), ("HEAD", "Bearer t4")]
            refuse_pulls[0] = True  # the registry refuses the scope whatever the token
            reason, seen = await verify()
    assert reason is Reason.DENIED
    pulls = [r.authorization for r in seen if "/manifests/" in r.path]
    assert pulls == ["Bearer t4", "Bearer t6"]  # the cached one, then one fresh one, and no more
    assert sum(r.path.startswith("/token") for r in seen) == 2


async def test_the_token_request_keeps_the_timeout_and_headers_of_the_client(
    canary: str, no_leak: Callable[..., None]
) -> None:
    with SilentServer() as silent:
        realm = f"http://{silent.netloc}/token"  # the same loopback address: an allowed realm

        def script(request: SeenRequest, server: ScriptedServer) -> Answer:
            header = f'Bearer realm="{realm}",service="flow"'
            return Answer(401, [("WWW-Authenticate", header)], b"{}")

        with ScriptedServer(script) as registry:
            started = time.monotonic()
            async with RegistryClient(timeout=0.3, deadline=30) as client:
                result = await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)))
    assert result.valid.reason is Reason.TIMEOUT
    assert result.valid.detail == "the server did not answer in time"  # the exchange's, not the deadline's
    assert time.monotonic() - started < 5
    no_leak(result)

    def with_realm(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return token("good.token")
        return Answer(200, body=b"{}") if request.authorization == "Bearer good.token" else challenge(server)

    with ScriptedServer(with_realm) as registry:
        async with RegistryClient() as client:
            assert (await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)))).valid.ok
    fetched = [r for r in registry.requests if r.path.startswith("/token")]
    assert [(r.headers.get("user-agent"), r.headers.get("accept-encoding")) for r in fetched] == [
        ("shipway-registry-check", "identity")
    ]


async def test_authentication_steps_do_not_count_as_redirects(canary: str, no_leak: Callable[..., None]) -> None:
    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return token("good.token")
        if request.authorization != "Bearer good.token":
            return challenge(server)
        hop = int(request.path.partition("hop=")[2] or 0)
        if hop < requesting.MAX_REDIRECTS:
            return Answer(307, [("Location", f"/v2/?hop={hop + 1}")])
        return Answer(200, body=b"{}")

    with ScriptedServer(script) as registry:
        async with RegistryClient() as client:
            result = await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)))
    assert result.valid.ok  # a 401 and a token request, then five redirects: within the budget
    assert [r.path for r in registry.requests][-1] == f"/v2/?hop={requesting.MAX_REDIRECTS}"
    no_leak(result)


async def test_a_compressed_body_is_never_decoded(canary: str, no_leak: Callable[..., None]) -> None:
    # Identity is asked for; a body compressed anyway is read as sent, so no decompression bomb can go off.
    compressed = gzip.compress(json.dumps({"token": "good.token"}).encode())

    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return Answer(200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], compressed)
        return Answer(200, body=b"{}") if request.authorization == "Bearer good.token" else challenge(server)

    with ScriptedServer(script) as registry:
        async with RegistryClient() as client:
            result = await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)))
    assert result.valid.reason is Reason.BAD_RESPONSE
    no_leak(result)


async def test_an_authorization_header_never_crosses_an_origin_on_a_redirect() -> None:
    check = requesting.redirect_policy(frozenset({"registry.example"}))
    for location, kept in [("https://registry.example/v2/", False), ("/v2/other", True),
                           ("http://registry.example:80/v2/", True)]:
        request = httpx.Request("GET", "http://registry.example/v2/", headers={"Authorization": "Basic eA=="})
        await check(httpx.Response(307, headers={"Location": location}, request=request))
        assert ("authorization" in request.headers) is kept, location
