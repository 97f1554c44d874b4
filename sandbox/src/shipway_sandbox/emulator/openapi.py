"""OpenAPI discovery: ``/openapi/v3`` (an index and one document per group-version) and ``/openapi/v2``.

What kube-apiserver publishes (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition),
built here from the resource catalogue at each request, so a CRD's schema is published as soon as it is served:

* ``GET /openapi/v3``: ``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}``,
  one entry per served group-version; the hash is the SHA-512 of the document, so a client may cache a
  document by its URL (``?hash=`` that matches: ``Cache-Control: public, immutable``; a stale hash is
  redirected to the current one, as kube-openapi's handler does);
* ``GET /openapi/v3/apis/<group>/<version>``: the paths of every resource of the group-version, each
  operation with ``x-kubernetes-action`` and ``x-kubernetes-group-version-kind``, its query parameters
  (``dryRun``, ``fieldManager``, ``fieldValidation``, ``force``...) and, for PATCH, the content types it
  accepts (strategic merge only for built-in kinds: custom resources refuse it with 415); and
  ``components.schemas``: the kinds with their ``x-kubernetes-group-version-kind``. A custom resource's
  schema is its CRD version's structural ``openAPIV3Schema`` (descriptions included), with ``metadata`` as
  a reference to ``ObjectMeta``, as the apiextensions-apiserver's builder publishes it;
* ``GET /openapi/v2``: the same paths and definitions in Swagger 2.0, as JSON.

kubectl reads these for ``kubectl explain`` (v3), for choosing server-side field validation (it looks for the
``fieldValidation`` parameter of the kind's PATCH operation in v3, and validates client-side otherwise) and
for choosing the patch type of a client-side ``kubectl apply`` (strategic merge when the kind's PATCH
accepts it). Built-in kinds are described field by field where :mod:`builtin_schemas` has them, and
otherwise as objects with ``apiVersion``, ``kind`` and ``metadata`` only.

Not served: ``/openapi/v2`` as protobuf (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``, what
kubectl asks for): it is answered 406 Not Acceptable, which every kubectl code path that reads v2 treats as
"no v2 document" (kubectl 1.27+ reads v3 first for all of the above).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import aiohttp.web

from shipway_sandbox.emulator import builtin_schemas, errors
from shipway_sandbox.emulator.builtin_schemas import OBJECT_META, Schema
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec

V2 = "/openapi/v2"
V3 = "/openapi/v3"
JSON = "application/json"
PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
STATUS, PATCH, DELETE_OPTIONS, LIST_META, WATCH_EVENT = (f"{META}.{name}" for name in (
    "Status", "Patch", "DeleteOptions", "ListMeta", "WatchEvent"))
CUSTOM_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
BUILTIN_PATCH_TYPES = (*CUSTOM_PATCH_TYPES[:2], "application/strategic-merge-patch+json", CUSTOM_PATCH_TYPES[2])


def handles(path: str) -> bool:
    return path in (V2, V3) or path.startswith(V3 + "/")


# -- parameters ------------------------------------------------------------------------------------------
_PARAMETERS: dict[str, str] = {
    "dryRun": "When present, indicates that modifications should not be persisted. An invalid or unrecognized "
              "dryRun directive will result in an error response and no further processing of the request. Valid "
              "values are: - All: all dry run stages will be processed",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these changes. The "
                    "value must be less than or 128 characters long, and only contain printable characters, as "
                    "defined by https://golang.org/pkg/unicode/#IsPrint.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
                       "containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any "
                       "unknown fields that are silently dropped from the object, and will ignore all but the last "
                       "duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - "
                       "Warn: This will send a warning via the standard warning response header for each unknown "
                       "field that is dropped from the object, and for each duplicate field that is encountered. The "
                       "request will still succeed if there are no other errors, and will only persist the last of "
                       "any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request "
                       "with a BadRequest error if any unknown fields would be dropped from the object, or if any "
                       "duplicate fields are present. The error returned from the server will contain all unknown "
                       "and duplicate fields encountered.",
    "force": "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by "
             "other people. Force flag must be unset for non-apply patch requests.",
    "pretty": "If 'true', then the output is pretty printed.",
    "labelSelector": "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    "limit": "limit is a maximum number of responses to return for a list call.",
    "continue": "The continue option should be set when retrieving more results from the server.",
    "resourceVersion": "resourceVersion sets a constraint on what resource versions a request may be served from.",
    "timeoutSeconds": "Timeout for the list/watch call.",
    "watch": "Watch for changes to the described resources and return them as a stream of add, update, and "
             "remove notifications.",
    "allowWatchBookmarks": "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
    "gracePeriodSeconds": "The duration in seconds before the object should be deleted.",
    "propagationPolicy": "Whether and how garbage collection will be performed.",
}
_BOOLEAN = frozenset({"force", "watch", "allowWatchBookmarks"})
_INTEGER = frozenset({"limit", "timeoutSeconds", "gracePeriodSeconds"})
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
         "timeoutSeconds", "watch")


def _parameter(name: str, *, v2: bool) -> dict[str, Any]:
    kind = "boolean" if name in _BOOLEAN else "integer" if name in _INTEGER else "string"
    parameter: dict[str, Any] = {"name": name, "in": "query", "description": _PARAMETERS[name]}
    if v2:
        parameter.update(type=kind, uniqueItems=True)
    else:
        parameter["schema"] = {"type": kind, "uniqueItems": True}
    return parameter


def _path_parameter(name: str, description: str, *, v2: bool) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "path", "required": True, "description": description}
    if v2:
        parameter.update(type="string", uniqueItems=True)
    else:
        parameter["schema"] = {"type": "string", "uniqueItems": True}
    return parameter


# -- schemas ---------------------------------------------------------------------------------------------
def _gvk(spec: ResourceSpec, kind: str | None = None) -> dict[str, str]:
    return {"group": spec.group, "kind": kind or spec.kind, "version": spec.version}


def _ref(name: str, *, v2: bool) -> str:
    return f"#/definitions/{name}" if v2 else f"#/components/schemas/{name}"


def _metadata_ref(*, v2: bool) -> Schema:
    if v2:
        return {"$ref": _ref(OBJECT_META, v2=True), "description": builtin_schemas.METADATA_DESCRIPTION}
    return {"allOf": [{"$ref": _ref(OBJECT_META, v2=False)}], "default": {},
            "description": builtin_schemas.METADATA_DESCRIPTION}


def kind_schema(spec: ResourceSpec, *, v2: bool = False) -> Schema:
    """The published schema of a kind: a custom resource's CRD schema, a described built-in kind's, or a
    placeholder with ``apiVersion``, ``kind`` and ``metadata``."""
    if spec.schema is not None:
        schema = copy.deepcopy(dict(spec.schema))
        schema.setdefault("type", "object")
    else:
        described = builtin_schemas.schema_for(spec)
        schema = copy.deepcopy(described) if described is not None else {
            "type": "object", "description": f"{spec.kind} ({spec.group_version}): not described by this emulator.",
            "x-kubernetes-preserve-unknown-fields": True}
    properties = dict(schema.get("properties") or {})
    properties["apiVersion"] = builtin_schemas.API_VERSION
    properties["kind"] = builtin_schemas.KIND
    properties["metadata"] = _metadata_ref(v2=v2)
    schema["properties"] = {"apiVersion": properties.pop("apiVersion"), "kind": properties.pop("kind"),
                            "metadata": properties.pop("metadata"), **properties}
    schema["x-kubernetes-group-version-kind"] = [_gvk(spec)]
    return _v2_schema(schema) if v2 else schema


def _v2_schema(schema: Any) -> Any:
    """A v3 structural schema as Swagger 2.0 can say it (as ``ToStructuralOpenAPIV2`` does: no ``nullable``,
    an int-or-string has no type)."""
    if isinstance(schema, list):
        return [_v2_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _v2_schema(v) for k, v in schema.items() if k != "nullable"}
    if out.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
    return out


def _list_schema(spec: ResourceSpec, name: str, *, v2: bool) -> Schema:
    return {
        "type": "object", "description": f"{spec.kind}List is a list of {spec.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": builtin_schemas.API_VERSION,
            "items": {"type": "array", "description": f"List of {spec.plural}.",
                      "items": {"$ref": _ref(name, v2=v2)}},
            "kind": builtin_schemas.KIND,
            "metadata": {"$ref": _ref(LIST_META, v2=v2)} if v2 else {"allOf": [{"$ref": _ref(LIST_META, v2=v2)}]},
        },
        "x-kubernetes-group-version-kind": [_gvk(spec, spec.kind + "List")],
    }


def _meta_schemas(*, v2: bool) -> dict[str, Schema]:
    meta = copy.deepcopy(builtin_schemas.OBJECT_META_SCHEMA)
    return {
        OBJECT_META: _v2_schema(meta) if v2 else meta,
        LIST_META: {"type": "object", "description": "ListMeta describes metadata that synthetic resources must "
                    "have, including lists and various status objects.", "properties": {
                        "continue": {"type": "string", "description": "continue may be set if the user set a limit "
                                     "on the number of items returned."},
                        "remainingItemCount": {"type": "integer", "format": "int64", "description": (
                            "remainingItemCount is the number of subsequent items in the list which are not "
                            "included in this list response.")},
                        "resourceVersion": {"type": "string", "description": "String that identifies the server's "
                                            "internal version of this object."}}},
        STATUS: {"type": "object", "description": "Status is a return value for calls that don't return other "
                 "objects.", "x-kubernetes-preserve-unknown-fields": True},
        PATCH: {"type": "object", "description": "Patch is provided to give a concrete name and type to the "
                "Kubernetes PATCH request body."},
        DELETE_OPTIONS: {"type": "object", "description": "DeleteOptions may be provided when deleting an API "
                         "object.", "x-kubernetes-preserve-unknown-fields": True},
        WATCH_EVENT: {"type": "object", "description": "Event represents a single event to a watched resource.",
                      "required": ["type", "object"], "properties": {
                          "object": {"type": "object", "description": "Object is the object of the event."},
                          "type": {"type": "string", "default": ""}}},
    }


# -- paths -----------------------------------------------------------------------------------------------
def _is_custom(spec: ResourceSpec) -> bool:
    return spec.schema is not None


def _base(spec: ResourceSpec) -> str:
    return f"/apis/{spec.group}/{spec.version}" if spec.group else f"/api/{spec.version}"


def _operation(spec: ResourceSpec, action: str, operation_id: str, description: str, *, params: Iterable[str],
               body: tuple[str, ...] = (), response: str | None, v2: bool, kind: str | None = None) -> Schema:
    name = builtin_schemas.definition_name(spec)
    referenced = response or name
    op: Schema = {
        "description": description,
        "operationId": operation_id,
        "parameters": [_parameter(p, v2=v2) for p in params],
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
        "tags": [f"{spec.group_version.replace('/', '_').replace('.', '')}"],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(spec, kind),
    }
    if v2:
        op["responses"]["200"]["schema"] = {"$ref": _ref(referenced, v2=True)}
        op["produces"] = ["application/json", "application/yaml"]
        op["schemes"] = ["https"]
        if body:
            op["consumes"] = list(body)
            op["parameters"].append({"name": "body", "in": "body", "required": True,
                                     "schema": {"$ref": _ref(PATCH if action == "patch" else name, v2=True)}})
        else:
            op["consumes"] = ["*/*"]
    else:
        op["responses"]["200"]["content"] = {"application/json": {"schema": {"$ref": _ref(referenced, v2=False)}}}
        if body:
            reference = {"$ref": _ref(PATCH if action == "patch" else name, v2=False)}
            op["requestBody"] = {"content": {media: {"schema": reference} for media in body}, "required": True}
    return op


def _paths(spec: ResourceSpec, *, v2: bool) -> dict[str, Schema]:
    kind, plural = spec.kind, spec.plural
    custom = _is_custom(spec)
    group_id = "".join(part.capitalize() for part in (spec.group or "core").split(".")[0:1]) + \
        spec.version.capitalize()
    patch_types = CUSTOM_PATCH_TYPES if custom else BUILTIN_PATCH_TYPES
    name_param = _path_parameter("name", f"name of the {kind}", v2=v2)
    ns_param = _path_parameter("namespace", "object name and auth scope, such as for teams and projects", v2=v2)
    scoped = [ns_param] if spec.namespaced else []
    collection = f"{_base(spec)}/namespaces/{{namespace}}/{plural}" if spec.namespaced else f"{_base(spec)}/{plural}"
    suffix = "Namespaced" if spec.namespaced else ""
    verbs = spec.verbs
    result: dict[str, Schema] = {}

    ops: Schema = {}
    if "list" in verbs:
        ops["get"] = _operation(spec, "list", f"list{group_id}{suffix}{kind}", f"list or watch objects of kind {kind}",
                                params=_LIST, response=builtin_schemas.definition_name(spec) + "List", v2=v2)
    if "create" in verbs:
        ops["post"] = _operation(spec, "post", f"create{group_id}{suffix}{kind}", f"create a {kind}",
                                 params=("pretty", *_WRITE), body=(JSON, "application/yaml"), response=None, v2=v2)
    if "deletecollection" in verbs:
        ops["delete"] = _operation(spec, "deletecollection", f"deletecollection{group_id}{suffix}{kind}",
                                   f"delete collection of {kind}", params=(*_LIST[1:6], "dryRun",
                                                                           "gracePeriodSeconds", "propagationPolicy"),
                                   response=STATUS, v2=v2)
    if ops:
        result[collection] = {**ops, "parameters": scoped}
    if spec.namespaced and "list" in verbs:
        result[f"{_base(spec)}/{plural}"] = {"get": _operation(
            spec, "list", f"list{group_id}{kind}ForAllNamespaces", f"list or watch objects of kind {kind}",
            params=_LIST, response=builtin_schemas.definition_name(spec) + "List", v2=v2)}

    item: Schema = {}
    if "get" in verbs:
        item["get"] = _operation(spec, "get", f"read{group_id}{suffix}{kind}", f"read the specified {kind}",
                                 params=("pretty",), response=None, v2=v2)
    if "update" in verbs:
        item["put"] = _operation(spec, "put", f"replace{group_id}{suffix}{kind}", f"replace the specified {kind}",
                                 params=("pretty", *_WRITE), body=(JSON, "application/yaml"), response=None, v2=v2)
    if "patch" in verbs:
        item["patch"] = _operation(spec, "patch", f"patch{group_id}{suffix}{kind}",
                                   f"partially update the specified {kind}", params=("pretty", *_WRITE, "force"),
                                   body=patch_types, response=None, v2=v2)
    if "delete" in verbs:
        item["delete"] = _operation(spec, "delete", f"delete{group_id}{suffix}{kind}", f"delete a {kind}",
                                    params=("pretty", "dryRun", "gracePeriodSeconds", "propagationPolicy"),
                                    response=STATUS, v2=v2)
    if item:
        result[f"{collection}/{{name}}"] = {**item, "parameters": [name_param, *scoped]}
    for sub in sorted(spec.subresources):
        title = sub.capitalize()
        result[f"{collection}/{{name}}/{sub}"] = {
            "get": _operation(spec, "get", f"read{group_id}{suffix}{kind}{title}",
                              f"read {sub} of the specified {kind}", params=("pretty",), response=None, v2=v2),
            "put": _operation(spec, "put", f"replace{group_id}{suffix}{kind}{title}",
                              f"replace {sub} of the specified {kind}", params=("pretty", *_WRITE),
                              body=(JSON, "application/yaml"), response=None, v2=v2),
            "patch": _operation(spec, "patch", f"patch{group_id}{suffix}{kind}{title}",
                                f"partially update {sub} of the specified {kind}",
                                params=("pretty", *_WRITE, "force"), body=patch_types, response=None, v2=v2),
            "parameters": [name_param, *scoped],
        }
    return result


# -- documents -------------------------------------------------------------------------------------------
def _group_version_key(spec: ResourceSpec) -> str:
    return f"apis/{spec.group}/{spec.version}" if spec.group else f"api/{spec.version}"


def _specs(catalogue: Catalogue) -> list[ResourceSpec]:
    return sorted(catalogue, key=lambda s: (s.group, s.version, s.plural))


def _document(specs: list[ResourceSpec], *, v2: bool) -> Schema:
    paths: dict[str, Schema] = {}
    schemas: dict[str, Schema] = _meta_schemas(v2=v2)
    for spec in specs:
        paths.update(_paths(spec, v2=v2))
        name = builtin_schemas.definition_name(spec)
        schemas[name] = kind_schema(spec, v2=v2)
        schemas[name + "List"] = _list_schema(spec, name, v2=v2)
    info = {"title": "Kubernetes", "version": _server_version()}
    if v2:
        return {"swagger": "2.0", "info": info, "paths": dict(sorted(paths.items())),
                "definitions": dict(sorted(schemas.items())),
                "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                                                        "description": "Bearer Token authentication"}},
                "security": [{"BearerToken": []}]}
    return {"openapi": "3.0.0", "info": info, "paths": dict(sorted(paths.items())),
            "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": {"BearerToken": {
                "type": "apiKey", "name": "authorization", "in": "header",
                "description": "Bearer Token authentication"}}}}


def _server_version() -> str:
    from shipway_sandbox.emulator import discovery  # a leaf module; imported late to keep this one light

    return str(discovery.SERVER_VERSION["gitVersion"])


def v3_documents(catalogue: Catalogue) -> dict[str, Schema]:
    """Every group-version's v3 document, by its index key (``api/v1``, ``apis/<group>/<version>``)."""
    by_key: dict[str, list[ResourceSpec]] = {}
    for spec in _specs(catalogue):
        by_key.setdefault(_group_version_key(spec), []).append(spec)
    return {key: _document(specs, v2=False) for key, specs in sorted(by_key.items())}


