"""Registries that misbehave, written in the tests: every one yields a reason, never a hang or a traceback,
and credentials never reach a host other than the registry and its announced realm."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.support.hostile import Answer, ScriptedServer, SeenRequest, SilentServer
from tests.support.registries import free_port
from tests.support.tls import TlsFiles

from shipway.adapters.registry import Credential, Reason, RegistryClient, VerificationResult
from shipway.core.secrets import Secret

USER = "hostile-user"


def basic_ok(request: SeenRequest, canary: str) -> bool:
    expected = "Basic " + base64.b64encode(f"{USER}:{canary}".encode()).decode()
    return request.authorization == expected


def challenge(header: str) -> Answer:
    return Answer(401, [("WWW-Authenticate", header), ("Content-Type", "application/json")], b"{}")


def bearer_registry(realm: str) -> Callable[[SeenRequest, ScriptedServer], Answer]:
    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return token_answer(request)
        if request.authorization == "Bearer good.token":
            return Answer(200, body=b"{}")
        return challenge(f'Bearer realm="{realm.replace("SELF", server.url)}",service="hostile"')

    return script


def token_answer(request: SeenRequest) -> Answer:
    return Answer(200, [("Content-Type", "application/json")], json.dumps({"token": "good.token"}).encode())


def leaks(server: ScriptedServer, canary: str) -> list[SeenRequest]:
    return [r for r in server.requests if r.authorization or any(canary in v for v in r.headers.values())]


async def verify(netloc: str, canary: str, **options: Any) -> VerificationResult:
    async with RegistryClient(**options) as client:
        return await client.verify(netloc, credential=Credential(USER, Secret(canary)), repository="some/app")


@pytest.mark.parametrize(
    "header",
    [
        'Bearer realm="http://127.0.0.1/token',  # unterminated quoted string
        "Bearer realm=",  # empty value
        'Bearer realm="a", realm="b"',  # a parameter twice
        'Bearer service="no-realm"',  # no realm at all
        'Digest realm="x", nonce="y"',  # a scheme we do not answer
        '"quoted-scheme" realm="x"',
        "\x7f\x01garbage",
    ],
)
async def test_a_challenge_that_does_not_parse_is_a_bad_response(
    header: str, canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(lambda request, server: challenge(header)) as registry:
        result = await verify(registry.netloc, canary)
    assert result.valid.reason is Reason.BAD_RESPONSE
    no_leak(result)


async def test_a_quoted_realm_with_commas_and_several_challenges_is_understood(
    canary: str, no_leak: Callable[..., None]
) -> None:
    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            assert "scope=a%2Cb" in request.path  # the realm's own query is kept
            return token_answer(request)
        if request.authorization == "Bearer good.token":
            return Answer(200, body=b"{}")
        realm = f"{server.url}/token?scope=a,b"
        return challenge(f'Negotiate abc==, Bearer service="svc, with comma",realm="{realm}", Basic realm="r"')

    with ScriptedServer(script) as registry:
        async with RegistryClient() as client:
            result = await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)))
    assert result.valid.ok
    tokens = [r for r in registry.requests if r.path.startswith("/token")]
    assert "service=svc%2C+with+comma" in tokens[0].path or "service=svc%2C%20with%20comma" in tokens[0].path
    no_leak(result)


async def test_an_http_realm_on_another_host_is_refused_for_a_tls_registry(
    hostile_tls: TlsFiles, canary: str, no_leak: Callable[..., None]
) -> None:
    other = ScriptedServer(lambda r, s: token_answer(r), host="127.0.0.2")
    with other, ScriptedServer(bearer_registry(f"{other.url}/token"), tls=hostile_tls) as registry:
        result = await verify(registry.netloc, canary, ca_file=hostile_tls.ca_file)
    assert result.valid.reason is Reason.INSECURE
    assert other.requests == []
    no_leak(result)


async def test_an_http_realm_on_a_non_loopback_host_is_refused_without_a_request(
    canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(bearer_registry("http://192.0.2.123:9/token")) as registry:
        started = time.monotonic()
        result = await verify(registry.netloc, canary, timeout=5)
    assert result.valid.reason is Reason.INSECURE
    assert time.monotonic() - started < 2
    no_leak(result)


async def test_a_realm_that_is_not_http_is_a_bad_response(canary: str, no_leak: Callable[..., None]) -> None:
    with ScriptedServer(bearer_registry("file:///etc/passwd")) as registry:
        result = await verify(registry.netloc, canary)
    assert result.valid.reason is Reason.BAD_RESPONSE
    no_leak(result)


async def test_a_redirect_to_another_host_never_carries_the_credentials(
    canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(lambda r, s: challenge('Basic realm="elsewhere"'), host="127.0.0.2") as other:

        def script(request: SeenRequest, server: ScriptedServer) -> Answer:
            if basic_ok(request, canary):
                return Answer(307, [("Location", f"{other.url}/v2/")])
            return challenge('Basic realm="hostile"')

        with ScriptedServer(script) as registry:
            result = await verify(registry.netloc, canary)
    assert result.valid.reason is Reason.UNAUTHORIZED
    assert other.requests, "the redirect was followed"
    assert leaks(other, canary) == []
    no_leak(result)


async def test_an_upload_location_on_another_host_gets_no_cancel_request(
    canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(lambda r, s: Answer(204), host="127.0.0.2") as other:

        def script(request: SeenRequest, server: ScriptedServer) -> Answer:
            if not basic_ok(request, canary):
                return challenge('Basic realm="hostile"')
            if request.method == "POST":
                return Answer(202, [("Location", f"{other.url}/upload/1")])
            if request.method == "HEAD":
                return Answer(200)
            return Answer(200, body=b"{}")

        with ScriptedServer(script) as registry:
            result = await verify(registry.netloc, canary)
    assert result.can_push is not None and result.can_push.ok
    assert other.requests == []
    no_leak(result)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b'{"token": 42}',
        b'["token"]',
        json.dumps({"token": "evil\r\nX-Injected: 1"}).encode(),
        b'{"token": ""}',
    ],
)
async def test_a_token_answer_without_a_usable_token_is_a_bad_response(
    body: bytes, canary: str, no_leak: Callable[..., None]
) -> None:
    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return Answer(200, [("Content-Type", "application/json")], body)
        return challenge(f'Bearer realm="{server.url}/token",service="hostile"')

    with ScriptedServer(script) as registry:
        result = await verify(registry.netloc, canary)
    assert result.valid.reason is Reason.BAD_RESPONSE
    no_leak(result)


async def test_a_ten_mebibyte_token_body_is_cut_off(canary: str, no_leak: Callable[..., None]) -> None:
    sent: list[int] = []

    def huge() -> Iterator[bytes]:
        for _ in range(160):
            sent.append(1)
            yield b"x" * 65536

    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return Answer(200, [("Content-Type", "application/json")], huge())
        return challenge(f'Bearer realm="{server.url}/token",service="hostile"')

    with ScriptedServer(script) as registry:
        started = time.monotonic()
        result = await verify(registry.netloc, canary)
    assert result.valid.reason is Reason.BAD_RESPONSE
    assert time.monotonic() - started < 5
    no_leak(result)


async def test_a_redirect_loop_is_capped(canary: str, no_leak: Callable[..., None]) -> None:
    with ScriptedServer(lambda r, s: Answer(302, [("Location", "/v2/?again")])) as registry:
        result = await verify(registry.netloc, canary)
    assert result.valid.reason is Reason.BAD_RESPONSE
    assert len(registry.requests) == 6  # the first request and five redirects
    no_leak(result)


async def test_a_server_that_never_answers_times_out(canary: str, no_leak: Callable[..., None]) -> None:
    with SilentServer() as silent:
        started = time.monotonic()
        result = await verify(silent.netloc, canary, timeout=0.3)
    assert result.valid.reason is Reason.TIMEOUT
    assert time.monotonic() - started < 3
    no_leak(result)


async def test_server_errors_are_retried_a_bounded_number_of_times(
    canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(lambda r, s: Answer(503)) as registry:
        result = await verify(registry.netloc, canary, retries=2)
    assert result.valid.reason is Reason.BAD_RESPONSE
    assert len(registry.requests) == 3
    no_leak(result)


async def test_nothing_listening_is_unreachable(canary: str, no_leak: Callable[..., None]) -> None:
    result = await verify(f"127.0.0.1:{free_port()}", canary, retries=1)
    assert result.valid.reason is Reason.UNREACHABLE
    no_leak(result)


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_plain_http_for_a_non_loopback_name_is_refused_unless_listed_insecure(
    canary: str, no_leak: Callable[..., None]
) -> None:
    explicit = await verify("http://registry.example.com", canary)
    assert explicit.valid.reason is Reason.INSECURE
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")

    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        return Answer(200, body=b"{}") if basic_ok(request, canary) else challenge('Basic realm="r"')

    with ScriptedServer(script, host=address) as registry:
        refused = await verify(registry.netloc, canary)
        requests_before = len(registry.requests)
        allowed = await verify(registry.netloc, canary, insecure_registries=frozenset({registry.netloc}))
    assert refused.valid.reason is Reason.INSECURE
    assert requests_before == 0  # the credentials never went out over plain HTTP
    assert allowed.valid.ok
    no_leak(explicit, refused, allowed)
