"""The desired objects of a pipeline: what each phase namespace should hold. Pure, from a resolution.

For every enabled phase:

* the Namespace (unless one exists that Shipway did not create: then it is used as it is), labelled, with
  its reclaim policy and no ownerReference;
* pull delivery, one of: nothing (no pull entries); a REFERENCE to the only source Secret when it already
  lives in the phase namespace (zero copies); or ``shipway-pull``, one dockerconfigjson Secret with exactly
  the effective pull entries;
* push delivery when there is a push entry: ``shipway-push`` with only that entry, the ServiceAccount
  ``shipway-builder`` and a Role that may ``get`` only that Secret, bound to it;
* the name the ``default`` ServiceAccount must list in ``imagePullSecrets`` (appended, never reordered).

Every object carries the labels that let the operator watch it and an ownerReference to the Pipeline.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shipway.core import names
from shipway.core.dockerconfig import ConfigFormat, render_dockerconfigjson
from shipway.core.fingerprints import set_fingerprint
from shipway.core.layers import PhaseResolution
from shipway.core.resources import ReclaimPolicy

K8sObject = dict[str, Any]
MAX_SECRET_BYTES = 1024 * 1024 - 16 * 1024  # kube-apiserver stores objects up to 1 MiB; room for metadata


@dataclass(frozen=True, slots=True)
class Owner:
    """The Pipeline that owns what Shipway writes for it."""

    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": names.API_VERSION, "kind": "Pipeline", "name": self.name, "uid": self.uid,
            "controller": True, "blockOwnerDeletion": True,
        }


@dataclass(frozen=True, slots=True)
class PhaseObjects:
    """Everything one phase namespace should hold."""

    phase: str
    namespace: str
    namespace_object: K8sObject
    pull_secret_name: str | None  # what the default ServiceAccount must list (ours or a referenced one)
    pull_secret: K8sObject | None  # None when nothing is copied
    push_objects: tuple[K8sObject, ...]  # shipway-push, builder ServiceAccount, Role, RoleBinding
    referenced_source: str | None  # the source Secret referenced in place, for status and events

    @property
    def oversized(self) -> bool:
        """Whether a Secret to deliver would not fit in a Kubernetes object (refused up front, not retried)."""
        secrets = [self.pull_secret, *(o for o in self.push_objects if o["kind"] == "Secret")]
        return any(len(json.dumps(s, separators=(",", ":"))) > MAX_SECRET_BYTES for s in secrets if s is not None)

    @property
    def owned_names(self) -> dict[str, set[str]]:
        """Kind -> names of the objects of this phase that Shipway owns (for pruning)."""
        out: dict[str, set[str]] = {"Secret": set(), "ServiceAccount": set(), "Role": set(), "RoleBinding": set()}
        for obj in (self.pull_secret, *self.push_objects):
            if obj is not None:
                out[obj["kind"]].add(obj["metadata"]["name"])
        return out


def labels_for(*, pipeline: str, phase: str) -> dict[str, str]:
    return {names.MANAGED_BY_LABEL: names.MANAGED_BY, names.PIPELINE_LABEL: pipeline, names.PHASE_LABEL: phase}


def _meta(name: str, *, namespace: str | None, labels: dict[str, str], owner: Owner,
          annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels), "ownerReferences": [owner.reference()]}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta


def _docker_secret(name: str, *, namespace: str, labels: dict[str, str], owner: Owner, payload: bytes,
                   fingerprint: str, sources: list[str]) -> K8sObject:
    return {
        "apiVersion": "v1", "kind": "Secret", "type": ConfigFormat.DOCKERCONFIGJSON.value,
        "metadata": _meta(name, namespace=namespace, owner=owner,
                          labels={**labels, names.CREDENTIAL_LABEL: names.DELIVERED},
                          annotations={names.FINGERPRINT_ANNOTATION: fingerprint,
                                       names.SOURCES_ANNOTATION: json.dumps(sources, separators=(",", ":"))}),
        "data": {".dockerconfigjson": base64.b64encode(payload).decode("ascii")},
    }


def namespace_object(name: str, *, pipeline: str, phase: str, reclaim: ReclaimPolicy) -> K8sObject:
    """A phase namespace as Shipway makes it. No ownerReference: what becomes of it when its phase goes is
    the reclaim policy's to say (recorded here), never the garbage collector's."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels_for(pipeline=pipeline, phase=phase),
                         "annotations": {names.RECLAIM_ANNOTATION: reclaim.value}}}


