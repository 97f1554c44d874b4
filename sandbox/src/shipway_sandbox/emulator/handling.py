"""Resource requests, from HTTP to cluster operations and back (the verbs of the API server).

Reads are answered from the cluster (as a ``Table`` when asked: :mod:`tables`); writes go through
:class:`writing.Writer` (plan, validating admission, commit or, with ``dryRun=All``, only the answer), and carry
the ``Warning`` headers of field validation and of the webhooks. Before planning, as kube-apiserver's handlers
do: a patch's content type is checked (415 for strategic merge on a custom resource), the body decoded with
``fieldValidation`` (:mod:`field_validation`); a PUT of a custom resource must carry ``resourceVersion``
(422). Every create, update and patch records its field manager (:mod:`server_side_apply`), and an apply
patch is a server-side apply with ownership and conflicts.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Mapping
from typing import Any

import aiohttp.web

from shipway_sandbox.emulator import (
    admission,
    dryrun,
    errors,
    field_validation,
    objects,
    patches,
    paths,
    planning,
    resources,
    server_side_apply,
    tables,
    users,
    watching,
    writing,
)
from shipway_sandbox.emulator.access import UserInfo
from shipway_sandbox.emulator.cluster import Cluster
from shipway_sandbox.emulator.paths import ApiPath
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.selectors import compile_selector
from shipway_sandbox.emulator.store import ObjectStore


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
            request = tables.table_watch(raw_request.headers.get("Accept"), watching.WatchRequest.from_query(
                spec, namespace, name, selector, query), cluster.store)
            return await watching.serve(raw_request, request, cluster=cluster, bookmark_interval=bookmark_interval)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise errors.BadRequest(f"invalid limit: {exc}") from exc
        listed = cluster.list(spec, namespace, selector, limit=limit, continue_token=query.get("continue"))
        return json_response(_as_table(raw_request, cluster, spec, listed, listing=True))
    if verb == "get" and name is not None:
        found = cluster.get(spec, namespace, name)
        return json_response(_as_table(raw_request, cluster, spec, found, listing=False))
    raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({verb})")


def _as_table(raw_request: aiohttp.web.BaseRequest, cluster: Cluster, spec: ResourceSpec, body: objects.Body, *,
              listing: bool) -> objects.Body:
    """The answer of a read: a Table when the client asked for one (with a custom resource's printer columns)."""
    accept = raw_request.headers.get("Accept")
    if not tables.wants_table(accept):
        return body
    return tables.maybe_table(accept, spec, body, listing=listing, columns=tables.columns_of(cluster.store, spec))


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
    if verb == "delete":
        assert name is not None
        deleted, _write = await writer.run(
            lambda: planning.plan_delete(store, spec, namespace, name, options=writer.delete_options))
        return json_response(deleted)
    custom = is_custom(cluster, spec)
    manager = server_side_apply.manager_for(query.get("fieldManager"), raw_request.headers.get("User-Agent"))
    if verb == "patch":
        return await _serve_patch(raw_request, writer, store=store, path=path, spec=spec, query=query, body=body,
                                  custom=custom, manager=manager)
    mode = field_validation.directive(verb, query.get("fieldValidation"))
    decoded = field_validation.decode_body(body, raw_request.headers.get("Content-Type"))
    incoming = field_validation.object_of(decoded)
    field_validation.check(spec, decoded, mode, writer.warnings)
    sent = server_side_apply.sent_managed_fields(incoming)
    if verb == "create":
        created, _write = await writer.run(lambda: server_side_apply.track(
            _pruned(planning.plan_create(store, spec, namespace, incoming)), manager=manager, sent=sent))
        return json_response(created, status=201)
    assert name is not None  # every remaining verb addresses one object (see paths.verb_of)

    def plan_update() -> planning.Write:
        if custom and objects.meta_of(incoming).get("resourceVersion") in (None, ""):
            planning.stored_object(store, spec, namespace, name)  # 404 first when there is no such object
            raise unconditional_update(spec, name)
        return server_side_apply.track(_pruned(planning.plan_update(store, spec, namespace, name, incoming,
                                                                    subresource=sub)), manager=manager, sent=sent)

    updated, _write = await writer.run(plan_update)
    return json_response(updated)


async def _serve_patch(raw_request: aiohttp.web.BaseRequest, writer: writing.Writer, *, store: ObjectStore,
                       path: ApiPath, spec: ResourceSpec, query: Mapping[str, str], body: bytes, custom: bool,
                       manager: str) -> aiohttp.web.StreamResponse:
    namespace, name, sub = path.namespace, path.name, path.subresource
    assert name is not None
    kind = patches.content_type(raw_request.headers.get("Content-Type"))
    patches.check_content_type(kind, custom=custom)  # 415 first, as the patch handler does
    mode = field_validation.directive("patch", query.get("fieldValidation"))
    force = query.get("force")
    if kind == patches.APPLY:
        decoded = field_validation.decode_yaml(body)
        if not query.get("fieldManager"):
            raise errors.Invalid('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is'
                                 " required for apply patch")
        config = server_side_apply.check_config(spec, decoded.body)
        field_validation.check_apply(spec, decoded, mode, writer.warnings, namespace=namespace, name=name)
        forced = paths.go_bool(force)
        patched, write = await writer.run(lambda: server_side_apply.plan_apply(
            store, spec, namespace, name, config, manager=manager, force=forced, subresource=sub))
        return json_response(patched, status=201 if write.operation == "CREATE" else 200)
    if force is not None:
        raise errors.invalid_options("PatchOptions", "force", "FieldValueForbidden",
                                     "Forbidden: may not be specified for non-apply patch")
    decoded = field_validation.decode_json(body)
    document = patches.check_document(kind, decoded.body)
    checked = False

    def plan() -> planning.Write:
        nonlocal checked
        stored = store.get(spec, namespace if spec.namespaced else None, name)
        patched = patches.apply_patch(kind, stored, document) if stored is not None else None
        if patched is not None and not checked:  # strict decoding of the patched object, before validation
            checked = True
            extra = field_validation.json_patch_problems(decoded.tree) if kind == patches.JSON_PATCH else None
            field_validation.check(spec, decoded, mode, writer.warnings, patched=patched, prefix=False, extra=extra)
        write = planning.plan_patch(store, spec, namespace, name, content_type=kind, document=document,
                                    subresource=sub)
        sent = server_side_apply.sent_managed_fields(patched)
        if sent is not server_side_apply.UNSET and stored is not None and \
                sent == objects.meta_of(stored).get("managedFields"):
            sent = server_side_apply.UNSET  # the patch left them alone
        return server_side_apply.track(_pruned(write), manager=manager, sent=sent)

    patched, write = await writer.run(plan)
    return json_response(patched, status=201 if write.operation == "CREATE" else 200)


def _pruned(write: planning.Write) -> planning.Write:
    """A built-in kind's object without the fields its type lacks (decoding into the Go type drops them)."""
    if write.new is not None and write.action in ("create", "update", "noop"):
        write.new = field_validation.prune_unknown(write.spec, write.new)
    return write


def is_custom(cluster: Cluster, spec: ResourceSpec) -> bool:
    """Whether ``spec`` is served for a CustomResourceDefinition (rather than built in)."""
    return spec.group != "" and cluster.store.get(resources.CRDS, None, f"{spec.plural}.{spec.group}") is not None


def unconditional_update(spec: ResourceSpec, name: str) -> errors.Invalid:
    """A PUT without ``metadata.resourceVersion`` on a kind that does not allow unconditional updates (custom
    resources: ``AllowUnconditionalUpdate`` is false), as the registry's ``Update`` refuses it: the resource,
    not the kind, is named (``pipelines.shipway.dev "shop" is invalid: ...``)."""
    field = "metadata.resourceVersion"
    detail = "Invalid value: 0x0: must be specified for an update"
    return errors.invalid(spec.plural, spec.group, name, [{"reason": "FieldValueInvalid", "message": detail,
                                                            "field": field}],
                          message=f'{spec.qualified} "{name}" is invalid: {field}: {detail}')
