"""The coarse outcome a tenant sees: ``Verified``, ``Unauthorized`` (the registry answered: wrong
credentials, or a right it does not grant) or ``Unreachable`` (every transport-level failure and every
refusal to talk), so that verifying is no port scanner. Detailed reasons stay for the operator's logs."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from tests.support.hostile import Answer, ScriptedServer, SilentServer
from tests.support.registries import RegistryServer, free_port

from shipway.adapters.registry import Check, Credential, Outcome, Reason, RegistryClient, VerificationResult
from shipway.adapters.registry.results import OUTCOMES
from shipway.core.secrets import Secret

TABLE = {
    Reason.UNAUTHORIZED: Outcome.UNAUTHORIZED,
    Reason.DENIED: Outcome.UNAUTHORIZED,
    Reason.NOT_FOUND: Outcome.UNAUTHORIZED,  # a repository missing, or hidden from this credential
    Reason.TLS: Outcome.UNREACHABLE,
    Reason.TIMEOUT: Outcome.UNREACHABLE,
    Reason.UNREACHABLE: Outcome.UNREACHABLE,
    Reason.BAD_RESPONSE: Outcome.UNREACHABLE,
    Reason.INSECURE: Outcome.UNREACHABLE,
    Reason.UNTRUSTED_REALM: Outcome.UNREACHABLE,
}


def test_every_reason_has_exactly_the_outcome_of_the_table() -> None:
    assert set(TABLE) == set(Reason) == set(OUTCOMES)
    for reason, outcome in TABLE.items():
        assert Check.failed(reason, "x").outcome is outcome
    assert Check.passed().outcome is Outcome.VERIFIED
    assert {str(o) for o in Outcome} == {"Verified", "Unauthorized", "Unreachable"}


def result(valid: Check, pull: Check | None = None, push: Check | None = None) -> VerificationResult:
    return VerificationResult("r", "a", "u", valid, pull, push, datetime.datetime.now(datetime.UTC))


def test_a_result_takes_the_outcome_of_its_first_failed_check() -> None:
    ok, denied, timeout = Check.passed(), Check.failed(Reason.DENIED), Check.failed(Reason.TIMEOUT)
    assert result(ok).outcome is Outcome.VERIFIED
    assert result(ok, ok, ok).outcome is Outcome.VERIFIED
    assert result(Check.failed(Reason.UNTRUSTED_REALM)).outcome is Outcome.UNREACHABLE
    assert result(ok, denied, timeout).outcome is Outcome.UNAUTHORIZED
    assert result(ok, ok, timeout).outcome is Outcome.UNREACHABLE
    assert result(ok, ok, denied).as_dict()["outcome"] == "Unauthorized"


async def test_real_answers_are_classified(
    htpasswd_registry: RegistryServer, tls_registry: RegistryServer, token_registry: RegistryServer,
    canary: str, new_user: Callable[[], str], no_leak: Callable[..., None],
) -> None:
    user = new_user()
    for registry in (htpasswd_registry, tls_registry):
        registry.add_user(user, canary)
    token_registry.add_user(user, canary, {"elsewhere/app": "pull"})
    right, wrong = Credential(user, Secret(canary)), Credential(user, Secret(canary + "-wrong"))
    with SilentServer() as silent, ScriptedServer(lambda r, s: Answer(404, body=b"<html>")) as web_server:
        async with RegistryClient(timeout=0.5, retries=0) as client:
            found = {
                "right": await client.verify(htpasswd_registry.host, credential=right),
                "wrong password": await client.verify(htpasswd_registry.host, credential=wrong),
                "a scope it lacks": await client.verify(token_registry.host, credential=right, repository="team/app"),
                "a certificate not trusted": await client.verify(tls_registry.host, credential=right),
                "nothing listening": await client.verify(f"127.0.0.1:{free_port()}", credential=right),
                "never answering": await client.verify(silent.netloc, credential=right),
                "not a registry": await client.verify(web_server.netloc, credential=right),
                "plain HTTP refused": await client.verify("http://registry.example.com", credential=right),
            }
    assert {case: r.outcome for case, r in found.items()} == {
        "right": Outcome.VERIFIED,
        "wrong password": Outcome.UNAUTHORIZED,
        "a scope it lacks": Outcome.UNAUTHORIZED,
        "a certificate not trusted": Outcome.UNREACHABLE,
        "nothing listening": Outcome.UNREACHABLE,
        "never answering": Outcome.UNREACHABLE,
        "not a registry": Outcome.UNREACHABLE,
        "plain HTTP refused": Outcome.UNREACHABLE,
    }
    # The operator's logs keep the detail that the tenant does not see.
    assert found["a certificate not trusted"].valid.reason is Reason.TLS
    assert found["never answering"].valid.reason is Reason.TIMEOUT
    assert found["not a registry"].valid.reason is Reason.BAD_RESPONSE
    no_leak(*found.values(), *(r.as_dict() for r in found.values()))


@pytest.mark.parametrize("status", [404, 500])
async def test_a_non_registry_answer_at_v2_is_unreachable(status: int, canary: str) -> None:
    with ScriptedServer(lambda r, s: Answer(status, body=b"nope")) as server:
        async with RegistryClient(retries=0) as client:
            found = await client.verify(server.netloc, credential=Credential("u", Secret(canary)))
    assert found.valid.reason is Reason.BAD_RESPONSE and found.outcome is Outcome.UNREACHABLE
