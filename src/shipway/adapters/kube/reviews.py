"""Asking the API server who a token belongs to (TokenReview) and what a user may do (SubjectAccessReview)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.resources import Kind
from shipway.core.secrets import Secret

TOKEN_REVIEW = Kind("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False)
SUBJECT_ACCESS_REVIEW = Kind("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False)


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Access:
    verb: str
    resource: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    subresource: str | None = None

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        target = f"{self.resource}{'/' + self.subresource if self.subresource else ''}"
        group = f".{self.group}" if self.group else ""
        return f"{self.verb} {target}{group}{' ' + repr(self.name) if self.name else ''}{where}"


async def review_token(client: KubeApi, token: Secret) -> UserInfo | None:
    """The user a bearer token belongs to, or None when the API server does not authenticate it."""
    answer = await client.create(TOKEN_REVIEW, {
        "apiVersion": TOKEN_REVIEW.api_version, "kind": TOKEN_REVIEW.kind, "spec": {"token": token.reveal()}})
    status = answer.get("status") or {}
    if not status.get("authenticated"):
        return None
    return user_info_of(status.get("user") or {})


def user_info_of(user: dict[str, Any]) -> UserInfo:
    """A user as the API server describes one (TokenReview status, AdmissionReview request)."""
    extra = {str(k): tuple(str(v) for v in values or ()) for k, values in (user.get("extra") or {}).items()}
    return UserInfo(username=str(user.get("username", "")), groups=tuple(str(g) for g in user.get("groups") or ()),
                    uid=str(user.get("uid", "")), extra=extra)


async def review_access(client: KubeApi, user: UserInfo, access: Access) -> tuple[bool, str]:
    """Whether ``user`` may do ``access``, and the authorizer's reason."""
    attributes: dict[str, str] = {"verb": access.verb, "resource": access.resource, "group": access.group}
    if access.name:
        attributes["name"] = access.name
    if access.namespace:
        attributes["namespace"] = access.namespace
    if access.subresource:
        attributes["subresource"] = access.subresource
    answer = await client.create(SUBJECT_ACCESS_REVIEW, {
        "apiVersion": SUBJECT_ACCESS_REVIEW.api_version, "kind": SUBJECT_ACCESS_REVIEW.kind,
        "spec": {"user": user.username, "groups": list(user.groups), "uid": user.uid,
                 "extra": {k: list(v) for k, v in user.extra.items()}, "resourceAttributes": attributes}})
    status = answer.get("status") or {}
    return bool(status.get("allowed")) and not status.get("denied"), str(status.get("reason") or "")
