"""Resource requests, from HTTP to cluster operations and back (the verbs of the API server)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp.web

from shipway.sandbox.emulator import errors, objects, patches, tables, watching
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


async def serve(raw_request: aiohttp.web.BaseRequest, *, cluster: Cluster, path: ApiPath, verb: str,
                spec: ResourceSpec, query: Mapping[str, str], body: bytes,
                bookmark_interval: float) -> aiohttp.web.StreamResponse:
    namespace, name, sub = path.namespace, path.name, path.subresource
    if verb in ("list", "watch", "deletecollection"):
        selector = compile_selector(label_selector=query.get("labelSelector"),
                                    field_selector=query.get("fieldSelector"),
                                    group=spec.group, plural=spec.plural)
        if verb == "watch":
            request = watching.WatchRequest.from_query(spec, namespace, name, selector, query)
            return await watching.serve(raw_request, request, cluster=cluster, bookmark_interval=bookmark_interval)
        if verb == "deletecollection":
            options = _body(body) if body else None
            listed = cluster.list(spec, namespace, selector)
            for item in listed["items"]:
                meta = objects.meta_of(item)
                cluster.delete(spec, meta.get("namespace"), str(meta["name"]),
                               options=options if isinstance(options, dict) else None)
            return json_response(listed)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise errors.BadRequest(f"invalid limit: {exc}") from exc
        listed = cluster.list(spec, namespace, selector, limit=limit, continue_token=query.get("continue"))
        return json_response(tables.maybe_table(raw_request.headers.get("Accept"), spec, listed, listing=True))
    if verb == "create":
        created = cluster.create(spec, namespace, _object_body(body))
        return json_response(created, status=201)
    assert name is not None  # every remaining verb addresses one object (see paths.verb_of)
    if verb == "get":
        found = cluster.get(spec, namespace, name)
        return json_response(tables.maybe_table(raw_request.headers.get("Accept"), spec, found, listing=False))
    if verb == "update":
        return json_response(cluster.update(spec, namespace, name, _object_body(body), subresource=sub))
    if verb == "patch":
        kind = patches.content_type(raw_request.headers.get("Content-Type"))
        document = patches.parse_document(kind, body)
        if kind == patches.APPLY and not query.get("fieldManager"):
            raise errors.Invalid('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is'
                                 " required for apply patch")
        patched, was_created = cluster.patch(spec, namespace, name, content_type=kind, document=document,
                                         subresource=sub)
        return json_response(patched, status=201 if was_created else 200)
    if verb == "delete":
        options = _body(body) if body else None
        deleted = cluster.delete(spec, namespace, name, options=options if isinstance(options, dict) else None)
        return json_response(deleted)
    raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({verb})")
