"""Credential changes per layer: set by value, reference an existing Secret, remove.

The reference check stops the confused deputy: referencing a Secret requires that the CALLER may ``get``
it (a SubjectAccessReview), and a Secret outside the pipeline's own phase namespaces also needs the consent
annotation naming the pipeline. Denials are 403 and write nothing. Values are write-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.reviews import Access, UserInfo
from shipway.api import repository
from shipway.api.schemas import CredentialChange, CredentialReference, CredentialSet
from shipway.api.state import AppState
from shipway.core import names
from shipway.core.consent import consent_problem
from shipway.core.dockerconfig import AuthEntry, parse_docker_config
from shipway.core.documents import docker_config_of_secret
from shipway.core.editing import is_managed, managed_secret, managed_secret_name, with_credential, without_credential
from shipway.core.errors import Forbidden, InvalidInput, NotFound
from shipway.core.fingerprints import entry_fingerprint
from shipway.core.layers import Layer
from shipway.core.registry_keys import validate_key
from shipway.core.resources import CredentialRef, PlatformSpec, SecretRef, phase_namespace
from shipway.core.secrets import Secret

MAX_LAYER_CREDENTIALS = 64  # as the CRD schema says (maxItems)


@dataclass(frozen=True, slots=True)
class LayerAddress:
    layer: Layer
    pipeline: str | None = None
    phase: str | None = None

    def access(self, verb: str) -> Access:
        if self.layer is Layer.PLATFORM:
            return Access(verb=verb, resource="platforms", group=names.GROUP, name=names.PLATFORM_NAME)
        return Access(verb=verb, resource="pipelines", group=names.GROUP, name=self.pipeline)


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


def check_allowed_registry(platform: PlatformSpec | None, registry: str, *, field: str) -> None:
    allowed = platform.registry.allowed_registries if platform else None
    if allowed is None:
        return
    host = validate_key(registry, field=field)
    host_port = host.host + (f":{host.port}" if host.port else "")
    if host_port not in allowed:
        raise InvalidInput(f"registry {host_port} is not in the platform's allowed registries", field=field)


class LayerEditor:
    """Reads and rewrites one layer's ``credentials`` list in its custom resource."""

    def __init__(self, state: AppState, address: LayerAddress) -> None:
        self.state = state
        self.address = address

    def _kind(self) -> kinds.Kind:
        return kinds.PLATFORM if self.address.layer is Layer.PLATFORM else kinds.PIPELINE

    def _name(self) -> str:
        return names.PLATFORM_NAME if self.address.layer is Layer.PLATFORM else str(self.address.pipeline)

    @staticmethod
    def layer_of(spec: dict[str, Any], address: LayerAddress) -> list[dict[str, Any]]:
        if address.layer is Layer.PHASE:
            for phase in spec.get("phases") or []:
                if phase.get("name") == address.phase:
                    return list(((phase.get("registry") or {}).get("credentials")) or [])
            raise NotFound(f"pipeline {address.pipeline} has no phase {address.phase!r}")
        return list(((spec.get("registry") or {}).get("credentials")) or [])

    def _with_layer(self, spec: dict[str, Any], credentials: list[CredentialRef]) -> dict[str, Any]:
        raw = [c.model_dump(mode="json", by_alias=True) for c in credentials]
        spec = dict(spec)
        if self.address.layer is Layer.PHASE:
            phases = []
            for phase in spec.get("phases") or []:
                if phase.get("name") == self.address.phase:
                    phase = {**phase, "registry": {**(phase.get("registry") or {}), "credentials": raw}}
                phases.append(phase)
            spec["phases"] = phases
        else:
            spec["registry"] = {**(spec.get("registry") or {}), "credentials": raw}
        return spec

    async def check_room(self, ref: SecretRef) -> None:
        """Refuse, before anything is written, a credential the layer has no room for."""
        body = await self.state.kube.get(self._kind(), self._name())
        current = self.layer_of(body.get("spec") or {}, self.address)
        refs = {(c.get("secretRef") or {}).get("namespace", "") + "/" + (c.get("secretRef") or {}).get("name", "")
                for c in current}
        if len(current) >= MAX_LAYER_CREDENTIALS and str(ref) not in refs:
            raise InvalidInput(f"the {self.address.layer.value} layer already holds {MAX_LAYER_CREDENTIALS} "
                               "credentials, the most it may; remove one first", field="registry")

    async def edit(self, change: Any) -> dict[str, Any]:
        async def apply(body: dict[str, Any]) -> dict[str, Any]:
            spec = body.get("spec") or {}
            current = [CredentialRef.model_validate(c) for c in self.layer_of(spec, self.address)]
            return self._with_layer(spec, change(current))

        return await repository.update_spec(self.state.kube, self._kind(), self._name(), apply)


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
    check_allowed_registry(platform.spec if platform else None, body.registry, field="registry")
    owner, _ = await _owner_and_namespaces(state, address)
    namespace = platform.spec.system_namespace if platform else state.settings.system_namespace
    ref = SecretRef(namespace=namespace, name=managed_secret_name(
        layer=address.layer, registry=entry.registry.text, pipeline=address.pipeline, phase=address.phase))
    credential = CredentialRef(secret_ref=ref, usage=body.usage)
    editor = LayerEditor(state, address)
    await editor.check_room(ref)
    old_fingerprint = None
    try:
        existing = await state.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
        old_fingerprint = next((entry_fingerprint(e) for e in docker_config_of_secret(
            existing, where=str(ref)).entries), None)
        exists = True
    except (NotFound, InvalidInput):
        exists = False
    secret = managed_secret(ref=ref, entry=entry, layer=address.layer, pipeline=address.pipeline, owner=owner)
    if exists:
        await state.kube.patch(kinds.SECRET, ref.name, {"metadata": secret["metadata"], "data": secret["data"]},
                               namespace=ref.namespace)
    else:
        await state.kube.create(kinds.SECRET, secret)
    edited = await editor.edit(lambda current: with_credential(current, credential))
    new_fingerprint = entry_fingerprint(entry)
    return await _changed(
        state, user, address, edited, reason="CredentialSet", secret_ref=ref, registry=entry.registry.text,
        old=old_fingerprint, new=new_fingerprint,
        message=f"{address.layer.value} credential for {entry.registry.text}: "
                f"{old_fingerprint or 'none'} -> {new_fingerprint}")


