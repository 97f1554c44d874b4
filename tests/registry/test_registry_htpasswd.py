"""Credentials against a real htpasswd registry over plain HTTP on 127.0.0.1 (users changed live)."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import images
from tests.support.registries import RegistryServer

from shipway.adapters.registry import Credential, Reason, RegistryClient
from shipway.core.secrets import Secret


async def test_right_credentials_are_valid_and_may_pull_and_push(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    htpasswd_registry.add_user(user, canary)
    htpasswd_registry.push_image("team/app", "v1", username=user, password=canary)
    async with RegistryClient() as client:
        result = await client.verify(
            htpasswd_registry.host, credential=Credential(user, Secret(canary)),
            repository="team/app", reference="v1",
        )
    assert result.valid.ok and result.ok
    assert result.can_pull is not None and result.can_pull.ok and result.can_pull.detail is None
    assert result.can_push is not None and result.can_push.ok
    assert result.registry == htpasswd_registry.host and result.username == user
    no_leak(result, result.as_dict(), client)


async def test_a_missing_tag_still_proves_pull_rights(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    htpasswd_registry.add_user(user, canary)
    async with RegistryClient() as client:
        result = await client.verify(
            htpasswd_registry.host, credential=Credential(user, Secret(canary)), repository="never/pushed"
        )
    assert result.can_pull is not None and result.can_pull.ok
    assert result.can_pull.detail == "pull is allowed; latest does not exist yet"
    no_leak(result)


async def test_a_wrong_password_is_unauthorized_and_nothing_else_is_tried(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    htpasswd_registry.add_user(user, "the-right-one")
    async with RegistryClient() as client:
        result = await client.verify(
            htpasswd_registry.host, credential=Credential(user, Secret(canary)), repository="team/app"
        )
    assert not result.ok
    assert result.valid.reason is Reason.UNAUTHORIZED
    assert result.can_pull is None and result.can_push is None
    no_leak(result)


async def test_an_unknown_user_and_anonymous_access_are_unauthorized(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    async with RegistryClient() as client:
        unknown = await client.verify(htpasswd_registry.host, credential=Credential(new_user(), Secret(canary)))
        anonymous = await client.verify(htpasswd_registry.host)
    assert unknown.valid.reason is Reason.UNAUTHORIZED
    assert anonymous.valid.reason is Reason.UNAUTHORIZED and anonymous.username is None
    no_leak(unknown, anonymous)


async def test_rotation_new_user_added_and_old_removed_live(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    old, new = new_user(), new_user()
    old_password, new_password = canary, canary + "-rotated"
    htpasswd_registry.add_user(old, old_password)
    async with RegistryClient() as client:
        async def valid(user: str, password: str) -> Reason | None:
            result = await client.verify(htpasswd_registry.host, credential=Credential(user, Secret(password)))
            no_leak(result)
            return None if result.valid.ok else result.valid.reason

        assert await valid(old, old_password) is None
        assert await valid(new, new_password) is Reason.UNAUTHORIZED
        htpasswd_registry.add_user(new, new_password)  # overlap: both work
        assert await valid(old, old_password) is None
        assert await valid(new, new_password) is None
        htpasswd_registry.remove_user(old)  # the registry re-reads htpasswd: refused at once
        assert await valid(old, old_password) is Reason.UNAUTHORIZED
        assert await valid(new, new_password) is None


async def test_removed_credentials_are_refused_by_the_registry_and_by_skopeo(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    htpasswd_registry.add_user(user, canary)
    htpasswd_registry.push_image("removed/app", "v1", username=user, password=canary)
    authfile = htpasswd_registry.authfile(user, canary)
    assert images.skopeo_inspect(f"{htpasswd_registry.host}/removed/app:v1", authfile).returncode == 0
    htpasswd_registry.remove_user(user)
    async with RegistryClient() as client:
        result = await client.verify(
            htpasswd_registry.host, credential=Credential(user, Secret(canary)), repository="removed/app"
        )
    assert result.valid.reason is Reason.UNAUTHORIZED
    refused = images.skopeo_inspect(f"{htpasswd_registry.host}/removed/app:v1", authfile)
    assert refused.returncode != 0 and b"unauthorized" in refused.stderr.lower()
    no_leak(result)


async def test_localhost_is_loopback_and_tries_https_before_plain_http(
    htpasswd_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    htpasswd_registry.add_user(user, canary)
    async with RegistryClient() as client:
        result = await client.verify(
            f"localhost:{htpasswd_registry.port}", credential=Credential(user, Secret(canary))
        )
        explicit = await client.verify(
            f"http://127.0.0.1:{htpasswd_registry.port}", credential=Credential(user, Secret(canary))
        )
        https_only = await client.verify(
            f"https://127.0.0.1:{htpasswd_registry.port}", credential=Credential(user, Secret(canary))
        )
    assert result.valid.ok and explicit.valid.ok
    assert https_only.valid.reason is Reason.TLS  # asked for HTTPS, got plain text
    no_leak(result, explicit, https_only)
