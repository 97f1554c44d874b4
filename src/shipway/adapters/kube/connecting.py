"""Raw HTTP to the Kubernetes API for the adapters that need what lightkube's client hides (watch
resourceVersions, bookmarks, 410 Gone, optimistic-concurrency PUTs): an httpx client made from a kubeconfig.

The kubeconfig is read with lightkube's own parser, and TLS (the cluster's CA, client certificates) and
credentials (token, token file re-read on 401, exec plugin, basic) come from lightkube's helpers, so these
adapters authenticate exactly as :class:`~shipway.adapters.kube.client.KubeClient` does. lightkube builds
its auth for its own HTTP library (httpx2); :class:`_BorrowedAuth` drives those flows for an httpx request
(they only set headers and read the status code).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import User

from shipway import __version__
from shipway.adapters.kube.resources import Kind


class _BorrowedAuth(httpx.Auth):
    """One of lightkube's auth flows (token, token file, exec plugin, basic), driven for httpx requests."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._inner.async_auth_flow(request)
        outgoing: httpx.Request = await flow.__anext__()
        while True:
            response = yield outgoing
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return


def agent(user_agent: str, instance: str | None = None) -> str:
    """A User-Agent as Shipway sends it: ``name/version``, and the replica in parentheses when given."""
    return f"{user_agent}/{__version__}" + (f" ({instance})" if instance else "")


def connect(*, kubeconfig: Path | None, user_agent: str, timeout: float = 10.0,
            context: str | None = None, instance: str | None = None) -> httpx.AsyncClient:
    """An httpx client for the API server of ``kubeconfig`` (None: in-cluster, then ``$KUBECONFIG``).

    Close it with ``await client.aclose()``. ``timeout`` bounds connecting and each request; watches set
    their own read timeout.
    """
    config = KubeConfig.from_file(str(kubeconfig)) if kubeconfig is not None else KubeConfig.from_env()
    single = config.get(context)
    if single is None:  # pragma: no cover - KubeConfig.get raises rather than answer None without a default
        raise ValueError("the kubeconfig selects no context")
    user = single.user or User()
    verify = client_adapter.verify_cluster(single.cluster, user, single.abs_file)
    inner_auth = client_adapter.user_auth(single.user)
    return httpx.AsyncClient(
        base_url=single.cluster.server, verify=verify,
        auth=_BorrowedAuth(inner_auth) if inner_auth is not None else None,
        headers={"User-Agent": agent(user_agent, instance), "Accept": "application/json"},
        timeout=httpx.Timeout(timeout),
    )


def collection_path(kind: Kind, namespace: str | None = None) -> str:
    """``/api/v1/namespaces/NS/secrets``, ``/apis/GROUP/VERSION/PLURAL``, ... (all namespaces when None)."""
    base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    if kind.namespaced and namespace is not None:
        base += f"/namespaces/{namespace}"
    return f"{base}/{kind.plural}"


def object_path(kind: Kind, name: str, namespace: str | None = None) -> str:
    return f"{collection_path(kind, namespace)}/{name}"


def status_of(response: httpx.Response) -> tuple[int, str]:
    """The (code, reason) of an error answer, from its ``Status`` body when there is one (never its text:
    a message may quote the request)."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return int(body.get("code") or response.status_code), str(body.get("reason") or "")
    return response.status_code, response.reason_phrase
