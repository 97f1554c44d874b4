"""The seam for authentication and authorization (hooks only; no policy is built in yet).

A later addition answers TokenReview/SubjectAccessReview from RBAC objects stored in the emulator,
keyed by tokens from a users.yaml: it plugs in as an :class:`Authenticator` and an :class:`Authorizer`.
With neither hook installed, every request is admitted, as with ``--authorization-mode=AlwaysAllow``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol

from shipway.sandbox.emulator import errors


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserInfo:
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestAttributes:
    """What an authorizer decides on, as in a SubjectAccessReview's ``resourceAttributes``."""

    verb: str
    group: str
    version: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None


class Authenticator(Protocol):
    async def __call__(self, headers: Mapping[str, str]) -> UserInfo | None:
        """The user of a request, or None when its credentials are not valid (401)."""


class Authorizer(Protocol):
    async def __call__(self, user: UserInfo, attributes: RequestAttributes) -> bool:
        """Whether the user may do this (403 when not)."""


async def admit(headers: Mapping[str, str], attributes: RequestAttributes, *,
                authenticator: Authenticator | None, authorizer: Authorizer | None) -> None:
    if authenticator is None:
        return
    user = await authenticator(headers)
    if user is None:
        raise errors.Unauthorized("Unauthorized")
    if authorizer is not None and not await authorizer(user, attributes):
        target = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
        scope = f' in the namespace "{attributes.namespace}"' if attributes.namespace else " at the cluster scope"
        raise errors.Forbidden(f'{target} is forbidden: User "{user.username}" cannot {attributes.verb}'
                               f' resource "{attributes.resource}" in API group "{attributes.group}"{scope}')
