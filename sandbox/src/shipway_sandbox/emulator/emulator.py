"""``ClusterEmulator``: kmock's KubernetesEmulator with the fidelity of a real kube-apiserver.

kmock keeps the objects (``emulator.objects``, with their history) and the raw request log; this
subclass replaces its request handling for every Kubernetes path (see the package docstring for the
gaps it closes). Paths that are neither API nor discovery still reach kmock's own reactions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import aiohttp.web
import attrs
import kmock

from shipway_sandbox.emulator import (
    access,
    accounting,
    admission,
    collecting,
    controllers,
    discovery,
    errors,
    handling,
    kubeconfig,
    limits,
    openapi,
    paths,
    rbac,
    resources,
    reviews,
    users,
)
from shipway_sandbox.emulator.cluster import Cluster
from shipway_sandbox.emulator.faults import Faults, WatchGate
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec
from shipway_sandbox.emulator.side import SideEndpoints
from shipway_sandbox.emulator.store import ObjectStore, kmock_resource

logger = logging.getLogger(__name__)
_KMOCK_ACTIONS = {"get": kmock.action.FETCH, "list": kmock.action.LIST, "watch": kmock.action.WATCH,
                  "create": kmock.action.CREATE, "update": kmock.action.UPDATE, "patch": kmock.action.UPDATE,
                  "delete": kmock.action.DELETE}

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_PLAIN_OK = frozenset({"/healthz", "/livez", "/readyz"})


def _as_users(value: users.Users | str | os.PathLike[str] | None) -> users.Users | None:
    if value is None or isinstance(value, users.Users):
        return value
    return users.load(value)


@attrs.define(kw_only=True)
class ClusterEmulator(kmock.KubernetesEmulator):
    """An in-memory Kubernetes API server; serve it with :class:`shipway_sandbox.emulator.EmulatorServer`.

    ``users`` (a :class:`~shipway_sandbox.emulator.users.Users` or the path of a users file) turns on
    authentication and RBAC authorization of every request, as a real API server with a token file does;
    without it, any token is accepted and everything is allowed. TokenReview and SubjectAccessReviews are
    answered either way (TokenReview authenticates nobody without users). ``rbac_defaults`` creates the
    bootstrap ClusterRoles and bindings of a real cluster (default: when ``users`` is given).

    Every write is admitted by the webhooks of the stored ValidatingWebhookConfigurations (:attr:`webhooks`,
    see :mod:`~shipway_sandbox.emulator.admission`), which are told the authenticated caller (anonymous
    without ``users`` or an ``authenticator``); ``dryRun=All`` writes are answered and never stored.
    """

    service_account_delay: float = controllers.SERVICE_ACCOUNT_DELAY  # ServiceAccount controller's lag (seconds)
    gc_delay: float = controllers.GC_DELAY  # the garbage collector's lag after a change of ownership
    namespace_deletion_delay: float = controllers.NAMESPACE_DELETION_DELAY  # a namespace controller pass's lag
    bookmark_interval: float = 60.0
    change_retention: int = 10_000  # changes kept for watches and paginated lists; older ones get 410 Gone...
    change_retention_seconds: float | None = 300.0  # ... and changes older than this (etcd's compaction interval)
    min_request_timeout: float = 1800.0  # watches without timeoutSeconds end after 1 to 2 times this
    owner_references_permission_enforcement: bool = True  # the admission plugin (see :mod:`guards`)
    initial_namespaces: tuple[str, ...] = INITIAL_NAMESPACES
    authenticator: access.Authenticator | None = None
    authorizer: access.Authorizer | None = None
    users: users.Users | None = attrs.field(default=None, converter=_as_users)
    rbac_defaults: bool | None = None
    kmock_request_memory: int = 1000  # kmock's own raw request log is trimmed to this many entries

    ledger: accounting.RequestLedger = attrs.field(factory=accounting.RequestLedger, init=False)
    faults: Faults = attrs.field(factory=Faults, init=False)  # injected failures: see :mod:`faults`
    watch_gate: WatchGate = attrs.field(factory=WatchGate, init=False)
    catalogue: Catalogue = attrs.field(factory=lambda: Catalogue(resources.BUILTIN_RESOURCES), init=False)
    cluster: Cluster = attrs.field(init=False)
    rbac: rbac.RbacAuthorizer = attrs.field(init=False)
    webhooks: admission.ValidatingWebhooks = attrs.field(init=False)
    side: SideEndpoints = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        store = ObjectStore(array=self.objects, retention=self.change_retention,
                            retention_seconds=self.change_retention_seconds)
        self.cluster = Cluster(catalogue=self.catalogue, store=store, timing=controllers.Timing(
            service_account_delay=self.service_account_delay, gc_delay=self.gc_delay,
            namespace_deletion_delay=self.namespace_deletion_delay))
        self.cluster.authorizer = lambda: self.authorizer if self.authenticator is not None else None
        self.cluster.owner_references_permission_enforcement = self.owner_references_permission_enforcement
        self.cluster.min_request_timeout = self.min_request_timeout
        for name in self.initial_namespaces:
            self.cluster.create(resources.NAMESPACES, None, {"metadata": {"name": name}})
            collecting.ensure_default_service_account(self.cluster, name)
        self.rbac = rbac.RbacAuthorizer(store)
        self.webhooks = admission.ValidatingWebhooks(store, self.catalogue)
        if self.users is not None:
            if self.authenticator is None:
                self.authenticator = self.users
            if self.authorizer is None:
                self.authorizer = self.rbac
        if self.rbac_defaults if self.rbac_defaults is not None else self.users is not None:
            for spec, body in rbac.bootstrap_policy():
                self.cluster.create(spec, None, body)
        self.side = SideEndpoints(ledger=self.ledger, faults=self.faults, gate=self.watch_gate,
                                  changes=store.changes, authenticator=self.authenticator,
                                  authorizer=self.authorizer)

    @property
    def kubeconfig_token(self) -> str:
        """The bearer token a kubeconfig for this emulator carries: the admin's when there are users."""
        return self.users.admin.token if self.users is not None else kubeconfig.DUMMY_TOKEN

    def register(self, spec: ResourceSpec) -> None:
        """Serve one more resource (as a built-in: it survives no CRD deletion)."""
        self.catalogue.register(spec)

    def close_watches(self) -> None:
        """End every open watch stream (and answer held ones 503), as an API server does when it shuts down."""
        self.cluster.store.changes.close()
        self.watch_gate.refuse_held()
        self.cluster.timers.cancel()  # the controllers stop with the server

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Entry point from aiohttp: kmock's own, minus its path parser (it fails on /api/v1/namespaces)."""
        body = await raw_request.read()
        request = kmock.Request(
            id=len(self._requests), raw_request=raw_request, url=raw_request.url, method=raw_request.method,
            params=dict(raw_request.query), headers=dict(raw_request.headers), body=body,
            text=body.decode(errors="replace"), **_kmock_coordinates(raw_request),
        )
        self._requests.append(request)
        try:
            return await self._handle(request)
        except Exception as exc:  # a bug of ours: answer 500 with a Status, as kube-apiserver does on panics
            logger.exception("emulator failure on %s %s", raw_request.method, raw_request.path)
            failure = errors.ApiError(f"emulator failure: {exc!r}")
            return handling.json_response(failure.status(), status=500)

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        if len(self._requests) > self.kmock_request_memory:
            del self._requests[: len(self._requests) - self.kmock_request_memory]
        raw: aiohttp.web.BaseRequest = request._raw_request
        url_path: str = raw.path
        if url_path.startswith(accounting.SIDE_PREFIX):
            return await self.side.serve(raw)
        route = paths.parse(url_path)
        query = {k: v for k, v in raw.query.items()}
        verb = paths.verb_of(raw.method, route, query) if isinstance(route, paths.ApiPath) else None
        recorded = False
        status = 500

        def record(code: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            api = route if isinstance(route, paths.ApiPath) else None
            self.ledger.record(accounting.RequestRecord(
                method=raw.method, path=url_path, verb=verb,
                group=api.group if api else None, plural=api.plural if api else None,
                namespace=api.namespace if api else None, subresource=api.subresource if api else None,
                user_agent=raw.headers.get("User-Agent", ""), status=code,
            ))

        try:
            if not isinstance(route, paths.ApiPath):
                await access.admit(raw.headers, access.RequestAttributes.non_resource(raw.method.lower(), url_path),
                                   authenticator=self.authenticator, authorizer=self.authorizer)
            if isinstance(route, paths.ApiPath):
                response = await self._serve_resource(raw, route, verb, query, request.body, record)
            elif isinstance(route, paths.DiscoveryPath):
                response = handling.json_response(discovery.document(route, self.catalogue))
            elif url_path.rstrip("/") in ("/version", ""):
                body = discovery.SERVER_VERSION if url_path.startswith("/version") else \
                    discovery.root_paths(self.catalogue)
                response = handling.json_response(body)
            elif openapi.handles(url_path):  # OpenAPI v2/v3 documents (see :mod:`openapi`)
                response = openapi.serve(raw, self.catalogue)
            elif url_path in _PLAIN_OK:
                response = aiohttp.web.Response(text="ok")
            else:
                response = await self._serve_by_kmock(request)
            status = response.status
            return response
        except errors.ApiError as exc:
            status = exc.http_status
            return handling.json_response(exc.status(), status=exc.http_status)
        finally:
            record(status)

    async def _serve_resource(self, raw: aiohttp.web.BaseRequest, route: paths.ApiPath, verb: str | None,
                         query: dict[str, str], body: bytes,
                         record: Callable[[int], None]) -> aiohttp.web.StreamResponse:
        if verb is None:
            raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource"
                                          f" ({raw.method})")
        namespace = route.namespace
        if route.group == "" and route.plural == "namespaces":
            namespace = route.name  # as the API server's RequestInfo: a Namespace is in itself
        caller = await access.admit(raw.headers, access.RequestAttributes(
            verb=verb, group=route.group, version=route.version, resource=route.plural,
            subresource=route.subresource, namespace=namespace,
            name=route.name or access.selected_name(verb, query.get("fieldSelector")),
        ), authenticator=self.authenticator, authorizer=self.authorizer)  # before routing, as the API server does
        spec = handling.resolve(self.cluster, route)
        limits.check_request_body(verb, body)  # 413 over 3 MiB
        fault = self.faults.take(verb=verb, group=route.group, plural=route.plural, subresource=route.subresource,
                                 namespace=namespace, name=route.name, user=caller.username if caller else None)
        if fault is not None:
            raise fault
        if reviews.is_review(spec):
            return await self._serve_review(spec, route, verb, body, caller)
        if verb == "watch":
            await self.watch_gate.admit()  # held while watches are paused (see :mod:`faults`)
            if raw.transport is None or raw.transport.is_closing():  # its client gave up meanwhile
                return aiohttp.web.Response(status=499)
            record(200)  # counted when the stream starts, not when it ends
        return await handling.serve(raw, cluster=self.cluster, path=route, verb=verb, spec=spec, query=query,
                                    body=body, bookmark_interval=self.bookmark_interval, webhooks=self.webhooks,
                                    caller=caller)

    async def _serve_review(self, spec: ResourceSpec, route: paths.ApiPath, verb: str, body: bytes,
                            caller: access.UserInfo | None) -> aiohttp.web.StreamResponse:
        """Reviews are computed, answered with 201, and never stored."""
        if verb != "create" or route.name is not None:
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        answer = await reviews.answer(spec, body, namespace=route.namespace, caller=caller,
                                      authenticator=self.authenticator, authorizer=self.authorizer, rbac=self.rbac)
        return handling.json_response(answer, status=201)

    async def _serve_by_kmock(self, request: Any) -> aiohttp.web.StreamResponse:
        """Other paths: kmock's own reactions (e.g. ``emulator['/custom'] << b'...'``), else a 404 Status."""
        try:
            response: aiohttp.web.StreamResponse = await super()._handle(request)
        except kmock.KubernetesError as exc:
            if exc.status == 404:
                raise errors.NotFound("the server could not find the requested resource") from exc
            raise
        return response


def _kmock_coordinates(raw: aiohttp.web.BaseRequest) -> dict[str, Any]:
    """kmock's request fields (for its request-log assertions), from our own path parser."""
    route = paths.parse(raw.path)
    if not isinstance(route, paths.ApiPath):
        return {}
    verb = paths.verb_of(raw.method, route, raw.query)
    return {
        "action": _KMOCK_ACTIONS.get(verb or ""),
        "resource": kmock_resource(route.group, route.version, route.plural),
        "namespace": route.namespace,
        "name": route.name,
        "subresource": route.subresource,
    }
