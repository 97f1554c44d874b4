"""Patch documents and how they apply to a stored object (pure).

Supported content types, as the API server names them:

* ``application/merge-patch+json``: RFC 7386 (``null`` deletes, lists are replaced);
* ``application/strategic-merge-patch+json``: merged like a merge-patch, except the lists whose Go
  types declare ``patchStrategy: merge`` (see ``MERGE_KEYS``): lists of objects are merged item by item
  on their patch-merge key (new items appended, ``$patch: delete`` removes one), lists of strings are
  unioned (``$deleteFromPrimitiveList/<field>`` removes); ``$patch: replace|delete`` is honoured; other
  ``$`` directives (``$setElementOrder``, ``$retainKeys``) are dropped (a known simplification);
* ``application/json-patch+json``: RFC 6902, a failed ``test`` is 422 Invalid;
* ``application/apply-patch+yaml``: server-side apply, with field ownership and conflicts (see
  :mod:`server_side_apply`; not applied here).

Custom resources accept every type but strategic merge, which they answer with 415 Unsupported Media Type
(their Go types are unknown to the server: https://kubernetes.io/docs/tasks/manage-kubernetes-objects/
update-api-object-kubectl-patch/#notes-on-the-strategic-merge-patch), as does any unknown content type.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import jsonpointer
import yaml

from shipway_sandbox.emulator import errors, objects

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"
KNOWN = frozenset({MERGE, STRATEGIC, JSON_PATCH, APPLY})
# in the order the patch handler lists them (``patchTypes`` of the built-in and of the custom resource handlers)
BUILTIN_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)
CUSTOM_TYPES = (JSON_PATCH, MERGE, APPLY)


def content_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def check_content_type(kind: str, *, custom: bool) -> None:
    """415 Unsupported Media Type for a patch type the resource does not take (strategic merge on a custom
    resource, or an unknown type): ``negotiation.NewUnsupportedMediaTypeError(patchTypes)``."""
    accepted = CUSTOM_TYPES if custom else BUILTIN_TYPES
    if kind not in accepted:
        raise errors.UnsupportedMedia(f"the body of the request was in an unknown format - accepted media "
                                      f"types include: {', '.join(accepted)}")


def check_document(kind: str, doc: Any) -> Any:
    """A decoded JSON, merge or strategic patch document of the right shape (400 otherwise)."""
    if kind == JSON_PATCH:
        if not isinstance(doc, list):
            raise errors.BadRequest("json patch must be a list of operations")
    elif not isinstance(doc, dict):
        raise errors.BadRequest("patch body must be a JSON/YAML object")
    return doc


def parse_document(kind: str, raw: bytes) -> Any:
    """Decode a patch body; YAML for apply patches, JSON for the others."""
    check_content_type(kind, custom=False)
    try:
        doc = yaml.safe_load(raw.decode()) if kind == APPLY else json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.BadRequest(f"error decoding patch: {exc}") from exc
    if kind == JSON_PATCH:
        if not isinstance(doc, list):
            raise errors.BadRequest("json patch must be a list of operations")
    elif not isinstance(doc, dict):
        raise errors.BadRequest("patch body must be a JSON/YAML object")
    return doc


# Field name -> patch-merge key of the list, as the Kubernetes Go types declare them (None: a list of
# strings merged as a set). Only the fields whose patchStrategy is "merge"; every other list is replaced.
MERGE_KEYS: dict[str, str | None] = {
    "imagePullSecrets": "name",   # PodSpec, ServiceAccount
    "secrets": "name",            # ServiceAccount
    "ownerReferences": "uid",     # ObjectMeta
    "finalizers": None,           # ObjectMeta
    "containers": "name", "initContainers": "name", "volumes": "name", "env": "name",
    "volumeMounts": "mountPath", "conditions": "type",
}
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _merge_list(field: str, target: Any, patch: list[Any]) -> list[Any]:
    key = MERGE_KEYS[field]
    current = list(target) if isinstance(target, list) else []
    if key is None:
        return current + [item for item in patch if item not in current]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            current.append(item)
            continue
        index = next((i for i, have in enumerate(current) if isinstance(have, dict) and have.get(key) == item[key]),
                     None)
        if item.get("$patch") == "delete":
            if index is not None:
                current.pop(index)
        elif index is None:
            current.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            current[index] = merge(current[index], item, strategic=True)
    return current


def merge(target: Any, patch: Any, *, strategic: bool = False) -> Any:
    """RFC 7386 merge; with ``strategic``, also the ``$patch`` directive and dropping of ``$`` keys."""
    if not isinstance(patch, dict):
        return patch
    if strategic:
        directive = patch.get("$patch")
        if directive == "delete":
            return None
        if directive == "replace":
            return {k: v for k, v in patch.items() if not k.startswith("$")}
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if strategic and key.startswith(_DELETE_PRIMITIVE) and isinstance(value, list):
            field = key[len(_DELETE_PRIMITIVE):]
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if item not in value]
            continue
        if strategic and key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        if strategic and key in MERGE_KEYS and isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
            continue
        merged = merge(result.get(key), value, strategic=strategic)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def apply_json_patch(target: objects.Body, operations: list[Any]) -> objects.Body:
    try:
        patched = jsonpatch.JsonPatch(operations).apply(target, in_place=False)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise errors.Invalid(f"the server rejected our request due to an error in our request: {exc}") from exc
    except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException) as exc:
        raise errors.Invalid(f"the server rejected our request due to an error in our request: {exc}") from exc
    except (jsonpatch.InvalidJsonPatch, TypeError, KeyError) as exc:
        raise errors.BadRequest(f"invalid json patch: {exc}") from exc
    if not isinstance(patched, dict):
        raise errors.Invalid("the patched document is not an object")
    return patched


def apply_patch(kind: str, target: objects.Body, document: Any) -> objects.Body:
    """The object after applying ``document`` of content type ``kind`` to ``target`` (not mutated)."""
    if kind == JSON_PATCH:
        return apply_json_patch(target, document)
    result = merge(objects.deep_copy(target), document, strategic=kind == STRATEGIC)
    return result if isinstance(result, dict) else {}
