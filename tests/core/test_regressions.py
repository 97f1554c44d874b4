"""Regression tests for bugs found by the core test suite, each against the kubelet's behaviour or the
documented contract."""

from __future__ import annotations

import json
import logging

import pytest

from shipway.core import globs
from shipway.core.dockerconfig import parse_docker_config
from shipway.core.documents import docker_configs_of_document, load_yaml_documents, source_of_secret
from shipway.core.errors import InvalidInput, RegistryHostError
from shipway.core.keyring import Keyring
from shipway.core.layers import SourceProblem
from shipway.core.names import Reason
from shipway.core.registry_keys import validate_key
from shipway.core.resources import SecretRef
from shipway.core.secrets import RedactingFilter, Secret, redact_text


def _keyring(*keys: str) -> Keyring:
    auths = {key: {"username": f"user{i}", "password": "pw-long-enough"} for i, key in enumerate(keys)}
    return Keyring([parse_docker_config(json.dumps({"auths": auths})).entries])


def _matched(keyring: Keyring, image: str) -> list[str]:
    return [m.entry.key for m in keyring.lookup(image)]


def test_v2_in_an_image_path_is_part_of_the_path_not_stripped_like_a_key_prefix() -> None:
    assert _matched(_keyring("registry.example.com/app"), "registry.example.com/v2/app") == []
    assert _matched(_keyring("registry.example.com/v2/v2/app"), "registry.example.com/v2/app") == [
        "registry.example.com/v2/v2/app"]


def test_a_reversed_range_is_not_an_error_and_never_matches() -> None:
    assert globs.match("x[c-a]", "xb") is False
    validate_key("x[c-a].example.com", field="k")
    assert _matched(_keyring("x[c-a].example.com"), "xb.example.com/app") == []


@pytest.mark.parametrize("pattern", ["[^-a]", "[a-c-e]", "[]a]", "[a"])
def test_patterns_go_rejects_are_refused_on_input(pattern: str) -> None:
    with pytest.raises(RegistryHostError, match="malformed glob"):
        validate_key(f"x{pattern}.example.com", field="k")


def test_a_trailing_backslash_is_a_bad_pattern() -> None:
    with pytest.raises(globs.BadPattern):
        globs.validate("a\\")


def test_a_lone_closing_bracket_is_a_literal_as_in_go() -> None:
    assert globs.match("a]", "a]") is True


def test_ipv6_keys_keep_their_brackets_in_the_index_and_still_match() -> None:
    keyring = _keyring("[::1]:5000")
    assert keyring.index == ("[::1]:5000",)
    assert _matched(keyring, "[::1]:5000/app") == ["[::1]:5000"]


def test_deep_nesting_is_a_clear_error_not_a_recursion_crash() -> None:
    with pytest.raises(InvalidInput, match="nested too deeply"):
        parse_docker_config("[" * 200_000)
    with pytest.raises(InvalidInput, match="nested too deeply"):
        load_yaml_documents(b"[" * 100_000, where="f")


def test_a_bare_config_json_with_tabs_and_escaped_surrogates_is_read_as_json() -> None:
    text = '{\n\t"auths": {\n\t\t"ghcr.io": {"username": "u", "password": "p\\ud83d\\ude00"}\n\t}\n}'
    [config] = docker_configs_of_document(text.encode(), where="config.json")
    assert config.entries[0].password.reveal() == "p\U0001F600"


def test_a_key_with_user_info_is_refused() -> None:
    with pytest.raises(RegistryHostError, match="user name or password"):
        validate_key("https://alice:secret-pw@quay.io", field="k")


def test_a_secret_too_deep_to_parse_is_a_finding_not_a_crash() -> None:
    secret = {"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "[" * 200_000}}
    found = source_of_secret(secret, ref=SecretRef(namespace="a", name="b"))
    assert isinstance(found, SourceProblem) and found.reason == Reason.INVALID_DOCKER_CONFIG


def test_redaction_masks_fields_and_headers_in_json_and_python_reprs_whatever_was_remembered() -> None:
    Secret("password")  # a remembered value that occurs inside a field name: masked too, but nothing leaks
    assert "hunter2" not in redact_text('{"password": "hunter2"}')
    assert "hunter2" not in redact_text("{'password': 'hunter2'}")
    assert redact_text('{"Authorization": "Bearer abc.def"}') == '{"Authorization": "Bearer ***"}'
    assert "Zm9v" not in redact_text("{'authorization': 'Basic Zm9vOmJhcg=='}")


def test_short_remembered_values_do_not_corrupt_innocent_text() -> None:
    Secret("quay")
    assert redact_text("quay.io/org") == "quay.io/org"


def test_the_log_filter_masks_a_dict_logged_with_a_password(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("shipway.test.regressions")
    caplog.handler.addFilter(RedactingFilter())
    logger.warning("payload %s", {"password": "hunter2-xyz"})
    assert "hunter2-xyz" not in caplog.text
