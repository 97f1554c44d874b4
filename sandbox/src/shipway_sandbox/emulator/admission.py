"""Validating admission webhooks, called as kube-apiserver's validating webhook dispatcher calls them.

For each write that reaches admission (after authentication, authorization, decoding, defaulting and schema
validation; before anything is stored) every webhook of every stored ValidatingWebhookConfiguration is
considered, configurations by name and webhooks in their order:

* it is skipped unless its ``namespaceSelector`` matches the labels of the object's namespace (of the
  Namespace object itself on its create and update; cluster-scoped objects are never skipped by it), its
  ``objectSelector`` matches the labels of the new or the old object, and one of its rules matches, or, with
  ``matchPolicy: Equivalent``, matches another served version of the same resource (the webhook is then
  asked about that version: ``kind``/``resource`` name it, ``requestKind``/``requestResource`` the request's);
* on a dry run, a webhook whose ``sideEffects`` is not ``None``/``NoneOnDryRun`` refuses the request (400);
* the matching webhooks are called concurrently, as kube-apiserver does, each with its own ``request.uid``;
  warnings of every answer go to ``Warning`` headers; the request goes on only if all allowed it. A refusal
  is the Status of ``webhookerrors.ToStatusErr`` (``admission webhook "NAME" denied the request: ...``, code
  400 unless the webhook gave one >= 400); a call failure is a 500 ``Internal error occurred: failed calling
  webhook "NAME": ...`` with ``failurePolicy: Fail`` and ignored with ``Ignore``. When several webhooks refuse,
  the first in configuration order is answered (kube-apiserver answers whichever comes first).

Admission configurations themselves (webhook configurations, admission policies and their bindings) are never
sent to webhooks (as ``IsExemptAdmissionConfigurationResource``). ValidatingAdmissionPolicies are evaluated
in the same admission step, before the webhooks (see :mod:`policy_admission` and :mod:`writing`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import errors, objects, policies, resources, webhook_client, webhooks
from shipway_sandbox.emulator.access import UserInfo
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec
from shipway_sandbox.emulator.store import ObjectStore

REVIEW_API_VERSION = "admission.k8s.io/v1"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Attributes:
    """What admission is asked about (``admission.Attributes``): one operation on one object."""

    operation: str  # CREATE | UPDATE | DELETE | CONNECT
    spec: ResourceSpec
    subresource: str | None
    namespace: str | None  # for a Namespace object, its own name (as the API server's RequestInfo)
    name: str
    object: objects.Body | None
    old_object: objects.Body | None
    options: objects.Body
    dry_run: bool
    user: UserInfo


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Invocation:
    hook: Mapping[str, Any]
    spec: ResourceSpec  # the version the webhook is asked about (another one when matched as Equivalent)


class ValidatingWebhooks:
    """The dispatcher over the ValidatingWebhookConfigurations of a store."""

    def __init__(self, store: ObjectStore, catalogue: Catalogue) -> None:
        self._store = store
        self._catalogue = catalogue

    async def validate(self, attributes: Attributes, warnings: list[str]) -> None:
        """Call the matching webhooks; raise the refusal or failure (after adding their warnings)."""
        if policies.is_exempt(attributes.spec):
            return
        invocations = self._invocations(attributes)
        if not invocations:
            return
        outcomes = await asyncio.gather(*(self._call(attributes, invocation) for invocation in invocations))
        failure: errors.ApiError | None = None
        for outcome_warnings, error in outcomes:
            warnings.extend(w for w in outcome_warnings if w not in warnings)
            if failure is None:
                failure = error
        if failure is not None:
            raise failure

    # -- matching ----------------------------------------------------------------------------------------
    def _invocations(self, attributes: Attributes) -> list[_Invocation]:
        found: list[_Invocation] = []
        for configuration in self._store.scan(resources.VALIDATING_WEBHOOK_CONFIGURATIONS):
            for hook in configuration.get("webhooks") or []:
                if isinstance(hook, dict):
                    invocation = self._should_call(hook, attributes)
                    if invocation is not None:
                        found.append(invocation)
        return found

    def _should_call(self, hook: Mapping[str, Any], attributes: Attributes) -> _Invocation | None:
        if not self._namespace_matches(hook, attributes):
            return None
        selector = hook.get("objectSelector") or {}
        labelled = [objects.labels_of(body) for body in (attributes.object, attributes.old_object) if body is not None]
        if not _empty(selector) and not any(webhooks.selector_matches(selector, labels) for labels in labelled):
            return None
        rules = [rule for rule in hook.get("rules") or [] if isinstance(rule, dict)]
        if any(self._rule_matches(rule, attributes, attributes.spec) for rule in rules):
            return _Invocation(hook=hook, spec=attributes.spec)
        if hook.get("matchPolicy", "Equivalent") != "Equivalent":
            return None
        equivalents = sorted((s for s in self._catalogue if s.group == attributes.spec.group
                              and s.plural == attributes.spec.plural and s.version != attributes.spec.version),
                             key=lambda s: resources.version_priority(s.version))
        for rule in rules:  # earlier rules first, as the dispatcher honours them
            for spec in equivalents:
                if self._rule_matches(rule, attributes, spec):
                    return _Invocation(hook=hook, spec=spec)
        return None

    @staticmethod
    def _rule_matches(rule: Mapping[str, Any], attributes: Attributes, spec: ResourceSpec) -> bool:
        return webhooks.rule_matches(rule, operation=attributes.operation, group=spec.group, version=spec.version,
                                     resource=spec.plural, subresource=attributes.subresource,
                                     namespace=attributes.namespace)

    def _namespace_matches(self, hook: Mapping[str, Any], attributes: Attributes) -> bool:
        selector = hook.get("namespaceSelector") or {}
        is_namespace = attributes.spec.key == resources.NAMESPACES.key
        if _empty(selector) or (not attributes.namespace and not is_namespace):
            return True
        if is_namespace and not attributes.subresource and attributes.operation in ("CREATE", "UPDATE"):
            labels = objects.labels_of(attributes.object or {})
        else:
            namespace = self._store.get(resources.NAMESPACES, None, str(attributes.namespace))
            if namespace is None:
                raise errors.not_found("namespaces", str(attributes.namespace))
            labels = objects.labels_of(namespace)
        return webhooks.selector_matches(selector, labels)

    # -- calling -----------------------------------------------------------------------------------------
    async def _call(self, attributes: Attributes,
                    invocation: _Invocation) -> tuple[list[str], errors.ApiError | None]:
        """The warnings of one webhook and its refusal or failure (None when it allowed the request)."""
        hook = invocation.hook
        name = str(hook.get("name"))
        if attributes.dry_run and hook.get("sideEffects") not in webhooks.NO_SIDE_EFFECTS:
            return [], errors.BadRequest(f'admission webhook "{name}" does not support dry run')
        uid = str(uuid.uuid4())
        try:
            answer = await webhook_client.post(webhook_client.Endpoint.of(hook),
                                               review(attributes, invocation.spec, uid))
            response = verified_response(answer, uid)
        except webhook_client.CallFailure as failure:
            if hook.get("failurePolicy", "Fail") == "Ignore":
                return [], None
            return [], errors.InternalError(f'failed calling webhook "{name}": {failure}')
        warnings = [str(w) for w in response.get("warnings") or [] if isinstance(w, str)]
        if response.get("allowed") is True:
            return warnings, None
        return warnings, denial(name, response.get("status"))


def _empty(selector: Mapping[str, Any]) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def review(attributes: Attributes, spec: ResourceSpec, uid: str) -> objects.Body:
    """The AdmissionReview sent to a webhook asked about ``spec`` (the request's version or an equivalent)."""
    user = attributes.user
    user_info: objects.Body = {"username": user.username}
    if user.uid:
        user_info["uid"] = user.uid
    if user.groups:
        user_info["groups"] = list(user.groups)
    if user.extra:
        user_info["extra"] = {key: list(values) for key, values in user.extra.items()}
    request_spec = attributes.spec
    request: objects.Body = {
        "uid": uid,
        "kind": {"group": spec.group, "version": spec.version, "kind": spec.kind},
        "resource": {"group": spec.group, "version": spec.version, "resource": spec.plural},
        "requestKind": {"group": request_spec.group, "version": request_spec.version, "kind": request_spec.kind},
        "requestResource": {"group": request_spec.group, "version": request_spec.version,
                            "resource": request_spec.plural},
        "operation": attributes.operation,
        "userInfo": user_info,
        "object": _as_version(attributes.object, spec),
        "oldObject": _as_version(attributes.old_object, spec),
        "dryRun": attributes.dry_run,
        "options": attributes.options,
    }
    if attributes.subresource:
        request["subResource"] = request["requestSubResource"] = attributes.subresource
    if attributes.name:
        request["name"] = attributes.name
    if attributes.namespace:
        request["namespace"] = attributes.namespace
    return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "request": request}


