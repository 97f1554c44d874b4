"""A real registry with token auth; the token service is ours (RS256 JWTs, per-user scopes)."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.registries import RegistryServer

from shipway.adapters.registry import Credential, Reason, RegistryClient, TokenCache
from shipway.core.secrets import Secret


async def test_a_pull_only_user_may_pull_but_not_push(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    pusher, puller = new_user(), new_user()
    token_registry.add_user(pusher, canary + "-p", {"scoped/app": "pull,push"})
    token_registry.add_user(puller, canary, {"scoped/app": "pull"})
    token_registry.push_image("scoped/app", "v1", username=pusher, password=canary + "-p")
    async with RegistryClient() as client:
        result = await client.verify(
            token_registry.host, credential=Credential(puller, Secret(canary)), repository="scoped/app",
            reference="v1",
        )
    assert result.valid.ok
    assert result.can_pull is not None and result.can_pull.ok
    assert result.can_push is not None and result.can_push.reason is Reason.DENIED
    no_leak(result)


async def test_a_push_user_may_push_and_scopes_are_asked_for_explicitly(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    token_registry.add_user(user, canary, {"scoped/pushable": "pull,push"})
    assert token_registry.tokens is not None
    async with RegistryClient() as client:
        result = await client.verify(
            token_registry.host, credential=Credential(user, Secret(canary)), repository="scoped/pushable"
        )
    assert result.ok and result.can_push is not None and result.can_push.ok
    mine = [r for r in token_registry.tokens.requests if r.username == user]
    assert all(r.authenticated and r.service == token_registry.tokens.service for r in mine)
    assert [r.scopes for r in mine] == [
        (), ("repository:scoped/pushable:pull",), ("repository:scoped/pushable:pull,push",)
    ]
    no_leak(result)


async def test_a_user_without_a_grant_is_valid_but_denied(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    token_registry.add_user(user, canary, {"somewhere/else": "pull,push"})
    async with RegistryClient() as client:
        result = await client.verify(
            token_registry.host, credential=Credential(user, Secret(canary)), repository="scoped/app"
        )
    assert result.valid.ok
    assert result.can_pull is not None and result.can_pull.reason is Reason.DENIED
    assert result.can_push is not None and result.can_push.reason is Reason.DENIED
    no_leak(result)


async def test_a_wrong_password_is_refused_at_the_realm_even_though_anonymous_tokens_exist(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    token_registry.add_user(user, "right-password", {"scoped/app": "pull"})
    async with RegistryClient() as client:
        wrong = await client.verify(
            token_registry.host, credential=Credential(user, Secret(canary)), repository="scoped/app"
        )
        anonymous = await client.verify(token_registry.host, repository="scoped/app")
    assert wrong.valid.reason is Reason.UNAUTHORIZED and wrong.can_pull is None
    # An anonymous token is handed out, but it grants nothing.
    assert anonymous.valid.ok
    assert anonymous.can_pull is not None and anonymous.can_pull.reason is Reason.DENIED
    no_leak(wrong, anonymous)


async def test_a_revoked_user_is_refused_live(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    token_registry.add_user(user, canary, {"scoped/app": "pull"})
    async with RegistryClient() as client:
        before = await client.verify(token_registry.host, credential=Credential(user, Secret(canary)))
        token_registry.remove_user(user)
        after = await client.verify(token_registry.host, credential=Credential(user, Secret(canary)))
    assert before.valid.ok
    assert after.valid.reason is Reason.UNAUTHORIZED
    no_leak(before, after)


async def test_tokens_are_cached_per_scope_and_per_credential(
    token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    token_registry.add_user(user, canary, {"cached/app": "pull,push"})
    assert token_registry.tokens is not None
    cache = TokenCache()
    async with RegistryClient(token_cache=cache) as client:
        for _ in range(3):
            result = await client.verify(
                token_registry.host, credential=Credential(user, Secret(canary)), repository="cached/app"
            )
            assert result.ok
        fetched = [r for r in token_registry.tokens.requests if r.username == user]
        # The login token is fetched anew every time (validity is re-proved); pull and push come from cache.
        assert [r.scopes for r in fetched] == [
            (), ("repository:cached/app:pull",), ("repository:cached/app:pull,push",), (), ()
        ]
        token_registry.add_user(user, canary + "-2", {"cached/app": "pull"})  # the password rotates
        rotated = await client.verify(
            token_registry.host, credential=Credential(user, Secret(canary + "-2")), repository="cached/app"
        )
    assert rotated.can_push is not None and rotated.can_push.reason is Reason.DENIED
    assert len([r for r in token_registry.tokens.requests if r.username == user]) == 8
    no_leak(rotated, cache)


async def test_tokens_signed_with_an_x5c_header_are_accepted(
    x5c_token_registry: RegistryServer, canary: str, new_user: Callable[[], str], no_leak: Callable[..., None]
) -> None:
    user = new_user()
    x5c_token_registry.add_user(user, canary, {"x5c/app": "pull"})
    async with RegistryClient() as client:
        result = await client.verify(
            x5c_token_registry.host, credential=Credential(user, Secret(canary)), repository="x5c/app"
        )
    assert result.valid.ok and result.can_pull is not None and result.can_pull.ok
    assert result.can_push is not None and result.can_push.reason is Reason.DENIED
    no_leak(result)
