"""TokenReview and the SubjectAccessReviews, answered as kube-apiserver answers them and never stored.

* ``POST /apis/authentication.k8s.io/v1/tokenreviews``: the server's own authenticator applied to
  ``spec.token``; ``status.authenticated`` (omitted when false, as Go's ``omitempty`` does), ``status.user``
  ``{username, uid, groups}`` with ``system:authenticated`` added, ``status.audiences``, or ``status.error``.
* ``POST /apis/authorization.k8s.io/v1/subjectaccessreviews``: a decision for ``spec.user``/``spec.groups``
  exactly as given (no group is added) on ``spec.resourceAttributes`` or ``spec.nonResourceAttributes``.
* ``.../namespaces/NS/localsubjectaccessreviews``: the same, confined to its namespace.
* ``.../selfsubjectaccessreviews``: a decision for the caller (the user the request authenticated as).
* ``.../selfsubjectrulesreviews`` (``kubectl auth can-i --list``): every rule the caller holds in
  ``spec.namespace`` (required: 400 ``no namespace on request``), as RBAC's ``RulesFor`` lists them (cluster-wide
  bindings first): ``status.resourceRules`` and ``status.nonResourceRules``, ``incomplete`` (true when the
  authorizer is not RBAC and cannot list rules), ``evaluationError`` (bindings to missing roles). Without an
  authorizer (everything allowed), ``*`` for everything, as ``AlwaysAllow`` answers.
* ``POST /apis/authentication.k8s.io/v1/selfsubjectreviews`` (``kubectl auth whoami``): the caller's
  ``status.userInfo`` (username, uid, groups, extra; the anonymous user without authentication).

A SubjectAccessReview is decided for exactly the user it names: ``spec.user``, ``spec.uid``, ``spec.groups``
and ``spec.extra`` (no group is added: a review for a ``system:masters`` group member is allowed everything).

Each answer is the posted object with its ``status`` filled in, with 201 Created; nothing is written to the
store, so any number of nameless reviews can be posted (kmock alone would answer the second one with 409).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipway_sandbox.emulator import errors, objects
from shipway_sandbox.emulator.access import Authenticator, Authorizer, Decision, RequestAttributes, UserInfo
from shipway_sandbox.emulator.resources import (
    LOCAL_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_REVIEWS,
    SELF_SUBJECT_RULES_REVIEWS,
    SUBJECT_ACCESS_REVIEWS,
    TOKEN_REVIEWS,
    ResourceSpec,
)
from shipway_sandbox.emulator.users import ANONYMOUS, ANONYMOUS_USER

if TYPE_CHECKING:
    from shipway_sandbox.emulator.rbac import RbacAuthorizer

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"  # the API server's implicit audience
REVIEW_RESOURCES = (TOKEN_REVIEWS, SUBJECT_ACCESS_REVIEWS, SELF_SUBJECT_ACCESS_REVIEWS,
                    LOCAL_SUBJECT_ACCESS_REVIEWS, SELF_SUBJECT_RULES_REVIEWS, SELF_SUBJECT_REVIEWS)
_REVIEW_KEYS = frozenset(spec.key for spec in REVIEW_RESOURCES)


def is_review(spec: ResourceSpec) -> bool:
    return spec.key in _REVIEW_KEYS


def _decode(raw: bytes, spec: ResourceSpec) -> objects.Body:
    try:
        body = json.loads(raw) if raw else None
    except ValueError as exc:
        raise errors.BadRequest(f"error decoding the request body as JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise errors.BadRequest(f"not a {spec.kind}: the request body must be a JSON object")
    if body.get("kind") not in (None, "", spec.kind):
        raise errors.BadRequest(f"not a {spec.kind}: {body.get('kind')}")
    spec_field = body.get("spec")
    if spec_field is not None and not isinstance(spec_field, dict):
        raise errors.BadRequest(f"not a {spec.kind}: spec must be an object")
    return body


def _answer(spec: ResourceSpec, body: objects.Body, status: objects.Body,
            namespace: str | None = None) -> objects.Body:
    metadata = dict(body.get("metadata") or {}) if isinstance(body.get("metadata"), dict) else {}
    metadata["creationTimestamp"] = None
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"kind": spec.kind, "apiVersion": spec.group_version, "metadata": metadata,
            "spec": body.get("spec") or {}, "status": status}


def _invalid(spec: ResourceSpec, body: objects.Body, field: str, value: Any, detail: str) -> errors.Invalid:
    name = str(objects.meta_of(body).get("name") or "") if isinstance(body.get("metadata"), dict) else ""
    shown = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
    return errors.Invalid(
        f'{spec.kind}.{spec.group} "{name}" is invalid: {field}: Invalid value: {shown}: {detail}',
        details={"name": name, "group": spec.group, "kind": spec.kind,
                 "causes": [{"reason": "FieldValueInvalid", "message": f"Invalid value: {shown}: {detail}",
                             "field": field}]})


# -- TokenReview ---------------------------------------------------------------------------------------------
async def token_review(raw: bytes, authenticator: Authenticator | None) -> objects.Body:
    body = _decode(raw, TOKEN_REVIEWS)
    review_spec = body.get("spec") or {}
    token = review_spec.get("token")
    if not isinstance(token, str) or not token:
        raise errors.BadRequest("token is required for TokenReview in authentication")
    audiences = [str(a) for a in review_spec.get("audiences") or []]
    if audiences and API_AUDIENCE not in audiences:
        return _answer(TOKEN_REVIEWS, body, {"user": {}, "error": (
            f'[invalid bearer token, token audiences ["{API_AUDIENCE}"] is invalid for the target audiences'
            f" {json.dumps(audiences)}]")})
    user = await authenticator({"Authorization": f"Bearer {token}"}) if authenticator is not None else None
    if user is None or user.username == ANONYMOUS:
        return _answer(TOKEN_REVIEWS, body, {"user": {}, "error": "invalid bearer token"})
    info: dict[str, Any] = {"username": user.username}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    return _answer(TOKEN_REVIEWS, body, {"authenticated": True, "user": info, "audiences": [API_AUDIENCE]})


# -- SubjectAccessReviews ------------------------------------------------------------------------------------
def attributes_of(spec: ResourceSpec, body: objects.Body) -> RequestAttributes:
    """What a review asks about; 422 unless exactly one of resource and non-resource attributes is given."""
    review_spec = body.get("spec") or {}
    resource = review_spec.get("resourceAttributes")
    non_resource = review_spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        raise _invalid(spec, body, "spec.nonResourceAttributes", non_resource,
                       "cannot be specified in combination with resourceAttributes")
    if resource is None and non_resource is None:
        raise _invalid(spec, body, "spec.resourceAttributes", None,
                       "exactly one of nonResourceAttributes or resourceAttributes must be specified")
    if non_resource is not None:
        if not isinstance(non_resource, dict):
            raise errors.BadRequest(f"not a {spec.kind}: spec.nonResourceAttributes must be an object")
        return RequestAttributes.non_resource(str(non_resource.get("verb") or ""), str(non_resource.get("path") or ""))
    if not isinstance(resource, dict):
        raise errors.BadRequest(f"not a {spec.kind}: spec.resourceAttributes must be an object")

    def text(key: str) -> str:
        return str(resource.get(key) or "")

    return RequestAttributes(verb=text("verb"), group=text("group"), version=text("version"),
                             resource=text("resource"), subresource=text("subresource") or None,
                             namespace=text("namespace") or None, name=text("name") or None)


def _status(decision: bool | Decision) -> objects.Body:
    status: objects.Body = {"allowed": bool(decision)}
    reason = decision.reason if isinstance(decision, Decision) else ""
    if reason:
        status["reason"] = reason
    return status


async def subject_access_review(spec: ResourceSpec, raw: bytes, authorizer: Authorizer, *,
                                namespace: str | None = None) -> objects.Body:
    """A SubjectAccessReview or (with ``namespace``, from the path) a LocalSubjectAccessReview."""
    body = _decode(raw, spec)
    review_spec = body.get("spec") or {}
    if namespace is not None:
        posted = objects.meta_of(body).get("namespace") if isinstance(body.get("metadata"), dict) else None
        if posted not in (None, "", namespace):
            raise errors.BadRequest("the namespace of the provided object does not match the namespace sent on"
                                    " the request")
    attributes = attributes_of(spec, body)
    if namespace is not None:
        if not attributes.is_resource_request:
            raise _invalid(spec, body, "spec.nonResourceAttributes", review_spec.get("nonResourceAttributes"),
                           "disallowed on this kind of request")
        if (attributes.namespace or "") != namespace:
            raise _invalid(spec, body, "spec.resourceAttributes.namespace", attributes.namespace or "",
                           "must match metadata.namespace")
    username = str(review_spec.get("user") or "")
    groups = review_spec.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise errors.BadRequest(f"not a {spec.kind}: spec.groups must be a list of strings")
    if not username and not groups:
        raise _invalid(spec, body, "spec.user", username, "at least one of user or group must be specified")
    user = UserInfo(username=username, uid=str(review_spec.get("uid") or ""), groups=tuple(groups),
                    extra=_extra(spec, review_spec.get("extra")))
    return _answer(spec, body, _status(await authorizer(user, attributes)), namespace)


async def self_subject_access_review(raw: bytes, caller: UserInfo | None,
                                     authorizer: Authorizer | None) -> objects.Body:
    """A decision for the caller; with no authenticator or authorizer installed the emulator admits everyone
    (as ``--authorization-mode=AlwaysAllow`` does), so the answer is allowed."""
    body = _decode(raw, SELF_SUBJECT_ACCESS_REVIEWS)
    attributes = attributes_of(SELF_SUBJECT_ACCESS_REVIEWS, body)
    if caller is None or authorizer is None:
        return _answer(SELF_SUBJECT_ACCESS_REVIEWS, body, {"allowed": True})
    return _answer(SELF_SUBJECT_ACCESS_REVIEWS, body, _status(await authorizer(caller, attributes)))


def _extra(spec: ResourceSpec, value: Any) -> Mapping[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(v, list) and all(isinstance(i, str) for i in v) for v in value.values()):
        raise errors.BadRequest(f"not a {spec.kind}: spec.extra must be a map of lists of strings")
    return {str(k): tuple(v) for k, v in value.items()}


# -- SelfSubjectRulesReview ---------------------------------------------------------------------------------
_ALL_RESOURCES = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
_ALL_NON_RESOURCES = {"verbs": ["*"], "nonResourceURLs": ["*"]}


def _strings(rule: Mapping[str, Any], key: str) -> list[str]:
    value = rule.get(key) or []
    return [str(v) for v in value] if isinstance(value, list) else []


def self_subject_rules_review(raw: bytes, caller: UserInfo | None, authorizer: Authorizer | None,
                              rbac: RbacAuthorizer) -> objects.Body:
    """What the caller may do in ``spec.namespace`` (``RBACAuthorizer.RulesFor``)."""
    body = _decode(raw, SELF_SUBJECT_RULES_REVIEWS)
    namespace = str((body.get("spec") or {}).get("namespace") or "")
    if not namespace:
        raise errors.BadRequest("no namespace on request")
    if caller is None or authorizer is None:
        status: objects.Body = {"resourceRules": [dict(_ALL_RESOURCES)],
                                "nonResourceRules": [dict(_ALL_NON_RESOURCES)], "incomplete": False}
        return _answer(SELF_SUBJECT_RULES_REVIEWS, body, status)
    if authorizer is not rbac:  # another authorizer cannot list what it would allow
        return _answer(SELF_SUBJECT_RULES_REVIEWS, body, {"resourceRules": [], "nonResourceRules": [],
                                                          "incomplete": True})
    rules, problems = rbac.rules_for(caller, namespace)
    resource_rules: list[objects.Body] = []
    non_resource_rules: list[objects.Body] = []
    for rule in rules:
        if _strings(rule, "resources"):
            resource_rule: objects.Body = {"verbs": _strings(rule, "verbs")}
            for key in ("apiGroups", "resources", "resourceNames"):
                if _strings(rule, key):
                    resource_rule[key] = _strings(rule, key)
            resource_rules.append(resource_rule)
        if _strings(rule, "nonResourceURLs"):
            non_resource_rules.append({"verbs": _strings(rule, "verbs"),
                                       "nonResourceURLs": _strings(rule, "nonResourceURLs")})
    status = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    if problems:
        status["evaluationError"] = problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]"
    return _answer(SELF_SUBJECT_RULES_REVIEWS, body, status)


# -- SelfSubjectReview ----------------------------------------------------------------------------------------
def self_subject_review(raw: bytes, caller: UserInfo | None) -> objects.Body:
    """Who the caller is, as the API server authenticated them."""
    body = _decode(raw, SELF_SUBJECT_REVIEWS)
    user = caller if caller is not None else ANONYMOUS_USER
    info: objects.Body = {"username": user.username}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {k: list(v) for k, v in user.extra.items()}
    metadata = dict(body.get("metadata") or {}) if isinstance(body.get("metadata"), dict) else {}
    metadata["creationTimestamp"] = None
    return {"kind": SELF_SUBJECT_REVIEWS.kind, "apiVersion": SELF_SUBJECT_REVIEWS.group_version,
            "metadata": metadata, "status": {"userInfo": info}}


# -- dispatch ------------------------------------------------------------------------------------------------
async def answer(spec: ResourceSpec, body: bytes, *, namespace: str | None, caller: UserInfo | None,
                 authenticator: Authenticator | None, authorizer: Authorizer | None,
                 rbac: RbacAuthorizer) -> objects.Body:
    """The answer to a review posted to ``spec`` (in ``namespace`` for a LocalSubjectAccessReview)."""
    if spec.key == TOKEN_REVIEWS.key:
        return await token_review(body, authenticator)
    if spec.key == SELF_SUBJECT_ACCESS_REVIEWS.key:
        return await self_subject_access_review(body, caller, authorizer)
    if spec.key == SELF_SUBJECT_RULES_REVIEWS.key:
        return self_subject_rules_review(body, caller, authorizer, rbac)
    if spec.key == SELF_SUBJECT_REVIEWS.key:
        return self_subject_review(body, caller)
    return await subject_access_review(spec, body, authorizer if authorizer is not None else rbac,
                                       namespace=namespace)