def _as_version(body: objects.Body | None, spec: ResourceSpec) -> objects.Body | None:
    return None if body is None else {**body, "apiVersion": spec.group_version}


def verified_response(answer: objects.Body, uid: str) -> objects.Body:
    """``VerifyAdmissionResponse``: an AdmissionReview v1 with a response for this uid."""
    found = f"{answer.get('apiVersion') or ''}, Kind={answer.get('kind') or ''}"
    if answer.get("apiVersion") != REVIEW_API_VERSION or answer.get("kind") != "AdmissionReview":
        raise webhook_client.CallFailure("received invalid webhook response: expected webhook response of"
                                         f" {REVIEW_API_VERSION}, Kind=AdmissionReview, got {found}")
    response = answer.get("response")
    if not isinstance(response, dict):
        raise webhook_client.CallFailure("received invalid webhook response: webhook response was absent")
    if response.get("uid") != uid:
        raise webhook_client.CallFailure("received invalid webhook response: expected"
                                         f' response.uid="{uid}", got "{response.get("uid") or ""}"')
    return response


def denial(name: str, result: Any) -> errors.StatusError:
    """``webhookerrors.ToStatusErr``: the refusal of a webhook, as the Status the client gets."""
    status: objects.Body = dict(result) if isinstance(result, dict) else {}
    denied = f'admission webhook "{name}" denied the request'
    code = status.get("code")
    status["code"] = code if isinstance(code, int) and code >= 400 else 400
    if status.get("status") in (None, "", "Success"):
        status["status"] = "Failure"
    if status.get("message"):
        status["message"] = f"{denied}: {status['message']}"
    elif status.get("reason"):
        status["message"] = f"{denied}: {status['reason']}"
    else:
        status["message"] = f"{denied} without explanation"
    return errors.StatusError({k: v for k, v in status.items() if v not in (None, "")})
