"""What the reconcilers and the API need of the Kubernetes API, as a Protocol: :class:`~.client.KubeClient`
is the real one; tests put an in-memory cluster behind the same interface (tests/reconcile/memory.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from shipway.adapters.kube.client import PatchKind
from shipway.adapters.kube.resources import Kind


class KubeApi(Protocol):
    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    async def patch(self, kind: Kind, name: str, patch: Any, *, namespace: str | None = None,
                    patch_type: PatchKind = "merge", status: bool = False) -> dict[str, Any]: ...

    async def delete(self, kind: Kind, name: str, *, namespace: str | None = None) -> None: ...

    async def get(self, kind: Kind, name: str, *, namespace: str | None = None) -> dict[str, Any]: ...

    async def list(self, kind: Kind, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
                   ) -> list[dict[str, Any]]: ...
