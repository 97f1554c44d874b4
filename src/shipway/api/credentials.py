"""Credential changes per layer: set by value, reference an existing Secret, remove.

Every edit is admitted by :mod:`shipway.api.policy` before it is written, with the caller as requester: the
same checks the admission webhook runs for ``kubectl`` (the caller may read the Secret; the Secret consents
to the pipeline and grants the usage; registries within the platform's policy). Denials are 403 and write
nothing. Values are write-only.
"""

from __future__ import annotations

import secrets
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.reviews import Access, UserInfo
from shipway.api import managed, repository
from shipway.api.layer_editing import LayerAddress, LayerEditor
from shipway.api.policy import raise_refusals
from shipway.api.schemas import CredentialChange, CredentialReference, CredentialSet
from shipway.api.state import AppState
from shipway.core import names
from shipway.core.dockerconfig import AuthEntry, parse_docker_config
from shipway.core.documents import docker_config_of_secret
from shipway.core.editing import (
    managed_secret,
    managed_secret_name,
    managed_version,
    of_stem,
    with_credential,
    with_managed,
)
from shipway.core.errors import Conflict, InvalidInput, NotFound
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.isolation import SecretView, managed_owner, registry_refusal, system_namespace_of
from shipway.core.layers import Layer, host_port
from shipway.core.registry_keys import validate_key
from shipway.core.resources import CredentialRef, SecretRef, phase_namespace
from shipway.core.secrets import Secret

__all__ = ["LayerAddress", "entry_of", "remove_credential", "set_credential", "use_secret"]


def entry_of(body: CredentialSet) -> AuthEntry:
    registry = validate_key(body.registry, field="registry")
    if body.dockerconfig is not None:
        if body.username is not None or body.password is not None:
            raise InvalidInput("give username and password, or a dockerconfig, not both", field="dockerconfig")
        config = parse_docker_config(body.dockerconfig.get_secret_value(), field="dockerconfig")
        found = [e for e in config.entries if e.registry == registry]
        if len(found) != 1:
            raise InvalidInput(f"the docker config must hold exactly one entry for {registry.text}",
                               field="dockerconfig")
        return found[0]
    if body.username is None or body.password is None:
        raise InvalidInput("username and password are both required (or a dockerconfig)",
                           field="password" if body.username else "username")
    return AuthEntry(key=body.registry, registry=registry, username=body.username,
                     password=Secret(body.password.get_secret_value()))


async def _owner_and_namespaces(state: AppState, address: LayerAddress) -> tuple[dict[str, Any] | None, set[str]]:
    if address.layer is Layer.PLATFORM:
        return None, set()
    pipeline, _ = await repository.get_pipeline(state.kube, str(address.pipeline))
    if address.layer is Layer.PHASE and all(p.name.value != address.phase for p in pipeline.spec.phases):
        raise NotFound(f"pipeline {address.pipeline} has no phase {address.phase!r}")
    owner = {"apiVersion": names.API_VERSION, "kind": "Pipeline", "name": pipeline.metadata.name,
             "uid": pipeline.metadata.uid, "blockOwnerDeletion": False}
    return owner, {phase_namespace(pipeline.metadata.name, p) for p in pipeline.spec.phases}


async def _changed(state: AppState, user: UserInfo, address: LayerAddress, edited: dict[str, Any], *,
                   reason: str, message: str, secret_ref: SecretRef, registry: str | None,
                   old: str | None, new: str | None) -> CredentialChange:
    """The change as answered to the caller, recorded as an Event on the Pipeline and an audit line."""
    change = CredentialChange(layer=address.layer.value, pipeline=address.pipeline, phase=address.phase,
                              secret_ref=secret_ref, registry=registry, old_fingerprint=old, new_fingerprint=new)
    await repository.record_change(
        state.kube, user=user, pipeline=edited if address.layer is not Layer.PLATFORM else None, reason=reason,
        message=message, details=change.model_dump(mode="json", by_alias=True))
    return change