def v2_document(catalogue: Catalogue) -> Schema:
    return _document(_specs(catalogue), v2=True)


def _encoded(document: Schema) -> tuple[bytes, str]:
    data = json.dumps(document, separators=(",", ":")).encode()
    return data, hashlib.sha512(data).hexdigest().upper()


def v3_index(catalogue: Catalogue) -> Schema:
    return {"paths": {key: {"serverRelativeURL": f"{V3}/{key}?hash={_encoded(doc)[1]}"}
                      for key, doc in v3_documents(catalogue).items()}}


class NotAcceptable(errors.ApiError):
    code = 406
    reason = "NotAcceptable"


def _json(data: bytes, *, cache: str, etag: str | None = None) -> aiohttp.web.Response:
    headers = {"Cache-Control": cache}
    if etag:
        headers["Etag"] = f'"{etag}"'
    return aiohttp.web.Response(body=data, status=200, content_type=JSON, headers=headers)


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (JSON, "*/*", "application/*"):
            return True
    return False


def serve(raw_request: aiohttp.web.BaseRequest, catalogue: Catalogue) -> aiohttp.web.StreamResponse:
    """Answer a GET of ``/openapi/v2``, ``/openapi/v3`` or ``/openapi/v3/<group-version>``."""
    if raw_request.method not in ("GET", "HEAD"):
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource "
                                      f"({raw_request.method})")
    path = raw_request.path
    if path == V2:
        if not _accepts_json(raw_request.headers.get("Accept")):
            raise NotAcceptable(f"only the following media types are accepted: {JSON}")
        data, etag = _encoded(v2_document(catalogue))
        return _json(data, cache="no-cache, private", etag=etag)
    if path == V3:
        return _json(json.dumps(v3_index(catalogue), separators=(",", ":")).encode(), cache="no-cache, private")
    key = path[len(V3) + 1:].strip("/")
    document = v3_documents(catalogue).get(key)
    if document is None:
        raise errors.NotFound("the server could not find the requested resource")
    data, etag = _encoded(document)
    wanted = raw_request.query.get("hash")
    if wanted and wanted != etag:  # a stale link: where the current document is
        return aiohttp.web.Response(status=301, headers={"Location": f"{V3}/{key}?hash={etag}"})
    return _json(data, cache="public, immutable" if wanted else "no-cache, private", etag=etag)


