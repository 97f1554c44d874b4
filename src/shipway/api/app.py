"""The API application factory. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from shipway import __version__
from shipway.adapters.kube.api import KubeApi
from shipway.adapters.registry import RegistryClient
from shipway.api import console, errors
from shipway.api.access import AccessControl
from shipway.api.fairness import ConcurrencyBound, Fairness, RateBound
from shipway.api.limits import BodyLimit
from shipway.api.metrics import ApiMetrics
from shipway.api.routers import credentials, effective, health, pipelines, platform
from shipway.api.settings import ApiSettings
from shipway.api.state import AppState


def create_app(*, settings: ApiSettings, kube: KubeApi,
               registry_client: Callable[[frozenset[str], frozenset[str]], RegistryClient] | None = None) -> FastAPI:
    def default_registry_client(insecure: frozenset[str], trusted_realms: frozenset[str]) -> RegistryClient:
        return RegistryClient(ca_file=Path(settings.ca_file) if settings.ca_file else None,
                              insecure_registries=insecure, trusted_realms=trusted_realms,
                              timeout=settings.registry_timeout)

    app = FastAPI(title="Shipway API", version=__version__,
                  description="Pipelines and their layered registry credentials. Credential values are "
                              "write-only; Kubernetes RBAC decides who may do what.")
    app.state.shipway = AppState(settings=settings, kube=kube,
                                 access=AccessControl(client=kube, ttl=settings.token_cache_seconds),
                                 registry_client=registry_client or default_registry_client,
                                 fairness=Fairness(
                                     reads=ConcurrencyBound(limit=settings.reads_per_caller,
                                                            what="effective/explain/verify requests"),
                                     verifies=RateBound(burst=settings.verify_burst,
                                                        per_minute=settings.verifies_per_minute,
                                                        what="verifications")))
    app.state.metrics = ApiMetrics()
    app.middleware("http")(app.state.metrics.middleware)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    for module in (health, platform, pipelines, credentials, effective):
        app.include_router(module.router)
    console.install(app)  # the web console under /ui/ (and / redirecting there)
    return app