async def set_credential(state: AppState, user: UserInfo, address: LayerAddress, body: CredentialSet
                         ) -> CredentialChange:
    await state.access.require(user, address.access("update"))
    entry = entry_of(body)
    platform, _ = await repository.get_platform(state.kube)
    platform_spec = platform.spec if platform else None
    refusal = registry_refusal(host_port(entry), platform=platform_spec, field="registry")
    raise_refusals([refusal] if refusal else [])
    owner, _ = await _owner_and_namespaces(state, address)
    namespace = system_namespace_of(platform_spec, state.settings.system_namespace)
    stem = managed_secret_name(layer=address.layer, registry=entry.registry.text, pipeline=address.pipeline,
                               phase=address.phase)
    new_fingerprint = entry_fingerprint(entry)
    ref = SecretRef(namespace=namespace, name=managed_version(stem, nonce=secrets.token_hex(4)))
    credential = CredentialRef(secret_ref=ref, usage=body.usage)
    editor = LayerEditor(state, address, user=user)
    await editor.check_room(lambda current: of_stem(current, stem, namespace=namespace))
    await _refuse_shadowing(state, editor, entry, stem=stem, namespace=namespace)
    owner_name = "platform" if address.layer is Layer.PLATFORM else f"pipeline/{address.pipeline}"
    secret = managed_secret(ref=ref, entry=entry, layer=address.layer, pipeline=address.pipeline, owner=owner,
                            usage=body.usage)
    created = await managed.create_version(state.kube, secret, owner=owner_name, system_namespace=namespace)
    replaced: list[SecretRef] = []
    unchanged: list[bool] = [False]

    def switch(current: list[CredentialRef]) -> list[CredentialRef]:
        edited, gone = with_managed(current, credential, stem=stem)
        replaced[:] = gone
        unchanged[0] = any(c.secret_ref == ref for c in current)  # this very version is in use already
        return edited

    try:
        edited = await editor.edit(switch)  # the commit point: one write switches the reference
    except BaseException:
        if created:  # refused or failed: the new value was never in use, and is not left behind
            await managed.delete_versions(state.kube, [ref])
        raise
    old_fingerprint = new_fingerprint if unchanged[0] else None
    for old in replaced:
        try:
            old_fingerprint = _fingerprints(await state.kube.get(kinds.SECRET, old.name, namespace=old.namespace), old)
        except NotFound:
            continue
    await managed.delete_versions(state.kube, replaced)
    return await _changed(
        state, user, address, edited, reason="CredentialSet", secret_ref=ref, registry=entry.registry.text,
        old=old_fingerprint, new=new_fingerprint,
        message=f"{address.layer.value} credential for {entry.registry.text}: "
                f"{old_fingerprint or 'none'} -> {new_fingerprint}")


def _entries(secret: dict[str, Any], ref: SecretRef) -> tuple[AuthEntry, ...]:
    try:
        return docker_config_of_secret(secret, where=str(ref)).entries
    except InvalidInput:
        return ()


def _fingerprints(secret: dict[str, Any], ref: SecretRef, *, per_registry: bool = False) -> str | None:
    entries = _entries(secret, ref)
    if per_registry:
        return ", ".join(f"{e.registry.text}={entry_fingerprint(e)}" for e in entries) or None
    return ", ".join(entry_fingerprint(e) for e in entries) or None


def _belongs_to(secret: dict[str, Any], address: LayerAddress, *, system_namespace: str) -> bool:
    """Whether a managed Secret is this layer's owner's (a pipeline's or the platform's), by its labels."""
    ref = SecretRef(namespace=secret["metadata"]["namespace"], name=secret["metadata"]["name"])
    owner = managed_owner(SecretView.of(ref, secret), system_namespace=system_namespace)
    wanted = "platform" if address.layer is Layer.PLATFORM else f"pipeline/{address.pipeline}"
    return owner == wanted


async def _refuse_shadowing(state: AppState, editor: LayerEditor, entry: AuthEntry, *, stem: str,
                            namespace: str) -> None:
    """A referenced Secret already serving this registry key in the layer would keep winning: say so (409)."""
    body = await state.kube.get(editor._kind(), editor._name())
    for raw in editor.layer_of(body.get("spec") or {}, editor.address):
        ref = CredentialRef.model_validate(raw).secret_ref
        if of_stem(ref, stem, namespace=namespace):
            continue
        try:
            secret = await state.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
            entries = docker_config_of_secret(secret, where=str(ref)).entries
        except (NotFound, InvalidInput):
            continue
        if any(e.registry.text == entry.registry.text for e in entries):
            raise Conflict(f"the {editor.address.layer.value} layer already serves {entry.registry.text} through the "
                           f"referenced Secret {ref}; remove that reference first", field="registry")


