"""Resource requests, from HTTP to cluster operations and back (the verbs of the API server).

Reads are answered from the cluster; writes go through :class:`writing.Writer` (plan, validating admission,
commit or, with ``dryRun=All``, only the answer), and carry the webhooks' ``Warning`` headers.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping
from typing import Any

import aiohttp.web

from shipway.sandbox.emulator import (
    admission,
    dryrun,
    errors,
    objects,
    patches,
    planning,
    tables,
    users,
    watching,
    writing,
)
from shipway.sandbox.emulator.access import UserInfo
from shipway.sandbox.emulator.cluster import Cluster
from shipway.sandbox.emulator.paths import ApiPath
from shipway.sandbox.emulator.resources import ResourceSpec
from shipway.sandbox.emulator.selectors import compile_selector


def json_response(body: objects.Body, *, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                                content_type="application/json")


def resolve(cluster: Cluster, path: ApiPath) -> ResourceSpec:
    spec = cluster.catalogue.get(path.group, path.version, path.plural)
    if spec is None:
        raise errors.NotFound("the server could not find the requested resource")
    if path.namespace is not None and not spec.namespaced:
        raise errors.NotFound("the server could not find the requested resource")
    if path.subresource is not None and path.subresource not in spec.subresources:
        raise errors.NotFound("the server could not find the requested resource")
    return spec


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise errors.BadRequest(f"error decoding the request body as JSON: {exc}") from exc


def _object_body(raw: bytes) -> objects.Body:
    body = _body(raw)
    if not isinstance(body, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    return body


WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


async def serve(raw_request: aiohttp.web.BaseRequest, *, cluster: Cluster, path: ApiPath, verb: str,
                spec: ResourceSpec, query: Mapping[str, str], body: bytes, bookmark_interval: float,
                webhooks: admission.ValidatingWebhooks | None = None,
                caller: UserInfo | None = None) -> aiohttp.web.StreamResponse:
    """Serve one resource request; writes go through admission (``caller`` is who webhooks are told about:
    the authenticated user, anonymous when the emulator authenticates nobody)."""
    if verb in WRITE_VERBS:
        writer = _writer(raw_request, cluster=cluster, verb=verb, body=body, webhooks=webhooks, caller=caller,
                         namespace=path.namespace)
        try:
            response = await _serve_write(raw_request, writer, cluster=cluster, path=path, verb=verb, spec=spec,
                                          query=query, body=body)
        except errors.ApiError as exc:
            response = json_response(exc.status(), status=exc.http_status)
        return writing.add_warnings(response, writer.warnings)
    namespace, name = path.namespace, path.name
    if verb in ("list", "watch"):
        selector = compile_selector(label_selector=query.get("labelSelector"),
                                    field_selector=query.get("fieldSelector"),
                                    group=spec.group, plural=spec.plural)
        if verb == "watch":
            request = watching.WatchRequest.from_query(spec, namespace, name, selector, query)
            return await watching.serve(raw_request, request, cluster=cluster, bookmark_interval=bookmark_interval)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise errors.BadRequest(f"invalid limit: {exc}") from exc
        listed = cluster.list(spec, namespace, selector, limit=limit, continue_token=query.get("continue"))
        return json_response(tables.maybe_table(raw_request.headers.get("Accept"), spec, listed, listing=True))
    if verb == "get" and name is not None:
        found = cluster.get(spec, namespace, name)
        return json_response(tables.maybe_table(raw_request.headers.get("Accept"), spec, found, listing=False))
    raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({verb})")


def _writer(raw_request: aiohttp.web.BaseRequest, *, cluster: Cluster, verb: str, body: bytes,
            webhooks: admission.ValidatingWebhooks | None, caller: UserInfo | None,
            namespace: str | None) -> writing.Writer:
    query = dryrun.Query.of(raw_request.query)
    deleting = verb in ("delete", "deletecollection")
    options = dryrun.delete_options(_body(body) if body else None, query) if deleting else None
    writer = writing.Writer(
        cluster=cluster, webhooks=webhooks or admission.ValidatingWebhooks(cluster.store, cluster.catalogue),
        user=caller or users.ANONYMOUS_USER, query=query, dry_run=False, delete_options=options,
        collection=verb == "deletecollection", collection_namespace=namespace,
    )
    writer.dry_run = dryrun.is_dry_run(verb, options) if options is not None else \
        dryrun.check(verb, query.all("dryRun"))
    return writer


async def _serve_write(raw_request: aiohttp.web.BaseRequest, writer: writing.Writer, *, cluster: Cluster,
                       path: ApiPath, verb: str, spec: ResourceSpec, query: Mapping[str, str],
                       body: bytes) -> aiohttp.web.StreamResponse:
    namespace, name, sub = path.namespace, path.name, path.subresource
    store = cluster.store
    if verb == "deletecollection":
        selector = compile_selector(label_selector=query.get("labelSelector"),
                                    field_selector=query.get("fieldSelector"),
                                    group=spec.group, plural=spec.plural)
        listed = cluster.list(spec, namespace, selector)
        for item in listed["items"]:  # one by one, each admitted; items gone meanwhile are skipped, as for real
            meta = objects.meta_of(item)
            plan = functools.partial(planning.plan_delete, store, spec, meta.get("namespace"), str(meta["name"]),
                                     options=writer.delete_options)
            with contextlib.suppress(errors.NotFound):
                await writer.run(plan)
        return json_response(listed)
    if verb == "create":
        incoming = _object_body(body)
        created, _write = await writer.run(lambda: planning.plan_create(store, spec, namespace, incoming))
        return json_response(created, status=201)
    assert name is not None  # every remaining verb addresses one object (see paths.verb_of)
    if verb == "update":
        incoming = _object_body(body)
        updated, _write = await writer.run(
            lambda: planning.plan_update(store, spec, namespace, name, incoming, subresource=sub))
        return json_response(updated)
    if verb == "patch":
        kind = patches.content_type(raw_request.headers.get("Content-Type"))
        document = patches.parse_document(kind, body)
        if kind == patches.APPLY and not query.get("fieldManager"):
            raise errors.Invalid('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is'
                                 " required for apply patch")
        patched, write = await writer.run(lambda: planning.plan_patch(
            store, spec, namespace, name, content_type=kind, document=document, subresource=sub))
        return json_response(patched, status=201 if write.operation == "CREATE" else 200)
    deleted, _write = await writer.run(
        lambda: planning.plan_delete(store, spec, namespace, name, options=writer.delete_options))
    return json_response(deleted)
