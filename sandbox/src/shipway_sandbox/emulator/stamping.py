"""Server-set fields and write rules of the API server, as pure functions over bodies.

* on create: ``uid``, ``resourceVersion``, ``generation`` 1, ``creationTimestamp``, the namespace from
  the path, ``apiVersion``/``kind``; ``generateName``; status dropped where a status subresource exists;
* on update: identity fields kept from the stored object; ``generation`` bumped only when something
  outside ``metadata`` (and outside ``status`` where a status subresource exists) changed;
* status subresource isolation: a write to ``/status`` changes only ``.status``, a write to the main
  resource keeps the stored ``.status``;
* a Namespace gets ``spec.finalizers`` with ``kubernetes`` and the phase ``Active`` on create; only its
  ``/finalize`` subresource changes ``spec.finalizers``, only ``/status`` its status;
* a Namespace always carries the label ``kubernetes.io/metadata.name: <its name>``, set on create and on every
  update (a write cannot remove or change it), as kube-apiserver does since 1.21 (``NamespaceDefaultLabelName``),
  so that namespace selectors can select a namespace by name.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from shipway_sandbox.emulator import errors, managed_fields, naming, objects, resources
from shipway_sandbox.emulator.resources import ResourceSpec

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_IDENTITY_FIELDS = ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                    "deletionGracePeriodSeconds", "generation")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def prepare_new(spec: ResourceSpec, incoming: objects.Body, *, namespace: str | None,
                revision: int) -> objects.Body:
    body = objects.deep_copy(incoming)
    meta = objects.metadata(body)
    if not meta.get("name"):
        if not meta.get("generateName"):
            raise errors.Invalid(f"{spec.kind}.{spec.group or 'core'} is invalid: metadata.name: Required value:"
                                 " name or generateName is required")
        meta["name"] = _generated_name(str(meta["generateName"]))
    naming.check_name(spec, str(meta["name"]))
    if spec.namespaced:
        if namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.BadRequest("the namespace of the provided object does not match the namespace sent"
                                    " on the request")
        meta["namespace"] = namespace or meta.get("namespace")
        if not meta["namespace"]:
            raise errors.BadRequest("the server could not find the requested resource: no namespace given")
    else:
        meta.pop("namespace", None)
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
        meta.pop(key, None)
    meta["uid"] = str(uuid.uuid4())
    meta["resourceVersion"] = str(revision)
    meta["generation"] = 1
    meta["creationTimestamp"] = objects.now_rfc3339()
    body["apiVersion"] = spec.group_version
    body["kind"] = spec.kind
    if spec.has_status:
        body.pop("status", None)
    _fold_string_data(spec, body)
    _defaults_on_create(spec, body)
    return body


def _fold_string_data(spec: ResourceSpec, body: objects.Body) -> None:
    """A Secret's ``stringData`` is write-only: the server folds it into ``data`` (stringData wins)."""
    if spec.key != resources.SECRETS.key or "stringData" not in body:
        return
    string_data = body.pop("stringData") or {}
    if not isinstance(string_data, dict):
        raise errors.Invalid("Secret is invalid: stringData: must be a map of strings")
    data = dict(body.get("data") or {})
    for key, value in string_data.items():
        if not isinstance(value, str):
            raise errors.Invalid(f"Secret is invalid: stringData[{key}]: must be a string")
        data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
    body["data"] = data


def _defaults_on_create(spec: ResourceSpec, body: objects.Body) -> None:
    if spec.key == resources.NAMESPACES.key:  # namespaceStrategy.PrepareForCreate
        namespace_spec: objects.Body = body["spec"] if isinstance(body.get("spec"), dict) else {}
        finalizers = [str(f) for f in namespace_spec.get("finalizers") or []]
        body["spec"] = {**namespace_spec, "finalizers": finalizers + ([] if "kubernetes" in finalizers
                                                                      else ["kubernetes"])}
        body["status"] = {"phase": "Active"}
        _label_namespace(body)
    elif spec.key == resources.CRDS.key:
        meta = objects.metadata(body)
        finalizers = objects.finalizers_of(body)
        if resources.CRD_CLEANUP_FINALIZER not in finalizers:
            meta["finalizers"] = [*finalizers, resources.CRD_CLEANUP_FINALIZER]
        body["status"] = resources.crd_accepted_status(body)