async def use_secret(state: AppState, user: UserInfo, address: LayerAddress, body: CredentialReference
                     ) -> CredentialChange:
    await state.access.require(user, address.access("update"))
    ref = body.secret_ref
    await _owner_and_namespaces(state, address)  # 404 for a pipeline or phase that does not exist
    # The answer shows the Secret's fingerprints: it must exist before anything is written. Saying that it is
    # missing tells nothing to a caller who may read it; anyone else gets admission's one answer below.
    if await state.access.allowed(user, Access(verb="get", resource="secrets", name=ref.name,
                                               namespace=ref.namespace)):
        try:
            await state.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
        except NotFound:
            raise InvalidInput(f"Secret {ref} does not exist", field="secretRef") from None
    credential = CredentialRef(secret_ref=ref, usage=body.usage)
    editor = LayerEditor(state, address, user=user)
    await editor.check_room(lambda current: current == ref)
    # Admission (inside the edit) checks that the caller may read the Secret, consent, usage and registries.
    edited = await editor.edit(lambda current: with_credential(current, credential))
    secret = await state.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
    fingerprints = _fingerprints(secret, ref, per_registry=True) or ""
    return await _changed(
        state, user, address, edited, reason="CredentialReferenced", secret_ref=ref, registry=None, old=None,
        new=fingerprints or None, message=f"{address.layer.value} references Secret {ref} ({fingerprints})")


async def remove_credential(state: AppState, user: UserInfo, address: LayerAddress, *, registry: str | None,
                            secret_ref: SecretRef | None) -> CredentialChange:
    await state.access.require(user, address.access("update"))
    if (registry is None) == (secret_ref is None):
        raise InvalidInput("give exactly one of registry or secretRef", field="registry")
    platform, _ = await repository.get_platform(state.kube)
    namespace = system_namespace_of(platform.spec if platform else None, state.settings.system_namespace)
    if registry is not None:  # every version of this layer's managed Secret for the registry
        key = validate_key(registry, field="registry")
        stem = managed_secret_name(layer=address.layer, registry=key.text, pipeline=address.pipeline,
                                   phase=address.phase)

        def wanted(ref: SecretRef) -> bool:
            return of_stem(ref, stem, namespace=namespace)
    else:
        target = secret_ref

        def wanted(ref: SecretRef) -> bool:
            return ref == target

    removed: list[SecretRef] = []

    def removing(current: list[CredentialRef]) -> list[CredentialRef]:
        removed[:] = [c.secret_ref for c in current if wanted(c.secret_ref)]
        if not removed:
            raise NotFound("the layer does not use that credential")
        return [c for c in current if not wanted(c.secret_ref)]

    edited = await LayerEditor(state, address, user=user).edit(removing)  # the commit point
    old: list[str] = []
    registries: list[str] = []
    owned: list[SecretRef] = []
    for ref in removed:
        try:
            secret = await state.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
        except NotFound:
            continue
        mine = _belongs_to(secret, address, system_namespace=namespace)
        # Fingerprints are shown of the caller's own managed Secret or of one the caller may read, nothing else.
        if mine or await state.access.allowed(user, Access(verb="get", resource="secrets", name=ref.name,
                                                            namespace=ref.namespace)):
            old += [fp for fp in (_fingerprints(secret, ref) or "").split(", ") if fp]
            registries += [e.registry.text for e in _entries(secret, ref)]
        if mine:  # only a managed Secret of this layer's own owner is deleted; any other reference is just dropped
            owned.append(ref)
    await managed.delete_versions(state.kube, owned)
    named = registry or ", ".join(dict.fromkeys(registries)) or None
    shown = removed[0]
    before = ", ".join(old) or None
    return await _changed(
        state, user, address, edited, reason="CredentialRemoved", secret_ref=shown, registry=named, old=before,
        new=None, message=f"{address.layer.value} credential for {named or 'a referenced Secret'} removed "
                          f"(Secret {shown}): {before or 'reference dropped'} -> none")
