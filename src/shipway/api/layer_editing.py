"""One layer's ``credentials`` list in its custom resource (the Platform, a Pipeline, or one of its phases),
read and rewritten with optimistic concurrency, every edit admitted by :mod:`shipway.api.policy` with the
caller as requester before it is written: the one write that commits a credential change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.reviews import Access, UserInfo
from shipway.api import repository
from shipway.api.policy import Reviewer, pipeline_refusals, platform_refusals, raise_refusals
from shipway.api.state import AppState
from shipway.core import names
from shipway.core.documents import stored_model, validate_model
from shipway.core.errors import InvalidInput, NotFound
from shipway.core.layers import Layer
from shipway.core.resources import CredentialRef, Pipeline, Platform, SecretRef

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



class LayerEditor:
    """Reads and rewrites one layer's ``credentials`` list in its custom resource."""

    def __init__(self, state: AppState, address: LayerAddress, *, user: UserInfo) -> None:
        self.state = state
        self.address = address
        self.user = user

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

    async def check_room(self, replaces: Callable[[SecretRef], bool]) -> None:
        """Refuse, before anything is written, a credential the layer has no room for (one that ``replaces``
        a credential already there always has room)."""
        body = await self.state.kube.get(self._kind(), self._name())
        current = [CredentialRef.model_validate(c).secret_ref for c in self.layer_of(body.get("spec") or {},
                                                                                      self.address)]
        if len(current) >= MAX_LAYER_CREDENTIALS and not any(replaces(ref) for ref in current):
            raise InvalidInput(f"the {self.address.layer.value} layer already holds {MAX_LAYER_CREDENTIALS} "
                               "credentials, the most it may; remove one first", field="registry")

    async def edit(self, change: Any) -> dict[str, Any]:
        async def apply(body: dict[str, Any]) -> dict[str, Any]:
            spec = body.get("spec") or {}
            current = [CredentialRef.model_validate(c) for c in self.layer_of(spec, self.address)]
            edited = self._with_layer(spec, change(current))
            await self._admit(body, edited)
            return edited

        return await repository.update_spec(self.state.kube, self._kind(), self._name(), apply)

    async def _admit(self, body: dict[str, Any], spec: dict[str, Any]) -> None:
        """The admission webhook's checks, with the caller as requester, before anything is written."""
        reviewer = Reviewer(kube=self.state.kube, access=self.state.access)
        where = f"{self._kind().kind} {self._name()}"
        if self.address.layer is Layer.PLATFORM:
            old_platform = stored_model(Platform, body, where=where)
            new_platform = validate_model(Platform, {**body, "spec": spec}, where="body")
            raise_refusals(await platform_refusals(reviewer, requester=self.user, platform=new_platform,
                                                   old=old_platform), field=body_field)
            return
        old = stored_model(Pipeline, body, where=where)
        new = validate_model(Pipeline, {"metadata": body["metadata"], "spec": spec}, where="body")
        raise_refusals(await pipeline_refusals(reviewer, requester=self.user, pipeline=new, old=old),
                       field=body_field)


def body_field(spec_field: str) -> str:
    """A credential endpoint's body names one credential: a refusal of its Secret is about ``secretRef``."""
    return "secretRef" if spec_field.endswith(".secretRef") else spec_field