def _label_namespace(body: objects.Body) -> None:
    meta = objects.metadata(body)
    labels = meta.get("labels")
    meta["labels"] = {**(labels if isinstance(labels, dict) else {}), NAMESPACE_NAME_LABEL: meta["name"]}


def _comparable(spec: ResourceSpec, body: objects.Body, *, with_status: bool) -> objects.Body:
    skipped = {"metadata", "apiVersion", "kind"} | ({"status"} if not with_status else set())
    return {k: v for k, v in body.items() if k not in skipped}


def check_precondition(spec: ResourceSpec, stored: objects.Body, incoming: objects.Body) -> None:
    """Optimistic concurrency: a resourceVersion in the request must be the stored one (409 if not)."""
    wanted = objects.meta_of(incoming).get("resourceVersion")
    if wanted not in (None, "") and str(wanted) != objects.meta_of(stored).get("resourceVersion"):
        raise errors.conflict(spec.plural, str(objects.meta_of(stored).get("name")), spec.group)


def prepare_update(spec: ResourceSpec, stored: objects.Body, incoming: objects.Body, *,
                   subresource: str | None) -> objects.Body:
    """The object to store after a write of ``incoming``, or the stored object when nothing changed."""
    if subresource == "status":
        body = objects.deep_copy(stored)
        if "status" in incoming:
            body["status"] = objects.deep_copy(incoming["status"])
        else:
            body.pop("status", None)
    else:
        body = objects.deep_copy(incoming)
        if spec.has_status:
            if "status" in stored:
                body["status"] = objects.deep_copy(stored["status"])
            else:
                body.pop("status", None)
    if subresource != "status":
        _fold_string_data(spec, body)
    old_meta = objects.meta_of(stored)
    meta = objects.metadata(body)
    if meta.get("name") not in (None, old_meta.get("name")):
        raise errors.BadRequest(f"the name of the object ({meta.get('name')}) does not match the name on the"
                                f" URL ({old_meta.get('name')})")
    if subresource == "status":
        body["metadata"] = meta = objects.deep_copy(old_meta)
    for key in _IDENTITY_FIELDS:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    managed_fields.carry(meta, old_meta)  # kept for controllers' writes; a request recomputes them
    meta["resourceVersion"] = old_meta.get("resourceVersion")
    if spec.key == resources.NAMESPACES.key:
        _label_namespace(body)
        if subresource != "finalize":  # only /finalize changes spec.finalizers (namespaceStrategy.PrepareForUpdate)
            stored_spec: objects.Body = stored["spec"] if isinstance(stored.get("spec"), dict) else {}
            new_spec: objects.Body = body["spec"] if isinstance(body.get("spec"), dict) else {}
            body["spec"] = {**new_spec, "finalizers": stored_spec.get("finalizers")}
            if body["spec"]["finalizers"] is None:
                del body["spec"]["finalizers"]
    body["apiVersion"] = stored.get("apiVersion", spec.group_version)
    body["kind"] = spec.kind
    with_status = not spec.has_status
    if _comparable(spec, body, with_status=with_status) != _comparable(spec, stored, with_status=with_status):
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
    if spec.key == resources.CRDS.key and subresource != "status":
        body["status"] = {**(stored.get("status") or {}), **resources.crd_accepted_status(body)}
        body["status"]["conditions"] = (stored.get("status") or {}).get("conditions",
                                                                        body["status"]["conditions"])
    return body


def with_revision(body: objects.Body, revision: int) -> objects.Body:
    objects.metadata(body)["resourceVersion"] = str(revision)
    return body


def mark_deleting(stored: objects.Body) -> objects.Body:
    body = objects.deep_copy(stored)
    meta = objects.metadata(body)
    meta["deletionTimestamp"] = objects.now_rfc3339()
    if body.get("kind") == "Namespace":  # the namespace registry's Delete: Terminating, no grace period
        body.setdefault("status", {})["phase"] = "Terminating"
    else:
        meta["deletionGracePeriodSeconds"] = 0
    return body