async def use_secret(state: AppState, user: UserInfo, address: LayerAddress, body: CredentialReference
                     ) -> CredentialChange:
    await state.access.require(user, address.access("update"))
    ref = body.secret_ref
    may_read = await state.access.allowed(user, Access(verb="get", resource="secrets", name=ref.name,
                                                        namespace=ref.namespace))
    if not may_read:
        raise Forbidden(f"user {user.username!r} may not get Secret {ref}: a credential can only be referenced "
                        "by someone who may read it")
    try:
        secret = await state.kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
    except NotFound:
        raise InvalidInput(f"Secret {ref} does not exist", field="secretRef") from None
    meta = secret.get("metadata") or {}
    if (meta.get("labels") or {}).get(names.MANAGED_BY_LABEL) == names.MANAGED_BY:
        raise InvalidInput(f"Secret {ref} is written by the Shipway operator, not a source", field="secretRef")
    config = docker_config_of_secret(secret, where="secretRef")
    platform, _ = await repository.get_platform(state.kube)
    platform_spec = platform.spec if platform else None
    for entry in config.entries:
        check_allowed_registry(platform_spec, entry.key, field="secretRef")
    _, own_namespaces = await _owner_and_namespaces(state, address)
    if address.layer is not Layer.PLATFORM:
        system = platform_spec.system_namespace if platform_spec else state.settings.system_namespace
        refused = consent_problem(ref, annotations=meta.get("annotations") or {}, pipeline=str(address.pipeline),
                                  own_namespaces=own_namespaces, system_namespace=system)
        if refused is not None:
            raise Forbidden(refused.message)
    if (meta.get("labels") or {}).get(names.CREDENTIAL_LABEL) is None:
        raise InvalidInput(f"Secret {ref} lacks the label {names.CREDENTIAL_LABEL}; add it (any value) so the "
                           "operator watches it", field="secretRef")
    credential = CredentialRef(secret_ref=ref, usage=body.usage)
    editor = LayerEditor(state, address)
    await editor.check_room(ref)
    edited = await editor.edit(lambda current: with_credential(current, credential))
    fingerprints = ", ".join(f"{e.registry.text}={entry_fingerprint(e)}" for e in config.entries)
    return await _changed(
        state, user, address, edited, reason="CredentialReferenced", secret_ref=ref, registry=None, old=None,
        new=fingerprints or None, message=f"{address.layer.value} references Secret {ref} ({fingerprints})")


async def remove_credential(state: AppState, user: UserInfo, address: LayerAddress, *, registry: str | None,
                            secret_ref: SecretRef | None) -> CredentialChange:
    await state.access.require(user, address.access("update"))
    if (registry is None) == (secret_ref is None):
        raise InvalidInput("give exactly one of registry or secretRef", field="registry")
    platform, _ = await repository.get_platform(state.kube)
    namespace = platform.spec.system_namespace if platform else state.settings.system_namespace
    if registry is not None:
        key = validate_key(registry, field="registry")
        secret_ref = SecretRef(namespace=namespace, name=managed_secret_name(
            layer=address.layer, registry=key.text, pipeline=address.pipeline, phase=address.phase))
    assert secret_ref is not None
    target = secret_ref
    edited = await LayerEditor(state, address).edit(lambda current: _removing(current, target))
    old, registries, managed = None, "", None
    try:
        secret = await state.kube.get(kinds.SECRET, target.name, namespace=target.namespace)
        managed = secret
        entries = docker_config_of_secret(secret, where=str(target)).entries
        old = ", ".join(entry_fingerprint(e) for e in entries) or None
        registries = ", ".join(e.registry.text for e in entries)
    except (NotFound, InvalidInput):
        managed = None
    if managed is not None and is_managed(managed):
        await state.kube.delete(kinds.SECRET, target.name, namespace=target.namespace)
    named = registry or registries or None
    return await _changed(
        state, user, address, edited, reason="CredentialRemoved", secret_ref=target, registry=named, old=old,
        new=None, message=f"{address.layer.value} credential for {named or 'unknown registries'} removed "
                          f"(Secret {target}): {old or 'none'} -> none")


def _removing(current: list[CredentialRef], ref: SecretRef) -> list[CredentialRef]:
    if all(c.secret_ref != ref for c in current):
        raise NotFound(f"the layer does not use Secret {ref}")
    return without_credential(current, ref)
