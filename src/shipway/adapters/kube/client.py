"""A thin async Kubernetes client over lightkube: dict objects in and out, errors mapped, requests counted.

Every request is counted by (verb, kind) so the operator can expose it as a metric and tests can compare
it with what the API server saw. Error messages carry the API server's reason and the object's name only.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Literal

import lightkube
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.types import PatchType

from shipway.adapters.kube.connecting import agent
from shipway.adapters.kube.resources import Kind
from shipway.core import errors

log = logging.getLogger(__name__)
PatchKind = Literal["merge", "json", "strategic"]
_PATCH_TYPES = {"merge": PatchType.MERGE, "json": PatchType.JSON, "strategic": PatchType.STRATEGIC}


_CLASSES: dict[Kind, Any] = {}  # lightkube registers generic resources process-wide: one class per kind


def _resource_class(kind: Kind) -> Any:
    if kind not in _CLASSES:
        factory = create_namespaced_resource if kind.namespaced else create_global_resource
        _CLASSES[kind] = factory(kind.group, kind.version, kind.kind, kind.plural)
    return _CLASSES[kind]


def _map_error(error: ApiError, *, what: str) -> errors.ShipwayError:
    status = error.status
    code, reason, message = status.code or 0, status.reason or "", status.message or ""
    text = f"{what}: {reason or code}: {message}"[:500]
    if code == 404:
        return errors.NotFound(text)
    if code in (409, 422) and (code == 409 or "test" in message.lower()):
        return errors.Conflict(text)
    if code == 403:
        return errors.Forbidden(text)
    if code == 401:
        return errors.Unauthenticated(text)
    if code == 422:
        return errors.InvalidInput(text)
    return errors.KubernetesError(text)


_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _checked(name: str, *, what: str) -> str:
    """Object names go into URL paths: refuse anything that is not a Kubernetes object name."""
    if not name or len(name) > 253 or not _NAME.match(name):
        raise errors.InvalidInput(f"{name!r} is not a valid object name", field=what)
    return name


class KubeClient:
    """Create, patch, delete and watch plain-dict objects. One instance per process."""

    def __init__(self, *, kubeconfig: Path | None, user_agent: str, field_manager: str,
                 instance: str | None = None, max_in_flight: int | None = None) -> None:
        config = KubeConfig.from_file(str(kubeconfig)) if kubeconfig else KubeConfig.from_env()
        self._client = lightkube.AsyncClient(config=config, field_manager=field_manager)
        inner = getattr(getattr(self._client, "_client", None), "_client", None)  # the httpx client
        if inner is not None and hasattr(inner, "headers"):
            inner.headers["User-Agent"] = agent(user_agent, instance)
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()
        # At most this many requests in flight (None: no bound), as client-go's rate limiter bounds a controller:
        # the pool then holds that many connections, and each request costs the same however busy the process.
        self._in_flight = asyncio.Semaphore(max_in_flight) if max_in_flight else None

    def _turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._in_flight if self._in_flight is not None else contextlib.nullcontext()

    @staticmethod
    def _cls(kind: Kind) -> Any:
        return _resource_class(kind)

    @staticmethod
    def _what(kind: Kind, name: str, namespace: str | None) -> str:
        return f"{kind.kind} {namespace + '/' if namespace else ''}{name}"

    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") if kind.namespaced else None
        self.requests["create", kind.kind] += 1
        try:
            async with self._turn():
                created = await self._client.create(self._cls(kind)(dict(obj)))
        except ApiError as error:
            raise _map_error(error, what=self._what(kind, meta.get("name", "?"), namespace)) from None
        return dict(created)

    async def patch(self, kind: Kind, name: str, patch: Any, *, namespace: str | None = None,
                    patch_type: PatchKind = "merge", status: bool = False) -> dict[str, Any]:
        _checked(name, what=f"{kind.kind} name")
        self.requests["patch", kind.kind] += 1
        cls = self._cls(kind)
        try:
            async with self._turn():
                patched = await self._client.patch(
                    cls.Status if status else cls, name, patch, namespace=namespace if kind.namespaced else None,
                    patch_type=_PATCH_TYPES[patch_type],
                )
        except ApiError as error:
            raise _map_error(error, what=self._what(kind, name, namespace)) from None
        return dict(patched)

    async def delete(self, kind: Kind, name: str, *, namespace: str | None = None) -> None:
        _checked(name, what=f"{kind.kind} name")
        self.requests["delete", kind.kind] += 1
        try:
            async with self._turn():
                await self._client.delete(self._cls(kind), name, namespace=namespace if kind.namespaced else None)
        except ApiError as error:
            mapped = _map_error(error, what=self._what(kind, name, namespace))
            if not isinstance(mapped, errors.NotFound):
                raise mapped from None

    async def get(self, kind: Kind, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        _checked(name, what=f"{kind.kind} name")
        self.requests["get", kind.kind] += 1
        try:
            async with self._turn():
                found = await self._client.get(self._cls(kind), name,
                                               namespace=namespace if kind.namespaced else None)
        except ApiError as error:
            raise _map_error(error, what=self._what(kind, name, namespace)) from None
        return dict(found)

    async def list(self, kind: Kind, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
                   ) -> list[dict[str, Any]]:
        self.requests["list", kind.kind] += 1
        try:
            async with self._turn():
                return [dict(item) async for item in self._client.list(
                    self._cls(kind), namespace=namespace if kind.namespaced else None,
                    labels=dict(labels) if labels else None)]
        except ApiError as error:
            raise _map_error(error, what=f"list {kind.plural}") from None

    async def watch(self, kind: Kind, *, labels: str | None = None) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        self.requests["watch", kind.kind] += 1
        async for event_type, item in self._client.watch(self._cls(kind), labels=labels):  # type: ignore[arg-type]
            yield event_type, dict(item)

    async def close(self) -> None:
        await self._client.close()
