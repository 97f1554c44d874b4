"""Secret values never print, and the log filter masks what reaches a log record anyway."""

from __future__ import annotations

import io
import json
import logging
import pickle
import traceback
from collections.abc import Iterator

import pytest

from shipway.core import secrets
from shipway.core.dockerconfig import parse_docker_config
from shipway.core.secrets import MASK, RedactingFilter, Secret, install_redaction, redact_text

CANARY = "canary-7f3a-DO-NOT-LEAK"


# --- Secret --------------------------------------------------------------------------------------

SHOWN = [
    pytest.param(str, id="str is masked"),
    pytest.param(repr, id="repr is masked"),
    pytest.param(lambda s: format(s), id="format is masked"),
    pytest.param(lambda s: format(s, ">40"), id="format with a spec is masked"),
    pytest.param(lambda s: f"{s}", id="an f-string is masked"),
    pytest.param(lambda s: f"{s!r}", id="an f-string with !r is masked"),
    pytest.param(lambda s: f"{s!s:>30}", id="an f-string with !s and a spec is masked"),
    pytest.param(lambda s: "%s" % s, id="percent formatting is masked"),  # noqa: UP031
    pytest.param(lambda s: "{}".format(s), id="str.format is masked"),  # noqa: UP032
    pytest.param(lambda s: str([s, {"k": s}]), id="containers show the masked repr"),
]


@pytest.mark.parametrize("show", SHOWN)
def test_a_secret_is_masked_wherever_it_is_printed(show) -> None:
    text = show(Secret(CANARY))
    assert CANARY not in text
    assert MASK in text


def test_the_value_comes_out_only_through_reveal() -> None:
    secret = Secret(CANARY)
    assert secret.reveal() == CANARY
    assert len(secret) == len(CANARY)
    assert bool(secret) and not bool(Secret(""))


def test_secrets_compare_by_value_and_hash_alike() -> None:
    assert Secret(CANARY) == Secret(CANARY)
    assert Secret(CANARY) != Secret(CANARY + "x")
    assert Secret(CANARY) != CANARY
    assert hash(Secret(CANARY)) == hash(Secret(CANARY))
    assert len({Secret(CANARY), Secret(CANARY)}) == 1


def test_a_secret_wraps_only_text() -> None:
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_a_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(Secret(CANARY))


def test_a_secret_has_no_instance_dict_to_leak_through_vars() -> None:
    secret = Secret(CANARY)
    assert not hasattr(secret, "__dict__")


def test_auth_entries_mask_the_password_in_repr_and_str() -> None:
    (entry,) = parse_docker_config(json.dumps({"auths": {"quay.io": {"username": "u", "password": CANARY}}})).entries
    for text in (repr(entry), str(entry), f"{entry}", repr([entry]), repr(parse_docker_config(
            json.dumps({"auths": {"quay.io": {"username": "u", "password": CANARY}}})))):
        assert CANARY not in text
    assert "quay.io" in repr(entry) and MASK in repr(entry)


def test_an_exception_carrying_a_secret_prints_masked() -> None:
    try:
        raise RuntimeError(f"login failed with {Secret(CANARY)}", Secret(CANARY))
    except RuntimeError:
        assert CANARY not in traceback.format_exc()


# --- redaction -----------------------------------------------------------------------------------

REDACTIONS = [
    pytest.param(f"password is {CANARY}", CANARY, id="a known secret value is masked"),
    pytest.param(f"{CANARY}{CANARY}", CANARY, id="every occurrence is masked"),
    pytest.param("Authorization: Bearer eyJhbGciOi.abc-def_ghi", "eyJhbGciOi.abc-def_ghi",
                 id="a Bearer header is masked"),
    pytest.param("authorization: basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==",
                 id="a Basic header is masked, any case"),
    pytest.param("headers={'Authorization=Bearer tok3n-value'}", "tok3n-value",
                 id="an Authorization= form is masked"),
    pytest.param('{"username": "u", "password": "hunter2-unknown"}', "hunter2-unknown",
                 id="a password in JSON is masked even if never wrapped"),
    pytest.param('{"auth": "dXNlcjpodW50ZXIy"}', "dXNlcjpodW50ZXIy", id="an auth in JSON is masked"),
    pytest.param('{"token": "tkn-abc", "access_token": "acc-xyz"}', "tkn-abc", id="a token in JSON is masked"),
    pytest.param('{"access_token": "acc-xyz"}', "acc-xyz", id="an access_token in JSON is masked"),
    pytest.param('{".dockerconfigjson": "eyJhdXRocyI6e319"}', "eyJhdXRocyI6e319",
                 id="a dockerconfigjson payload is masked"),
]


