"""Token realms on another host than their registry (issue "tenant isolation"): the credential goes there
only over HTTPS and only for a known pairing (Docker Hub) or a realm the caller trusts; a refused realm is
never contacted. The rule itself is tested pure; its enforcement over real HTTP, with servers that record
every request they get."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.support.hostile import Answer, ScriptedServer, SeenRequest
from tests.support.tls import TlsFiles, make_server_tls

from shipway.adapters.registry import Credential, Outcome, Reason, RegistryClient, VerificationResult, realms
from shipway.core import errors
from shipway.core.secrets import Secret

USER = "realm-user"


def url(text: str) -> httpx.URL:
    return httpx.URL(text)


@pytest.mark.parametrize(
    ("registry", "realm", "known"),
    [
        ("https://registry-1.docker.io", "https://auth.docker.io/token", True),
        ("https://index.docker.io", "https://auth.docker.io/token", True),
        ("https://docker.io", "https://auth.docker.io:443/token", True),
        ("https://registry-1.docker.io", "http://auth.docker.io/token", False),  # HTTPS only
        ("http://registry-1.docker.io", "https://auth.docker.io/token", False),
        ("https://registry-1.docker.io", "https://auth.docker.io:8443/token", False),
        ("https://registry-1.docker.io:5000", "https://auth.docker.io/token", False),
        ("https://registry-1.docker.io", "https://auth.docker.io.evil.example/token", False),
        ("https://registry-1.docker.io", "https://evil.example/token", False),
        ("https://quay.io", "https://auth.docker.io/token", False),  # the pairing is per registry
        ("https://docker.io.evil.example", "https://auth.docker.io/token", False),
    ],
)
def test_the_docker_hub_pairing_is_known_and_nothing_else_is(registry: str, realm: str, known: bool) -> None:
    assert realms.known_pairing(url(registry), url(realm)) is known


TRUSTED = realms.parse_trusted({"auth.example.com", "tokens.example.com:8443", "[fd00::1]:444"})
REFUSALS: dict[str, tuple[str, str, bool, Reason | None]] = {
    "the registry's own origin": ("https://r.example.com", "https://r.example.com/token", False, None),
    "the same host and port, named with the default port": (
        "https://r.example.com", "https://r.example.com:443/token", False, None),
    "the same host on another port is another place": (
        "https://r.example.com", "https://r.example.com:8443/token", False, Reason.UNTRUSTED_REALM),
    "plain HTTP on the own origin of a plain-HTTP registry that may use it": (
        "http://r.internal:5000", "http://r.internal:5000/token", True, None),
    "plain HTTP on the own origin of an HTTPS registry": (
        "https://r.example.com", "http://r.example.com:443/token", True, Reason.INSECURE),
    "a loopback registry's realm on the same loopback address, another port": (
        "http://127.0.0.1:5000", "http://127.0.0.1:5001/token", True, None),
    "another loopback address is another host": (
        "http://127.0.0.1:5000", "http://127.0.0.2:5000/token", True, Reason.INSECURE),
    "another host over plain HTTP, even when trusted and allowed plain HTTP": (
        "http://r.internal:5000", "http://auth.example.com/token", True, Reason.INSECURE),
    "another host over HTTPS, unknown": ("https://r.example.com", "https://evil.example/token", False,
                                         Reason.UNTRUSTED_REALM),
    "another host over HTTPS, trusted": ("https://r.example.com", "https://auth.example.com/token", False, None),
    "a trusted host without a port is trusted on 443 only": (
        "https://r.example.com", "https://auth.example.com:8443/token", False, Reason.UNTRUSTED_REALM),
    "a trusted host:port": ("https://r.example.com", "https://tokens.example.com:8443/t", False, None),
    "a trusted host:port on another port": (
        "https://r.example.com", "https://tokens.example.com/t", False, Reason.UNTRUSTED_REALM),
    "a trusted IPv6 realm": ("https://r.example.com", "https://[fd00::1]:444/t", False, None),
    "a name that merely ends like a trusted one": (
        "https://r.example.com", "https://evilauth.example.com/t", False, Reason.UNTRUSTED_REALM),
}


@pytest.mark.parametrize("case", REFUSALS, ids=str)
def test_which_realm_may_receive_the_credential(case: str) -> None:
    registry, realm, plain_http_allowed, expected = REFUSALS[case]
    refused = realms.refusal(url(registry), url(realm), trusted=TRUSTED, plain_http_allowed=plain_http_allowed)
    assert (None if refused is None else refused[0]) is expected


def test_trusted_realms_are_normalised_and_anything_else_is_invalid_input() -> None:
    parsed = realms.parse_trusted({"Auth.Example.com", "https://tokens.example.com:8443/", "[::1]:5001"})
    assert parsed == {"auth.example.com:443", "tokens.example.com:8443", "[::1]:5001"}
    for bad in ("http://auth.example.com", "auth.example.com/token", "user@auth.example.com", "", "a b",
                "auth.example.com:99999"):
        with pytest.raises(errors.InvalidInput) as raised:
            realms.parse_trusted({bad})
        assert raised.value.field == "trusted_realms"
    with pytest.raises(errors.InvalidInput):
        RegistryClient(trusted_realms=frozenset({"http://auth.example.com"}))


# Over real HTTP: a registry on 127.0.0.1 whose token realm is on 127.0.0.2 (another host).


@pytest.fixture(scope="module")
def two_hosts_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """One CA and one server certificate good for both 127.0.0.1 and 127.0.0.2."""
    return make_server_tls(tmp_path_factory.mktemp("realm-tls"), hosts=("127.0.0.1", "127.0.0.2", "localhost"))


def realm_script(canary: str) -> Callable[[SeenRequest, ScriptedServer], Answer]:
    expected = Credential(USER, Secret(canary)).basic_authorization().reveal()

    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.authorization != expected:
            return Answer(401, [("WWW-Authenticate", 'Basic realm="tokens"')], b"{}")
        return Answer(200, [("Content-Type", "application/json")], json.dumps({"token": "good.token"}).encode())

    return script


def registry_script(realm: str) -> Callable[[SeenRequest, ScriptedServer], Answer]:
    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.authorization == "Bearer good.token":
            return Answer(200, body=b"{}")
        header = f'Bearer realm="{realm}",service="realm-test"'
        return Answer(401, [("WWW-Authenticate", header), ("Content-Type", "application/json")], b"{}")

    return script


@pytest.fixture
def realm_server(two_hosts_tls: TlsFiles, canary: str) -> Iterator[ScriptedServer]:
    with ScriptedServer(realm_script(canary), host="127.0.0.2", tls=two_hosts_tls) as server:
        yield server


async def verify(registry: ScriptedServer, canary: str, **options: Any) -> VerificationResult:
    async with RegistryClient(**options) as client:
        return await client.verify(registry.netloc, credential=Credential(USER, Secret(canary)))


async def test_an_https_realm_on_an_unknown_host_is_refused_and_never_contacted(
    realm_server: ScriptedServer, two_hosts_tls: TlsFiles, canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(registry_script(f"{realm_server.url}/token"), tls=two_hosts_tls) as registry:
        refused = await verify(registry, canary, ca_file=two_hosts_tls.ca_file)
        other_port = await verify(registry, canary, ca_file=two_hosts_tls.ca_file,
                                  trusted_realms=frozenset({"127.0.0.2"}))  # 443 is not the realm's port
    assert refused.valid.reason is Reason.UNTRUSTED_REALM and refused.outcome is Outcome.UNREACHABLE
    assert other_port.valid.reason is Reason.UNTRUSTED_REALM
    assert realm_server.requests == []  # not contacted at all: no request, no credential
    assert refused.valid.detail is not None and USER not in refused.valid.detail
    no_leak(refused, other_port, refused.as_dict())


async def test_a_trusted_https_realm_on_another_host_gets_the_credential(
    realm_server: ScriptedServer, two_hosts_tls: TlsFiles, canary: str, no_leak: Callable[..., None]
) -> None:
    with ScriptedServer(registry_script(f"{realm_server.url}/token"), tls=two_hosts_tls) as registry:
        result = await verify(registry, canary, ca_file=two_hosts_tls.ca_file,
                              trusted_realms=frozenset({realm_server.netloc}))
    assert result.valid.ok and result.outcome is Outcome.VERIFIED
    assert [r.path.split("?")[0] for r in realm_server.requests] == ["/token"]
    no_leak(result)


async def test_an_http_realm_on_another_host_is_refused_even_when_trusted(
    two_hosts_tls: TlsFiles, canary: str, no_leak: Callable[..., None]
) -> None:
    # Both are loopback over plain HTTP, where the registry itself may be spoken to without TLS.
    plain_realm = ScriptedServer(realm_script(canary), host="127.0.0.2")
    with plain_realm, ScriptedServer(registry_script(f"{plain_realm.url}/token")) as registry:
        untrusted = await verify(registry, canary)
        trusted = await verify(registry, canary, trusted_realms=frozenset({plain_realm.netloc}))
    assert untrusted.valid.reason is Reason.INSECURE and trusted.valid.reason is Reason.INSECURE
    assert trusted.outcome is Outcome.UNREACHABLE
    assert plain_realm.requests == []
    no_leak(untrusted, trusted)


async def test_a_realm_on_the_registry_s_own_origin_keeps_working(canary: str, no_leak: Callable[..., None]) -> None:
    def script(request: SeenRequest, server: ScriptedServer) -> Answer:
        if request.path.startswith("/token"):
            return realm_script(canary)(request, server)
        return registry_script(f"{server.url}/token")(request, server)

    with ScriptedServer(script) as registry:
        result = await verify(registry, canary)
    assert result.valid.ok
    assert [r.path.split("?")[0] for r in registry.requests] == ["/v2/", "/token", "/v2/"]
    no_leak(result)
