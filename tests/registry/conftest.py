"""Pytest fixtures around :mod:`tests.support.registries`: real registries, started once per session."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator

import pytest
from tests.support import registries
from tests.support.tls import TlsFiles, make_server_tls

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    """A registry with htpasswd users over plain HTTP on 127.0.0.1."""
    directory = tmp_path_factory.mktemp("registry-htpasswd")
    yield from registries.running(lambda: registries.start_htpasswd_registry(directory))


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    """A registry with htpasswd users over TLS; ``tls_registry.ca_file`` is the CA that signed it."""
    directory = tmp_path_factory.mktemp("registry-tls")
    yield from registries.running(lambda: registries.start_htpasswd_registry(directory, tls=True))


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    """A registry with token auth; its token service (``.tokens``) names its signer by libtrust ``kid``."""
    directory = tmp_path_factory.mktemp("registry-token")
    yield from registries.running(lambda: registries.start_token_registry(directory, key_id="kid"))


@pytest.fixture(scope="session")
def x5c_token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registries.RegistryServer]:
    """Token auth whose tokens carry the signer certificate in ``x5c``."""
    directory = tmp_path_factory.mktemp("registry-token-x5c")
    yield from registries.running(lambda: registries.start_token_registry(directory, key_id="x5c"))


@pytest.fixture(scope="session")
def hostile_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """TLS files for hostile servers on 127.0.0.1."""
    return make_server_tls(tmp_path_factory.mktemp("hostile-tls"))


@pytest.fixture
def canary(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    """A password planted in the test; no log line of the test may carry it."""
    caplog.set_level(logging.DEBUG)
    value = f"canary-{secrets.token_urlsafe(12)}"
    yield value
    assert value not in caplog.text, "a password reached a log line"


@pytest.fixture
def new_user() -> Callable[[], str]:
    """A fresh user name per call, so tests sharing a session registry never collide."""
    return lambda: f"u{secrets.token_hex(5)}"


def assert_no_leak(canary: str, *things: object) -> None:
    for thing in things:
        for text in (repr(thing), str(thing)):
            assert canary not in text, f"the canary leaked in {type(thing).__name__}"


@pytest.fixture
def no_leak(canary: str) -> Callable[..., None]:
    return lambda *things: assert_no_leak(canary, *things)
