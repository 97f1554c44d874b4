"""Kubero's objects over the Kubernetes API, for the migration: its kinds, reading them and what the
migration compares with, and writing the migration's plan (only what differs, in the plan's order).

Kubero's CRDs (kubero-dev/kubero-operator ``config/crd/bases/application.kubero.dev_kuberoes.yaml`` and
``..._kuberopipelines.yaml``) are namespaced and schemaless; Kubero keeps them in its namespace (``kubero``).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightkube
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ConfigError

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.client import KubeClient
from shipway.adapters.kube.connecting import agent
from shipway.core import errors, names
from shipway.core.kubero import GROUP, Cluster, KuberoExport, Write, to_read

KUBERO = kinds.Kind(GROUP, "v1alpha1", "Kubero", "kuberoes", True)
KUBERO_PIPELINE = kinds.Kind(GROUP, "v1alpha1", "KuberoPipeline", "kuberopipelines", True)
_KINDS = {k.kind: k for k in (KUBERO, KUBERO_PIPELINE, kinds.NAMESPACE, kinds.SECRET, kinds.PLATFORM,
                              kinds.PIPELINE)}
USER_AGENT = "shipway-import"


class _ContextClient(KubeClient):
    """A :class:`KubeClient` on a named context of the kubeconfig (``KubeClient`` takes the current one)."""

    def __init__(self, *, kubeconfig: Path | None, context: str) -> None:
        config = KubeConfig.from_file(str(kubeconfig)) if kubeconfig else KubeConfig.from_env()
        try:
            single = config.get(context)
        except ConfigError:
            raise errors.InvalidInput("the kubeconfig has no such context", field="--context") from None
        self._client = lightkube.AsyncClient(config=single, field_manager=USER_AGENT)
        inner = getattr(getattr(self._client, "_client", None), "_client", None)  # as KubeClient sets it
        if inner is not None and hasattr(inner, "headers"):
            inner.headers["User-Agent"] = agent(USER_AGENT)
        self.requests = collections.Counter()


def open_client(*, kubeconfig: Path | None, context: str | None) -> KubeClient:
    """A client of the cluster of ``kubeconfig`` (None: in-cluster, then ``$KUBECONFIG``) at
    ``context`` (None: its current context). Close it with ``await client.close()``."""
    try:
        if context is not None:
            return _ContextClient(kubeconfig=kubeconfig, context=context)
        return KubeClient(kubeconfig=kubeconfig, user_agent=USER_AGENT, field_manager=USER_AGENT)
    except ConfigError:
        raise errors.InvalidInput("no usable kubeconfig", field="--kubeconfig") from None


def _unreachable(error: Exception) -> errors.ShipwayError:
    if isinstance(error, errors.ShipwayError):
        return error
    return errors.KubernetesError(f"the Kubernetes API could not be reached ({type(error).__name__})")


async def read_kubero(client: KubeClient, *, namespace: str) -> list[dict[str, Any]]:
    """Kubero's own objects in ``namespace``, as one List (what ``kubectl get kubero,kuberopipelines -o yaml``
    prints)."""
    items: list[dict[str, Any]] = []
    try:
        for kind in (KUBERO, KUBERO_PIPELINE):
            try:
                listed = await client.list(kind, namespace=namespace)
            except errors.NotFound:
                raise errors.NotFound(f"{kind.plural}.{GROUP} is not served here: is Kubero installed?") from None
            items += [{"apiVersion": kind.api_version, "kind": kind.kind} | item for item in listed]
    except Exception as error:
        raise _unreachable(error) from None
    return [{"apiVersion": "v1", "kind": "List", "items": items}]


async def _get(client: KubeClient, kind: kinds.Kind, name: str, namespace: str | None = None
               ) -> dict[str, Any] | None:
    try:
        return await client.get(kind, name, namespace=namespace)
    except errors.NotFound:
        return None


async def read_cluster(client: KubeClient, export: KuberoExport) -> Cluster:
    """What the migration compares with: the Platform, and the Pipelines, Secrets and namespaces it names."""
    try:
        platform = await _get(client, kinds.PLATFORM, names.PLATFORM_NAME)
        pipelines, refs, namespaces = to_read(export, platform=platform)
        return Cluster(
            platform=platform,
            pipelines={n: body for n in pipelines if (body := await _get(client, kinds.PIPELINE, n)) is not None},
            secrets={r: body for r in refs
                     if (body := await _get(client, kinds.SECRET, r.name, r.namespace)) is not None},
            namespaces={n: body for n in namespaces if (body := await _get(client, kinds.NAMESPACE, n)) is not None})
    except Exception as error:
        raise _unreachable(error) from None


async def write(client: KubeClient, writes: Iterable[Write]) -> int:
    """Create or patch (merge) each write that is not already as wanted, in order; the number written."""
    done = 0
    try:
        for item in writes:
            kind = _KINDS[item.kind]
            if item.action == "create":
                await client.create(kind, item.body)
            elif item.action == "patch":
                await client.patch(kind, item.name, item.body, namespace=item.namespace)
            else:
                continue
            done += 1
    except Exception as error:
        raise _unreachable(error) from None
    return done