def phase_objects(resolution: PhaseResolution, *, owner: Owner, reclaim: ReclaimPolicy) -> PhaseObjects:
    phase, namespace = resolution.phase.name.value, resolution.namespace
    labels = labels_for(pipeline=resolution.pipeline, phase=phase)
    sources = resolution.pull_sources
    pull_secret: K8sObject | None = None
    pull_name: str | None = None
    referenced: str | None = None
    if len(sources) == 1 and sources[0].namespace == namespace:
        pull_name = referenced = sources[0].name
    elif resolution.pull:
        pull_name = names.PULL_SECRET
        pull_secret = _docker_secret(
            names.PULL_SECRET, namespace=namespace, labels=labels, owner=owner,
            payload=render_dockerconfigjson(e.entry for e in resolution.pull),
            fingerprint=resolution.pull_fingerprint, sources=[str(s) for s in sources],
        )
    push_objects: tuple[K8sObject, ...] = ()
    if resolution.push is not None:
        push = resolution.push
        builder_pull = [{"name": pull_name}] if pull_name else []
        push_objects = (
            _docker_secret(
                names.PUSH_SECRET, namespace=namespace, labels=labels, owner=owner,
                payload=render_dockerconfigjson([push.entry]),
                fingerprint=set_fingerprint([(push.registry, push.fingerprint)]),
                sources=[str(push.provenance.source)],
            ),
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": _meta(names.BUILDER_SERVICE_ACCOUNT, namespace=namespace, labels=labels, owner=owner),
             "imagePullSecrets": builder_pull},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": _meta(names.BUILDER_ROLE, namespace=namespace, labels=labels, owner=owner),
             "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                        "resourceNames": [names.PUSH_SECRET]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": _meta(names.BUILDER_ROLE, namespace=namespace, labels=labels, owner=owner),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.BUILDER_ROLE},
             "subjects": [{"kind": "ServiceAccount", "name": names.BUILDER_SERVICE_ACCOUNT,
                           "namespace": namespace}]},
        )
    return PhaseObjects(
        phase=phase, namespace=namespace, pull_secret_name=pull_name,
        namespace_object=namespace_object(namespace, pipeline=resolution.pipeline, phase=phase, reclaim=reclaim),
        pull_secret=pull_secret, push_objects=push_objects, referenced_source=referenced,
    )


DATA_DIGEST = "shipway.dev/dataDigest"  # in the operator's cache, Shipway's own Secrets keep a digest of data


def data_digest(data: Any) -> str:
    """A digest of a Secret's ``data``, as the cache keeps it for the Secrets Shipway writes."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def differs(desired: K8sObject, actual: K8sObject) -> bool:
    """Does ``actual`` lack something ``desired`` says? (Fields the server adds are ignored.)"""
    for key, value in desired.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "data" and "data" not in actual and DATA_DIGEST in actual:
            if actual[DATA_DIGEST] != data_digest(value):
                return True
            continue
        if key == "metadata":
            have = actual.get("metadata") or {}
            for field in ("labels", "annotations"):
                wanted = value.get(field) or {}
                present = have.get(field) or {}
                if any(present.get(k) != v for k, v in wanted.items()):
                    return True
            owners = {(r.get("uid"), r.get("kind")) for r in have.get("ownerReferences") or []}
            if any((r["uid"], r["kind"]) not in owners for r in value.get("ownerReferences") or []):
                return True
        elif actual.get(key) != value:
            return True
    return False