@pytest.fixture(autouse=True)
def _fresh_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from a process that has wrapped only the canary (other tests wrap other values)."""
    monkeypatch.setattr(secrets, "KNOWN_SECRETS", secrets._KnownSecrets())
    Secret(CANARY)  # values wrapped once anywhere in the process are known to the filter


@pytest.mark.parametrize(("text", "secret"), REDACTIONS)
def test_redact_text(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted
    assert MASK in redacted


def test_redaction_leaves_innocent_text_alone() -> None:
    text = "pulled quay.io/org/app with user alice (fingerprint sha256:0123456789abcdef)"
    assert redact_text(text) == text


def test_short_values_are_not_remembered_so_innocent_text_survives() -> None:
    Secret("abc")
    assert redact_text("abcdef") == "abcdef"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.core.secrets")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.DEBUG)
    install_redaction(logger)
    yield logger, stream
    logger.handlers, logger.propagate = [], True


LOG_LINES = [
    pytest.param("using %s", (CANARY,), CANARY, id="a secret passed as a log argument"),
    pytest.param("using %(pw)s", ({"pw": CANARY},), CANARY, id="a secret passed as a mapping argument"),
    pytest.param(f"using {CANARY}", (), CANARY, id="a secret formatted into the message"),
    pytest.param("sending %s", ("Authorization: Bearer abc.def.ghi",), "abc.def.ghi", id="a Bearer header"),
    pytest.param("sending %s", ("authorization:basic dXNlcjpwdw==",), "dXNlcjpwdw==", id="a Basic header"),
    pytest.param("body %s", ('{"password": "never-wrapped-pw"}',), "never-wrapped-pw", id="a JSON password"),
]


@pytest.mark.parametrize(("template", "args", "secret"), LOG_LINES)
def test_the_filter_masks_log_records(logged: tuple[logging.Logger, io.StringIO], template: str,
                                      args: tuple[object, ...], secret: str) -> None:
    logger, stream = logged
    logger.info(template, *args)
    output = stream.getvalue()
    assert secret not in output
    assert output.startswith("INFO ") and MASK in output


def test_the_filter_masks_exception_tracebacks(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise ValueError(f'registry said {{"password": "tb-secret-value"}} for {CANARY}; '
                         "Authorization: Bearer tb-token-123")
    except ValueError:
        logger.exception("push failed for %s", CANARY)
    output = stream.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "ValueError" in output
    for secret in (CANARY, "tb-secret-value", "tb-token-123"):
        assert secret not in output


def test_the_filter_works_with_caplog(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.core.secrets.caplog")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("token %s and Authorization: Basic Zm9vOmJhcg==", CANARY)
        try:
            raise RuntimeError(CANARY)
        except RuntimeError:
            logger.error("failed", exc_info=True)
    assert CANARY not in caplog.text
    assert "Zm9vOmJhcg==" not in caplog.text
    assert "RuntimeError" in caplog.text
    assert [r.levelname for r in caplog.records] == ["INFO", "ERROR"]


def test_a_broken_format_string_still_logs_the_masked_template(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info(f"value {CANARY} %s %s", "only-one")
    output = stream.getvalue()
    assert CANARY not in output
    assert "value" in output


def test_install_redaction_adds_one_filter_per_handler() -> None:
    logger = logging.getLogger("tests.core.secrets.install")
    handler = logging.StreamHandler(io.StringIO())
    logger.handlers = [handler]
    try:
        install_redaction(logger)
        install_redaction(logger)
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        logger.handlers = []
