"""The pure parts of the registry client: challenges, addresses, the token cache. Sentence-named cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipway.adapters.registry import addresses, challenges, tokens
from shipway.adapters.registry.credentials import Credential
from shipway.core import errors
from shipway.core.secrets import Secret

CHALLENGES = {
    "a bearer challenge with realm and service": (
        ['Bearer realm="https://auth.example.com/token",service="registry.example.com"'],
        [("bearer", {"realm": "https://auth.example.com/token", "service": "registry.example.com"})],
    ),
    "quoted values may hold commas and escaped quotes": (
        ['Bearer realm="https://a/t?x=1,2", scope="repository:a:pull,push", error="say \\"hi\\""'],
        [("bearer", {"realm": "https://a/t?x=1,2", "scope": "repository:a:pull,push", "error": 'say "hi"'})],
    ),
    "several challenges in one header, token68 included": (
        ['Negotiate abc==, Basic realm="r", Bearer realm="x"'],
        [("negotiate", {"token68": "abc=="}), ("basic", {"realm": "r"}), ("bearer", {"realm": "x"})],
    ),
    "several headers, schemes case-insensitive, spaces around equals": (
        ["BASIC realm = r", "bearer Realm=\"x\""],
        [("basic", {"realm": "r"}), ("bearer", {"realm": "x"})],
    ),
    "a scheme without parameters": (["Basic"], [("basic", {})]),
    "an empty value alone reads as token68 (and Bearer then has no realm)": (
        ["Bearer realm="], [("bearer", {"token68": "realm="})],
    ),
}
BROKEN = {
    "an unterminated quoted string": 'Bearer realm="x',
    "a parameter repeated": 'Bearer realm="a",realm="b"',
    "an empty value after a parameter": 'Bearer realm="a", service=',
    "a quoted scheme": '"Bearer" realm="x"',
    "an empty header": "",
    "control characters in a quoted value": 'Bearer realm="a\r\nb"',
    "a header over the size limit": "Bearer realm=" + "x" * 9000,
}


@pytest.mark.parametrize("case", CHALLENGES, ids=str)
def test_challenges_that_parse(case: str) -> None:
    headers, expected = CHALLENGES[case]
    parsed = challenges.parse_challenges(headers)
    assert parsed is not None
    assert [(c.scheme, dict(c.params)) for c in parsed] == expected


@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_challenges_that_do_not_parse_yield_none(case: str) -> None:
    assert challenges.parse_challenges([BROKEN[case]]) is None


@given(st.lists(st.text(max_size=200), max_size=3))
def test_no_header_makes_the_parser_raise(headers: list[str]) -> None:
    challenges.parse_challenges(headers)


def test_bearer_is_preferred_to_basic_and_needs_a_realm() -> None:
    parsed = challenges.parse_challenges(['Basic realm="r", Bearer service="s"', 'Bearer realm="x"'])
    assert parsed is not None
    chosen = challenges.pick_challenge(parsed)
    assert chosen is not None and chosen.scheme == "bearer" and chosen.get("realm") == "x"


ADDRESSES = {
    "host:port": ("127.0.0.1:5000", ("127.0.0.1", 5000, None)),
    "a scheme and a /v2/ suffix are understood": (
        "https://Registry.Example.com/v2/", ("registry.example.com", None, "https")
    ),
    "an IPv6 address in brackets": ("[::1]:5000", ("::1", 5000, None)),
    "docker hub names its API host": ("docker.io", ("registry-1.docker.io", None, None)),
}


@pytest.mark.parametrize("case", ADDRESSES, ids=str)
def test_registry_addresses(case: str) -> None:
    text, (host, port, scheme) = ADDRESSES[case]
    address = addresses.parse_registry(text)
    assert (address.host, address.port, address.scheme) == (host, port, scheme)


@pytest.mark.parametrize("text", ["", "a b", "host:0", "host:99999", "user@host", "host/path", "-bad.com", "::1"])
def test_bad_registry_addresses_are_invalid_input(text: str) -> None:
    with pytest.raises(errors.RegistryHostError):
        addresses.parse_registry(text)


@pytest.mark.parametrize(
    ("registry", "insecure", "schemes"),
    [
        ("registry.example.com", frozenset(), ("https",)),
        ("registry.example.com", frozenset({"registry.example.com"}), ("https", "http")),
        ("registry.example.com:5000", frozenset({"registry.example.com:5000"}), ("https", "http")),
        ("localhost:5000", frozenset(), ("https", "http")),
        ("127.8.9.10", frozenset(), ("https", "http")),
        ("[::1]:5000", frozenset(), ("https", "http")),
        ("http://registry.example.com", frozenset(), ()),
        ("http://127.0.0.1:5000", frozenset(), ("http",)),
        ("https://127.0.0.1:5000", frozenset(), ("https",)),
    ],
)
def test_plain_http_only_where_docker_allows_it(
    registry: str, insecure: frozenset[str], schemes: tuple[str, ...]
) -> None:
    assert addresses.schemes_to_try(addresses.parse_registry(registry), insecure) == schemes


@pytest.mark.parametrize("name", ["a", "team/app", "a.b_c__d-e/f--g"])
def test_valid_repositories(name: str) -> None:
    assert addresses.validate_repository(name) == name


@pytest.mark.parametrize("name", ["", "Upper", "a//b", "/a", "a/", "a..b", "../etc"])
def test_invalid_repositories(name: str) -> None:
    with pytest.raises(errors.ImageReferenceError):
        addresses.validate_repository(name)


def test_the_token_cache_honours_expiry_and_exact_scope() -> None:
    now = [1000.0]
    cache = tokens.TokenCache(clock=lambda: now[0])
    pull = tokens.TokenKey("https://r", "svc", "repository:a:pull", "fp")
    push = tokens.TokenKey("https://r", "svc", "repository:a:pull,push", "fp")
    other_credential = tokens.TokenKey("https://r", "svc", "repository:a:pull", "fp2")
    cache.put(pull, tokens.Token(Secret("t-pull-value"), expires_in=60))
    assert cache.get(pull) == Secret("t-pull-value")
    assert cache.get(push) is None and cache.get(other_credential) is None
    now[0] += 54
    assert cache.get(pull) is not None
    now[0] += 1
    assert cache.get(pull) is None  # 60 s less the 5 s margin


def test_token_answers_are_parsed_strictly() -> None:
    token = tokens.parse_token_body(b'{"access_token": "abc.def", "expires_in": 300}')
    assert token is not None and token.value.reveal() == "abc.def" and token.expires_in == 300
    defaulted = tokens.parse_token_body(b'{"token": "abc", "expires_in": "soon"}')
    assert defaulted is not None and defaulted.expires_in == tokens.DEFAULT_EXPIRES_IN
    assert "abc" not in repr(defaulted)
    assert tokens.parse_token_body(b'{"token": "a b"}') is None
    assert tokens.parse_token_body(b"[[[[" * 10) is None


def test_fingerprints_differ_per_credential_and_reveal_nothing() -> None:
    a = tokens.fingerprint("u", Secret("password-one"))
    assert a != tokens.fingerprint("u", Secret("password-two")) != tokens.fingerprint("v", Secret("password-one"))
    assert "password-one" not in a and tokens.fingerprint(None, None) == "anonymous"


def test_credentials_mask_the_password_and_refuse_bad_user_names() -> None:
    credential = Credential("user", Secret("hunter2-secret"))
    assert "hunter2-secret" not in repr(credential) and "hunter2-secret" not in str(credential)
    assert "hunter2-secret" not in repr(credential.basic_authorization())
    for username in ("", "a:b", "a\nb"):
        with pytest.raises(errors.InvalidInput):
            Credential(username, Secret("x"))
