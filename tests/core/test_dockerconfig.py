"""Docker config payloads: both formats, ``auth`` decoding, and every refusal with the field at fault."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shipway.core.dockerconfig import (
    MAX_PAYLOAD_BYTES,
    AuthEntry,
    ConfigFormat,
    parse_docker_config,
    render_dockerconfigjson,
)
from shipway.core.errors import DockerConfigError, InvalidInput, PayloadTooLarge, RegistryHostError, ShipwayError


def b64(text: str, *, padded: bool = True) -> str:
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return encoded if padded else encoded.rstrip("=")


def creds(entry: AuthEntry) -> tuple[str, str, str, str | None]:
    return entry.key, entry.username, entry.password.reveal(), entry.email


# --- the two formats -----------------------------------------------------------------------------


def test_dockerconfigjson_has_an_auths_wrapper() -> None:
    config = parse_docker_config(json.dumps({"auths": {
        "quay.io": {"username": "alice", "password": "s3cret", "email": "a@example.com"},
        "https://index.docker.io/v1/": {"username": "bob", "password": "hub"},
    }}))
    assert config.format is ConfigFormat.DOCKERCONFIGJSON
    assert [creds(e) for e in config.entries] == [
        ("quay.io", "alice", "s3cret", "a@example.com"),
        ("https://index.docker.io/v1/", "bob", "hub", None),
    ]
    assert [e.registry.text for e in config.entries] == ["quay.io", "index.docker.io"]


def test_legacy_dockercfg_has_no_wrapper() -> None:
    config = parse_docker_config(b'{"https://ghcr.io/v2/team": {"username": "u", "password": "p"}}')
    assert config.format is ConfigFormat.DOCKERCFG
    assert [creds(e) for e in config.entries] == [("https://ghcr.io/v2/team", "u", "p", None)]
    assert config.entries[0].registry.text == "ghcr.io/team"


def test_the_format_can_be_forced() -> None:
    payload = '{"quay.io": {"username": "u", "password": "p"}}'
    assert parse_docker_config(payload, format=ConfigFormat.DOCKERCFG).format is ConfigFormat.DOCKERCFG


def test_a_dockerconfigjson_payload_without_auths_is_refused_when_that_format_is_required() -> None:
    with pytest.raises(DockerConfigError, match="auths") as error:
        parse_docker_config('{"quay.io": {"username": "u", "password": "p"}}', format=ConfigFormat.DOCKERCONFIGJSON,
                            field="Secret a/b.data[.dockerconfigjson]")
    assert error.value.field == "Secret a/b.data[.dockerconfigjson]"


def test_a_dockercfg_payload_with_an_auths_wrapper_is_refused() -> None:
    with pytest.raises(DockerConfigError, match="no 'auths' wrapper"):
        parse_docker_config('{"auths": {"quay.io": {"username": "u", "password": "p"}}}',
                            format=ConfigFormat.DOCKERCFG)


def test_an_empty_auths_object_is_an_empty_config() -> None:
    assert parse_docker_config('{"auths": {}}').entries == ()


def test_bytes_and_text_give_the_same_result() -> None:
    payload = '{"auths": {"quay.io": {"username": "ü", "password": "p"}}}'
    assert [creds(e) for e in parse_docker_config(payload).entries] == [
        creds(e) for e in parse_docker_config(payload.encode("utf-8")).entries
    ]


# --- auth ----------------------------------------------------------------------------------------

AUTHS = [
    pytest.param({"auth": b64("user:pass")}, ("user", "pass"), id="padded auth is decoded"),
    pytest.param({"auth": b64("user:pw", padded=False)}, ("user", "pw"), id="unpadded auth is decoded"),
    pytest.param({"auth": b64("user:pw:with:colons")}, ("user", "pw:with:colons"),
                 id="auth splits at the first colon only"),
    pytest.param({"auth": b64(":only-password")}, ("", "only-password"), id="auth with an empty username"),
    pytest.param({"auth": b64("user:pass"), "username": "other", "password": "ignored"}, ("user", "pass"),
                 id="auth overrides username and password"),
    pytest.param({"username": "u", "password": "p", "auth": ""}, ("u", "p"),
                 id="an empty auth leaves username and password"),
    pytest.param({"username": "u", "password": "p", "email": "e@x"}, ("u", "p"), id="email is accepted"),
    pytest.param({"username": "u", "password": "p", "serveraddress": "quay.io"}, ("u", "p"),
                 id="serveraddress is accepted"),
    pytest.param({"username": "u", "password": "p", "identitytoken": ""}, ("u", "p"),
                 id="an empty identitytoken is harmless"),
]


@pytest.mark.parametrize(("entry", "expected"), AUTHS)
def test_auth_entry_credentials(entry: dict[str, Any], expected: tuple[str, str]) -> None:
    (parsed,) = parse_docker_config(json.dumps({"auths": {"quay.io": entry}})).entries
    assert (parsed.username, parsed.password.reveal()) == expected


# --- refusals ------------------------------------------------------------------------------------

ROOT = "dockerconfig"
Q = f"{ROOT}.auths[0]"


def ok(**fields: Any) -> dict[str, Any]:
    return {"username": "u", "password": "p", **fields}


REFUSALS = [
    pytest.param({"auths": {}, "credHelpers": {"quay.io": "desktop"}}, DockerConfigError, f"{ROOT}.credHelpers",
                 "credHelpers", id="credHelpers is refused"),
    pytest.param({"auths": {}, "credsStore": "desktop"}, DockerConfigError, f"{ROOT}.credsStore", "credsStore",
                 id="credsStore is refused"),
    pytest.param({"auths": {"quay.io": {"identitytoken": "tok"}}}, DockerConfigError, f"{Q}.identitytoken",
                 "identitytoken", id="identitytoken is refused"),
    pytest.param({"auths": {"quay.io": ok(registrytoken="tok")}}, DockerConfigError, f"{Q}.registrytoken",
                 "registrytoken", id="registrytoken is refused even next to a password"),
    pytest.param({"auths": {"quay.io": {"auth": "!!not base64!!"}}}, DockerConfigError, f"{Q}.auth", "base64",
                 id="auth that is not base64 is refused"),
    pytest.param({"auths": {"quay.io": {"auth": b64("user:pw")[:-1]}}}, DockerConfigError, f"{Q}.auth", "base64",
                 id="auth with broken padding is refused"),
    pytest.param({"auths": {"quay.io": {"auth": b64("no-colon-here")}}}, DockerConfigError, f"{Q}.auth", "':'",
                 id="auth with no colon is refused"),
    pytest.param({"auths": {"quay.io": {"auth": base64.b64encode(b"\xff:\xfe").decode()}}}, DockerConfigError,
                 f"{Q}.auth", "UTF-8", id="auth that is not UTF-8 is refused"),
    pytest.param({"auths": {"quay.io": {"auth": 5}}}, DockerConfigError, f"{Q}.auth", "string",
                 id="a non-string auth is refused"),
    pytest.param({"auths": {"quay.io": {"username": ["u"], "password": "p"}}}, DockerConfigError,
                 f"{Q}.username", "string", id="a non-string username is refused"),
    pytest.param({"auths": {"quay.io": ok(password=1)}}, DockerConfigError, f"{Q}.password", "string",
                 id="a non-string password is refused"),
    pytest.param({"auths": {"quay.io": ok(token="t")}}, DockerConfigError, Q, "1 unknown field",
                 id="an unknown entry field is refused"),
    pytest.param({"auths": {"quay.io": {}}}, DockerConfigError, Q, "no credentials", id="an empty entry is refused"),
    pytest.param({"auths": {"quay.io": {"username": "", "password": ""}}}, DockerConfigError, Q,
                 "no credentials", id="an entry with empty username and password is refused"),
    pytest.param({"auths": {"quay.io": {"email": "e@x"}}}, DockerConfigError, Q, "no credentials",
                 id="an entry with only an email is refused"),
    pytest.param({"auths": {"quay.io": "user:pass"}}, DockerConfigError, Q, "JSON object",
                 id="an entry that is not an object is refused"),
    pytest.param({"auths": ["quay.io"]}, DockerConfigError, f"{ROOT}.auths", "JSON object",
                 id="auths that is not an object is refused"),
    pytest.param(["quay.io"], DockerConfigError, ROOT, "JSON object", id="a document that is not an object"),
    pytest.param({"auths": {"": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "non-empty",
                 id="an empty host is refused"),
    pytest.param({"auths": {" quay.io": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "spaces",
                 id="a host with surrounding spaces is refused"),
    pytest.param({"auths": {"https://": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "registry host",
                 id="a scheme with no host is refused"),
    pytest.param({"auths": {"quay..io": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "empty label",
                 id="an empty label is refused"),
    pytest.param({"auths": {"quay_io$": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "registry host",
                 id="a host with invalid characters is refused"),
    pytest.param({"auths": {"ftp://quay.io": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "scheme",
                 id="a scheme other than http or https is refused"),
    pytest.param({"auths": {"reg?.example.com": ok()}}, RegistryHostError, f"{ROOT}.auths[0]",
                 "'?'", id="a ? in the host is refused"),
    pytest.param({"auths": {"reg[istry.example.com": ok()}}, RegistryHostError,
                 f"{ROOT}.auths[0]", "malformed glob", id="an unclosed class is refused"),
    pytest.param({"auths": {"reg[].example.com": ok()}}, RegistryHostError, f"{ROOT}.auths[0]",
                 "malformed glob", id="an empty class is refused"),
    pytest.param({"auths": {"reg[a-].example.com": ok()}}, RegistryHostError,
                 f"{ROOT}.auths[0]", "malformed glob", id="a range with no end is refused"),
    pytest.param({"auths": {"[::1]": ok()}}, RegistryHostError, f"{ROOT}.auths[0]", "port",
                 id="a bracketed IPv6 host without a port is refused"),
    pytest.param({"auths": {"registry.example.com:70000": ok()}}, RegistryHostError,
                 f"{ROOT}.auths[0]", "out of range", id="a port over 65535 is refused"),
    pytest.param({"auths": {"registry.example.com:0": ok()}}, RegistryHostError,
                 f"{ROOT}.auths[0]", "out of range", id="port 0 is refused"),
    pytest.param({"auths": {"registry.example.com:http": ok()}}, RegistryHostError,
                 f"{ROOT}.auths[0]", "not a number", id="a non-numeric port is refused"),
    pytest.param({"auths": {"registry.example.com:": ok()}}, None, None, None,
                 id="an empty port after a colon is read as no port"),
]


@pytest.mark.parametrize(("document", "error", "field", "words"), REFUSALS)
def test_refusals_name_the_field(document: Any, error: type[ShipwayError] | None, field: str | None,
                                 words: str | None) -> None:
    payload = json.dumps(document)
    if error is None:
        (entry,) = parse_docker_config(payload).entries
        assert entry.registry.port == ""
        return
    with pytest.raises(error) as raised:
        parse_docker_config(payload)
    assert isinstance(raised.value, InvalidInput)
    assert raised.value.field == field
    assert words in raised.value.message
    assert str(raised.value).startswith(f"{field}: ")


def test_malformed_json_is_refused_with_the_line() -> None:
    with pytest.raises(DockerConfigError, match=r"not valid JSON: .* at line 2") as error:
        parse_docker_config('{"auths":\n {"quay.io": }}', field="secret.yaml")
    assert error.value.field == "secret.yaml"


def test_non_utf8_bytes_are_refused() -> None:
    with pytest.raises(DockerConfigError, match=r"not UTF-8 \(byte 10\)") as error:
        parse_docker_config(b'{"auths": \xff}')
    assert error.value.field == "dockerconfig"


def test_a_payload_over_one_mebibyte_is_refused() -> None:
    payload = b'{"auths": {}}' + b" " * (MAX_PAYLOAD_BYTES - 12)
    assert len(payload) == MAX_PAYLOAD_BYTES + 1
    with pytest.raises(PayloadTooLarge, match="over the limit") as error:
        parse_docker_config(payload)
    assert error.value.field == "dockerconfig"


def test_a_payload_of_exactly_one_mebibyte_is_accepted() -> None:
    payload = b'{"auths": {}}' + b" " * (MAX_PAYLOAD_BYTES - 13)
    assert len(payload) == MAX_PAYLOAD_BYTES
    assert parse_docker_config(payload).entries == ()


def test_nothing_is_returned_half_parsed() -> None:
    payload = json.dumps({"auths": {"quay.io": ok(), "ghcr.io": {"auth": "%%%"}}})
    with pytest.raises(DockerConfigError, match="base64") as error:
        parse_docker_config(payload)
    assert error.value.field == f"{ROOT}.auths[1].auth"


def test_error_messages_never_carry_the_password() -> None:
    canary = "canary-7f3a-DO-NOT-LEAK"
    bad = [
        {"auths": {"quay.io": {"username": "u", "password": canary, "bogus": canary}}},
        {"auths": {"quay.io": {"auth": b64(canary)}}},
        {"auths": {"quay.io": {"auth": canary + "!"}}},
        {"auths": {"quay.io": {"password": canary, "identitytoken": canary}}},
    ]
    for document in bad:
        with pytest.raises(ShipwayError) as error:
            parse_docker_config(json.dumps(document))
        assert canary not in str(error.value)
        assert canary not in repr(error.value)


# --- rendering -----------------------------------------------------------------------------------


def test_render_round_trips_through_parse() -> None:
    original = parse_docker_config(json.dumps({"auths": {
        "quay.io": {"username": "alice", "password": "p:with:colons", "email": "a@example.com"},
        "https://index.docker.io/v1/": {"auth": b64("bob:hub-token")},
        "*.example.com:5000": {"username": "", "password": "only-password"},
        "ghcr.io/team": {"username": "ünï", "password": "çødé"},
    }}))
    rendered = render_dockerconfigjson(original.entries)
    again = parse_docker_config(rendered)
    assert again.format is ConfigFormat.DOCKERCONFIGJSON
    assert sorted(creds(e) for e in again.entries) == sorted(creds(e) for e in original.entries)
    assert {e.key: e.registry for e in again.entries} == {e.key: e.registry for e in original.entries}


def test_render_writes_auth_and_username_password_that_agree() -> None:
    (entry,) = parse_docker_config('{"quay.io": {"auth": "' + b64("alice:pw") + '"}}').entries
    document = json.loads(render_dockerconfigjson([entry]))
    assert document == {"auths": {"quay.io": {"username": "alice", "password": "pw", "auth": b64("alice:pw")}}}


def test_render_is_canonical_and_independent_of_entry_order() -> None:
    entries = parse_docker_config(json.dumps({"auths": {
        "quay.io": ok(), "ghcr.io": ok(email="e@x"), "a.example.com": ok(),
    }})).entries
    first = render_dockerconfigjson(entries)
    assert first == render_dockerconfigjson(reversed(entries))
    assert list(json.loads(first)["auths"]) == ["a.example.com", "ghcr.io", "quay.io"]
    assert b" " not in first


def test_render_of_nothing_is_an_empty_auths_object() -> None:
    assert json.loads(render_dockerconfigjson([])) == {"auths": {}}


def test_an_unknown_field_name_is_not_echoed_since_it_may_be_a_secret() -> None:
    payload = json.dumps({"auths": {"quay.io": {"username": "u", "password": "p", "canary-as-a-key": "x"}}})
    with pytest.raises(DockerConfigError) as caught:
        parse_docker_config(payload)
    assert "canary-as-a-key" not in str(caught.value)
