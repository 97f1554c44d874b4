"""What the console's forms change, each through the API's own services with the caller as requester: the
credential services of :mod:`shipway.api.credentials` (which authorize, admit and audit every change) and the
pipeline routes themselves (``PUT`` and ``DELETE /api/v1/pipelines/{name}``). Nothing here decides who may
do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube.reviews import UserInfo
from shipway.api import credentials
from shipway.api.console.forms import Form, build
from shipway.api.credentials import LayerAddress
from shipway.api.routers import pipelines as pipeline_routes
from shipway.api.schemas import CredentialChange, CredentialReference, CredentialSet, PipelineUpdate
from shipway.api.state import AppState
from shipway.core.errors import InvalidInput
from shipway.core.layers import Layer
from shipway.core.resources import PhaseName, ReclaimPolicy, SecretRef

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
    """A settings form, validated: phases (name -> enabled), inherit and the reclaim policy (None: as it is;
    the platform's default while none was ever set)."""

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


def update_of(spec: dict[str, Any], settings: Settings) -> PipelineUpdate:
    """The REST API's update body for a settings form over the current ``spec``: phases keep their order,
    namespaces and their own layers, new ones come last; the push target stays as it is."""
    old = {str(p.get("name")): p for p in spec.get("phases") or []}
    order = [n for n in old if n in settings.phases] + [n for n in settings.phases if n not in old]
    phases = [{"name": n, "namespace": (old.get(n) or {}).get("namespace"), "enabled": settings.phases[n]}
              for n in order]
    return build(PipelineUpdate, {"phases": phases, "inherit": settings.inherit,
                                  "push": (spec.get("registry") or {}).get("push"),
                                  "reclaimPolicy": settings.reclaim.value if settings.reclaim else None})


async def change_settings(state: AppState, user: UserInfo, name: str, spec: dict[str, Any],
                          settings: Settings) -> None:
    """``PUT /api/v1/pipelines/{name}``: the route itself (it authorizes, admits and writes)."""
    await pipeline_routes.update_pipeline(name, update_of(spec, settings), state, user)


async def delete_pipeline(state: AppState, user: UserInfo, name: str) -> None:
    """``DELETE /api/v1/pipelines/{name}``: the route itself."""
    await pipeline_routes.delete_pipeline(name, state, user)
