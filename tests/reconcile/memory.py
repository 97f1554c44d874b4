"""An in-memory cluster behind the reconcilers' adapter interface (shipway.adapters.kube.api.KubeApi), for
in-process table tests with a fake clock: create, get, delete and the three patch types the operator sends
(merge, JSON with ``test``, strategic merge of ``imagePullSecrets`` by name), counted per verb and kind.
It is no API server (the emulator is, in the integration suites): only what reconcile needs, strictly."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import jsonpatch

from shipway.adapters.kube.cache import Store
from shipway.adapters.kube.resources import Kind
from shipway.core.errors import Conflict, NotFound

Key = tuple[str, str, str]  # (plural, namespace, name)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _strategic(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A strategic merge as kube-apiserver does it for a ServiceAccount: ``imagePullSecrets`` merged by name."""
    pulls = patch.get("imagePullSecrets")
    rest = _merge(target, {k: v for k, v in patch.items() if k != "imagePullSecrets"})
    if pulls is not None:
        have = list(rest.get("imagePullSecrets") or [])
        names = {p.get("name") for p in have}
        rest["imagePullSecrets"] = have + [p for p in pulls if p.get("name") not in names]
    return dict(rest)


Authorize = Callable[[str, Mapping[str, Any]], bool]  # (username, resourceAttributes) -> allowed


class MemoryCluster:
    """``tokens`` (token -> username) and ``authorize`` answer TokenReviews and SubjectAccessReviews, so the
    API's real access control runs against it."""

    def __init__(self, *, tokens: Mapping[str, str] | None = None, authorize: Authorize | None = None) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self._serial = itertools.count(1)
        self.tokens = dict(tokens or {})
        self.authorize = authorize or (lambda user, attributes: False)

    def _review(self, kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
        spec = obj.get("spec") or {}
        if kind.plural == "tokenreviews":
            user = self.tokens.get(str(spec.get("token")))
            status: dict[str, Any] = {"authenticated": user is not None}
            if user is not None:
                status["user"] = {"username": user, "groups": [user, "system:authenticated"]}
            return {**obj, "status": status}
        return {**obj, "status": {"allowed": self.authorize(str(spec.get("user")), spec.get("resourceAttributes")
                                                            or {})}}

    async def list(self, kind: Kind, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
                   ) -> list[dict[str, Any]]:
        wanted = dict(labels or {})
        return [copy.deepcopy(body) for (plural, ns, _), body in sorted(self.objects.items())
                if plural == kind.plural and (namespace is None or ns == namespace)
                and all((body["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]

    @staticmethod
    def key(kind: Kind, name: str, namespace: str | None) -> Key:
        return (kind.plural, (namespace or "") if kind.namespaced else "", name)

    def _stamp(self, body: dict[str, Any]) -> dict[str, Any]:
        body.setdefault("metadata", {})["resourceVersion"] = str(next(self._serial))
        return body

    def put(self, kind: Kind, body: Mapping[str, Any], store: Store | None = None) -> dict[str, Any]:
        """An object made by someone else (a team, a controller): stored, and shown to the cache if given."""
        obj = self._stamp(copy.deepcopy(dict(body)))
        meta = obj["metadata"]
        meta.setdefault("uid", f"uid-{meta['name']}")
        self.objects[self.key(kind, meta["name"], meta.get("namespace"))] = obj
        if store is not None:
            store.upsert(kind.kind, copy.deepcopy(obj))
        return obj

    async def create(self, kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
        if kind.plural in ("tokenreviews", "subjectaccessreviews"):
            return self._review(kind, obj)
        meta = obj.get("metadata") or {}
        key = self.key(kind, meta["name"], meta.get("namespace"))
        if key in self.objects:
            raise Conflict(f"{kind.kind} {meta['name']} already exists")
        self.writes[f"create {kind.plural}"] += 1
        created = self._stamp(copy.deepcopy(dict(obj)))
        created["metadata"].setdefault("uid", f"uid-{meta['name']}")
        self.objects[key] = created
        return copy.deepcopy(created)

    async def get(self, kind: Kind, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        found = self.objects.get(self.key(kind, name, namespace))
        if found is None:
            raise NotFound(f"{kind.kind} {name} not found")
        return copy.deepcopy(found)

    async def delete(self, kind: Kind, name: str, *, namespace: str | None = None) -> None:
        self.writes[f"delete {kind.plural}"] += 1
        self.objects.pop(self.key(kind, name, namespace), None)

    async def patch(self, kind: Kind, name: str, patch: Any, *, namespace: str | None = None,
                    patch_type: str = "merge", status: bool = False) -> dict[str, Any]:
        key = self.key(kind, name, namespace)
        if key not in self.objects:
            raise NotFound(f"{kind.kind} {name} not found")
        current = self.objects[key]
        self.writes[f"patch {kind.plural}{'/status' if status else ''}"] += 1
        if patch_type == "json":
            try:
                patched = jsonpatch.apply_patch(current, patch)
            except jsonpatch.JsonPatchTestFailed:
                raise Conflict("the test of a JSON patch failed") from None
        elif patch_type == "strategic":
            patched = _strategic(current, patch)
        elif status:
            patched = {**current, "status": patch.get("status")}
        else:
            patched = _merge(current, patch)
        self.objects[key] = self._stamp(copy.deepcopy(patched))
        return copy.deepcopy(self.objects[key])
