"""What every request handler gets: settings, the Kubernetes client, access control, a registry client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shipway.adapters.kube.api import KubeApi
from shipway.adapters.registry import RegistryClient
from shipway.api.access import AccessControl
from shipway.api.fairness import Fairness
from shipway.api.settings import ApiSettings


@dataclass(frozen=True)
class AppState:
    settings: ApiSettings
    kube: KubeApi
    access: AccessControl
    # (insecure registries, trusted token realms) → a new client
    registry_client: Callable[[frozenset[str], frozenset[str]], RegistryClient]
    fairness: Fairness = field(default_factory=Fairness)
