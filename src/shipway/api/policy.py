"""Admission of Pipeline and Platform writes: the checks the REST API and the admission webhook both run.

The rules are the core's (:mod:`shipway.core.isolation`); this module reads what they need with the API's
own rights and asks Kubernetes, with a SubjectAccessReview for the REQUESTER (the API's caller, or the
``userInfo`` of an AdmissionReview), whether that person may read each Secret a write newly references and
may manage the pipeline name it creates. Only what changes is checked, so an unrelated edit (a label, a
finalizer, a disabled phase) is never refused because the world changed since the last one.

A reference to a Secret that does not exist yet is admitted when the requester may read it (they could see
that it is missing anyway), so a Pipeline and its Secret can be applied in any order; one the requester may
not read is refused with the same message whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.reviews import Access, UserInfo
from shipway.api.access import AccessControl
from shipway.core import names
from shipway.core.documents import source_of_secret
from shipway.core.errors import Forbidden, NotFound
from shipway.core.inputs import phase_namespaces
from shipway.core.isolation import (
    NOT_USABLE_MESSAGE,
    NamespaceView,
    Refusal,
    SecretView,
    claim_refusals,
    managed_owner,
    own_namespaces,
    platform_grant,
    registry_refusal,
    system_namespace_of,
    tenant_grant,
    usage_refusal,
)
from shipway.core.layers import SourceProblem, host_port
from shipway.core.names import Reason
from shipway.core.resources import CredentialRef, Pipeline, Platform, PlatformSpec, SecretRef, phase_namespace


@dataclass(frozen=True, slots=True)
class Reviewer:
    kube: KubeApi
    access: AccessControl

    async def platform_spec(self) -> PlatformSpec | None:
        try:
            body = await self.kube.get(kinds.PLATFORM, names.PLATFORM_NAME)
        except NotFound:
            return None
        return Platform.model_validate({k: body[k] for k in ("metadata", "spec") if k in body}).spec

    async def namespace(self, name: str) -> NamespaceView | None:
        try:
            return NamespaceView.of(await self.kube.get(kinds.NAMESPACE, name))
        except NotFound:
            return None

    async def secret(self, ref: SecretRef) -> dict[str, object] | None:
        try:
            return await self.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
        except NotFound:
            return None

    async def may_read(self, requester: UserInfo, ref: SecretRef) -> bool:
        return await self.access.allowed(requester, Access(verb="get", resource="secrets", name=ref.name,
                                                            namespace=ref.namespace))


def _tenant_credentials(pipeline: Pipeline) -> list[tuple[str, CredentialRef]]:
    out = [(f"spec.registry.credentials[{i}]", c) for i, c in enumerate(pipeline.spec.registry.credentials)]
    for p, phase in enumerate(pipeline.spec.phases):
        if phase.registry is not None:
            out += [(f"spec.phases[{p}].registry.credentials[{i}]", c)
                    for i, c in enumerate(phase.registry.credentials)]
    return out


def _known(old: Pipeline | None) -> set[tuple[SecretRef, str]]:
    """(Secret, usage) pairs the old object already had: those were admitted before."""
    if old is None:
        return set()
    return {(c.secret_ref, u.value) for _, c in _tenant_credentials(old) for u in c.usage}


async def pipeline_refusals(reviewer: Reviewer, *, requester: UserInfo, pipeline: Pipeline,
                            old: Pipeline | None) -> list[Refusal]:
    """Why ``requester`` may not write ``pipeline`` (over ``old``, None on create); empty when it may."""
    name = pipeline.metadata.name
    refusals: list[Refusal] = []
    if old is None:
        for verb in ("get", "update", "delete"):  # RBAC cannot restrict create by name
            access = Access(verb=verb, resource="pipelines", group=names.GROUP, name=name)
            if not await reviewer.access.allowed(requester, access):
                refusals.append(Refusal(Reason.PIPELINE_NAME_NOT_MANAGEABLE, "metadata.name", (
                    f"whoever creates a pipeline must be able to get, update and delete it: the requester may not "
                    f"{verb} a pipeline of this name")))
                return refusals
    platform = await reviewer.platform_spec()
    before = set(phase_namespaces(old)) if old is not None else set()
    namespaces = {ns: await reviewer.namespace(ns) for ns in phase_namespaces(pipeline)}
    refused = claim_refusals(pipeline, namespaces=namespaces, platform=platform)
    for phase in pipeline.spec.phases:
        namespace = phase_namespace(name, phase)
        refusal = refused.get(phase.name.value)
        if refusal is not None and namespace not in before:
            refusals.append(refusal)
    unrefused = {phase_namespace(name, p) for p in pipeline.spec.phases if p.name.value not in refused}
    refusals += await _claimed_elsewhere(reviewer, pipeline, new=unrefused - before)
    refusals += await _reference_refusals(reviewer, requester=requester, pipeline=pipeline, old=old,
                                          platform=platform, own=own_namespaces(pipeline, refused=refused))
    push = pipeline.spec.registry.push
    old_push = old.spec.registry.push if old is not None else None
    if push is not None and push != old_push:
        refusal = registry_refusal(push.registry, platform=platform, field="spec.registry.push.registry")
        refusals += [refusal] if refusal else []
    return refusals


async def _claimed_elsewhere(reviewer: Reviewer, pipeline: Pipeline, *, new: set[str]) -> list[Refusal]:
    """A namespace another Pipeline's spec already names is claimed, even before it exists (asked only of
    namespaces the claim rules allow, so a refusal tells nothing about other pipelines)."""
    if not new:
        return []
    out = []
    for body in await reviewer.kube.list(kinds.PIPELINE):
        other = body["metadata"]["name"]
        if other == pipeline.metadata.name:
            continue
        for phase in (body.get("spec") or {}).get("phases") or []:
            namespace = phase.get("namespace") or f"{other}-{phase.get('name')}"
            if namespace in new:
                index = phase_namespaces(pipeline).index(namespace)
                out.append(Refusal(Reason.NAMESPACE_CLAIMED, f"spec.phases[{index}].namespace",
                                   "the namespace is claimed by another pipeline"))
    return out


_NOT_YET = (None, None)


async def _as_seen_by(reviewer: Reviewer, requester: UserInfo, ref: SecretRef, *, owner: str,
                      system_namespace: str) -> tuple[dict[str, object] | None, SecretView | None]:
    """A referenced Secret as the rules may see it for ``requester``: (body, view); ``_NOT_YET`` when the
    requester may read it and it does not exist; (None, None) otherwise when they may not read it, whether it
    exists or not. A Secret the API wrote for ``owner`` is the owner's own: no need to be able to read it."""
    body = await reviewer.secret(ref)
    view = SecretView.of(ref, body) if body is not None else None
    if view is not None and managed_owner(view, system_namespace=system_namespace) == owner:
        return body, view
    if not await reviewer.may_read(requester, ref):
        return None, SecretView(ref=ref, labels={})  # refused below with the one answer for all
    return (body, view) if body is not None else _NOT_YET


