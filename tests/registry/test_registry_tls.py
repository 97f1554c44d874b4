"""A real htpasswd registry over TLS, with a CA made by the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.registries import RegistryServer

from shipway.adapters.registry import Credential, Reason, RegistryClient
from shipway.core import errors
from shipway.core.secrets import Secret


async def test_with_the_ca_file_everything_passes(
    tls_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    tls_registry.add_user(user, canary)
    tls_registry.push_image("secure/app", "v1", username=user, password=canary)
    async with RegistryClient(ca_file=tls_registry.ca_file) as client:
        by_ip = await client.verify(
            tls_registry.host, credential=Credential(user, Secret(canary)), repository="secure/app",
            reference="v1",
        )
        by_name = await client.verify(
            f"https://localhost:{tls_registry.port}", credential=Credential(user, Secret(canary))
        )
        wrong = await client.verify(tls_registry.host, credential=Credential(user, Secret(canary + "x")))
    assert by_ip.ok and by_ip.can_pull is not None and by_ip.can_pull.ok and by_ip.can_push is not None
    assert by_name.valid.ok
    assert wrong.valid.reason is Reason.UNAUTHORIZED
    no_leak(by_ip, by_name, wrong)


async def test_without_the_ca_file_the_reason_is_tls_and_no_plain_http_fallback(
    tls_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    tls_registry.add_user(user, canary)
    async with RegistryClient() as client:
        result = await client.verify(
            tls_registry.host, credential=Credential(user, Secret(canary)), repository="secure/app"
        )
    assert result.valid.reason is Reason.TLS
    assert result.can_pull is None
    no_leak(result)


async def test_a_ca_file_that_is_not_a_certificate_is_invalid_input(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(errors.InvalidInput) as raised:
        RegistryClient(ca_file=bogus)
    assert raised.value.field == "ca_file"
