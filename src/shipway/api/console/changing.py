"""What the console's forms change, each through the API's own services with the caller as requester: the
credential services of :mod:`shipway.api.credentials` (which authorize, admit and audit every change), the
pipeline routes' logic (:func:`shipway.api.repository.update_spec` with the admission checks of
:func:`shipway.api.policy.pipeline_refusals`), and the pipeline routes themselves where they fit as they are.
Nothing here decides who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.reviews import UserInfo
from shipway.api import credentials, repository
from shipway.api.console.forms import Form, build
from shipway.api.console.reading import pipeline_access
from shipway.api.credentials import LayerAddress
from shipway.api.policy import Reviewer, pipeline_refusals, raise_refusals
from shipway.api.routers import pipelines as pipeline_routes
from shipway.api.schemas import CredentialChange, CredentialReference, CredentialSet, PipelineUpdate
from shipway.api.state import AppState
from shipway.core.documents import stored_model, validate_model
from shipway.core.errors import InvalidInput
from shipway.core.layers import Layer
from shipway.core.resources import PhaseName, Pipeline, ReclaimPolicy, SecretRef

PHASE_NAMES = tuple(p.value for p in PhaseName)


def address_of(pipeline: str | None, layer: str | None) -> LayerAddress:
    """A layer named by a form: ``platform``, ``pipeline`` or ``phase:NAME``."""
    if pipeline is None:
        return LayerAddress(Layer.PLATFORM)
    if layer in (None, "", "pipeline"):
        return LayerAddress(Layer.PIPELINE, pipeline)
    assert layer is not None
    phase = layer.removeprefix("phase:")
    if not layer.startswith("phase:") or phase not in PHASE_NAMES:
        raise InvalidInput(f"layer must be pipeline or one of the phases {', '.join(PHASE_NAMES)}", field="layer")
    return LayerAddress(Layer.PHASE, pipeline, phase)


def _usage(form: Form) -> list[str]:
    return form.all("usage") or ["pull"]


async def set_by_value(state: AppState, user: UserInfo, address: LayerAddress, form: Form) -> CredentialChange:
    """``PUT .../credentials``: the password goes from the form into the API's body as a SecretStr."""
    body = build(CredentialSet, {"registry": form.text("registry") or "", "username": form.text("username"),
                                 "password": form.get("password") or None, "usage": _usage(form)})
    return await credentials.set_credential(state, user, address, body)


async def reference(state: AppState, user: UserInfo, address: LayerAddress, form: Form) -> CredentialChange:
    """``POST .../credentials/references``."""
    body = build(CredentialReference, {"secretRef": {"namespace": form.text("secretNamespace") or "",
                                                     "name": form.text("secretName") or ""},
                                       "usage": _usage(form)})
    return await credentials.use_secret(state, user, address, body)


def secret_ref_of(form: Form) -> SecretRef:
    return build(SecretRef, {"namespace": form.text("secretNamespace") or "", "name": form.text("secretName") or ""})


async def remove(state: AppState, user: UserInfo, address: LayerAddress, ref: SecretRef) -> CredentialChange:
    """``DELETE .../credentials?secretNamespace=&secretName=`` (a managed Secret of the layer's own owner goes
    with its reference)."""
    return await credentials.remove_credential(state, user, address, registry=None, secret_ref=ref)


@dataclass(frozen=True, slots=True)
class Settings:
    """A settings form, validated: phases (name -> enabled), inherit and the reclaim policy (None: the
    platform's default)."""

    phases: dict[str, bool]
    inherit: bool
    reclaim: ReclaimPolicy | None


def settings_of(form: Form) -> Settings:
    phases: dict[str, bool] = {}
    for name in PHASE_NAMES:
        choice = form.get(f"phase-{name}") or "absent"
        if choice not in ("absent", "enabled", "disabled"):
            raise InvalidInput("a phase is absent, enabled or disabled", field=f"phase-{name}")
        if choice != "absent":
            phases[name] = choice == "enabled"
    update = build(PipelineUpdate, {"phases": [{"name": n, "enabled": e} for n, e in phases.items()],
                                    "inherit": form.checked("inherit")})
    policy = form.text("reclaimPolicy")
    if policy not in (None, "default", *(p.value for p in ReclaimPolicy)):
        raise InvalidInput("the reclaim policy is Retain or Delete (or the platform's default)", field="reclaimPolicy")
    return Settings(phases={p.name.value: p.enabled for p in update.phases}, inherit=update.inherit,
                    reclaim=ReclaimPolicy(policy) if policy not in (None, "default") else None)


def losses(spec: dict[str, Any], settings: Settings) -> list[str]:
    """The phases a settings change removes or disables: destructive, so confirmed first."""
    out = []
    for phase in spec.get("phases") or []:
        name = str(phase.get("name"))
        if name not in settings.phases:
            out.append(f"{name} (removed)")
        elif phase.get("enabled", True) and not settings.phases[name]:
            out.append(f"{name} (disabled)")
    return out


def _spec_with(spec: dict[str, Any], settings: Settings) -> dict[str, Any]:
    old = {str(p.get("name")): p for p in spec.get("phases") or []}
    order = [n for n in old if n in settings.phases] + [n for n in settings.phases if n not in old]
    phases = []
    for name in order:
        phase = {**old.get(name, {}), "name": name, "enabled": settings.phases[name]}  # the phase layer is kept
        phases.append(phase)
    registry = {**(spec.get("registry") or {}), "inherit": settings.inherit}
    return {**spec, "phases": phases, "registry": registry,
            "reclaimPolicy": settings.reclaim.value if settings.reclaim else None}


async def change_settings(state: AppState, user: UserInfo, name: str, settings: Settings) -> dict[str, Any]:
    """``PUT /api/v1/pipelines/{name}`` with the reclaim policy (which the REST body does not carry yet): the
    same optimistic update and the same admission, with the caller as requester."""
    await state.access.require(user, pipeline_access("update", name))
    reviewer = Reviewer(kube=state.kube, access=state.access)

    async def change(current: dict[str, Any]) -> dict[str, Any]:
        spec = _spec_with(current.get("spec") or {}, settings)
        new = validate_model(Pipeline, {"metadata": current["metadata"], "spec": spec}, where="body")
        old = stored_model(Pipeline, current, where=f"Pipeline {name}")
        raise_refusals(await pipeline_refusals(reviewer, requester=user, pipeline=new, old=old),
                       field=lambda field: field.removeprefix("spec."))
        return spec

    return await repository.update_spec(state.kube, kinds.PIPELINE, name, change)


async def delete_pipeline(state: AppState, user: UserInfo, name: str) -> None:
    """``DELETE /api/v1/pipelines/{name}``: the route itself."""
    await pipeline_routes.delete_pipeline(name, state, user)