async def _reference_refusals(reviewer: Reviewer, *, requester: UserInfo, pipeline: Pipeline, old: Pipeline | None,
                              platform: PlatformSpec | None, own: frozenset[str]) -> list[Refusal]:
    known = _known(old)
    system = system_namespace_of(platform)
    out: list[Refusal] = []
    for field, credential in _tenant_credentials(pipeline):
        ref = credential.secret_ref
        if all((ref, u.value) in known for u in credential.usage):
            continue
        where = f"{field}.secretRef"
        seen = await _as_seen_by(reviewer, requester, ref, owner=f"pipeline/{pipeline.metadata.name}",
                                 system_namespace=system)
        if seen is _NOT_YET:
            continue  # not there yet: the requester could see that anyway; the operator waits for it
        body, view = seen
        grant = tenant_grant(pipeline=pipeline.metadata.name, ref=ref, secret=view, own=own, system_namespace=system)
        refusal = usage_refusal(credential.usages, grant, field=where)
        if refusal is not None:
            out.append(refusal)
            continue
        assert body is not None  # a usable grant implies the Secret was read
        out += _registry_refusals(body, ref=ref, platform=platform, field=where)
    return out


def _registry_refusals(body: dict[str, object], *, ref: SecretRef, platform: PlatformSpec | None,
                       field: str) -> list[Refusal]:
    source = source_of_secret(body, ref=ref)
    if isinstance(source, SourceProblem):
        return [Refusal(source.reason, field, source.message)]
    return [r for r in (registry_refusal(host_port(e), platform=platform, field=field) for e in source.entries) if r]


async def platform_refusals(reviewer: Reviewer, *, requester: UserInfo, platform: Platform,
                            old: Platform | None) -> list[Refusal]:
    """The platform layer is an admin's, but an admin too may only reference a Secret they may read."""
    known = {c.secret_ref for c in old.spec.registry.credentials} if old is not None else set()
    out: list[Refusal] = []
    for index, credential in enumerate(platform.spec.registry.credentials):
        ref = credential.secret_ref
        if ref in known:
            continue
        where = f"spec.registry.credentials[{index}].secretRef"
        seen = await _as_seen_by(reviewer, requester, ref, owner="platform",
                                 system_namespace=platform.spec.system_namespace)
        if seen is _NOT_YET:
            continue
        body, view = seen
        grant = platform_grant(ref=ref, secret=view if body is not None else None,
                               system_namespace=platform.spec.system_namespace)
        if isinstance(grant, SourceProblem) or body is None:
            out.append(Refusal(Reason.SOURCE_NOT_USABLE, where, NOT_USABLE_MESSAGE.format(ref=ref)))
            continue
        out += _registry_refusals(body, ref=ref, platform=platform.spec, field=where)
    return out


def raise_refusals(refusals: list[Refusal], *, field: Callable[[str], str] = lambda spec_field: spec_field) -> None:
    """The REST API's answer to refusals: 403 naming the first field (``field`` maps a spec path to the request
    body's) and its rule, never a value."""
    if refusals:
        first = refusals[0]
        rest = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
        raise Forbidden(f"{first.message} ({first.rule}){rest}", field=field(first.field))
