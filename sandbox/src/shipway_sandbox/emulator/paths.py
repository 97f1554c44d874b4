"""Parsing of request paths into Kubernetes API coordinates (pure).

Unlike kmock's own parser, ``/api/v1/namespaces`` and ``/api/v1/namespaces/NAME[/status]`` are the
Namespace resource itself, not a namespace prefix with no resource.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_GO_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiPath:
    """Where a resource request points: a collection, an object, or an object's subresource."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    legacy_watch: bool = False  # the deprecated /watch/ path prefix


@dataclasses.dataclass(frozen=True, kw_only=True)
class DiscoveryPath:
    """A discovery document: ``""`` for /api, ``None`` group for /apis, or a group and maybe a version."""

    group: str | None
    version: str | None = None
    core: bool = False  # under /api rather than /apis


def go_bool(value: str | None) -> bool:
    """``strconv.ParseBool`` truthiness, as the API server reads ``watch=`` and friends."""
    return value is not None and value in _GO_TRUE


def parse(path: str) -> ApiPath | DiscoveryPath | None:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        if len(parts) == 1:
            return DiscoveryPath(group="", core=True)
        group, version, rest = "", parts[1], parts[2:]
        if not rest:
            return DiscoveryPath(group="", version=version, core=True)
    else:
        if len(parts) == 1:
            return DiscoveryPath(group=None)
        if len(parts) == 2:
            return DiscoveryPath(group=parts[1])
        group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            return DiscoveryPath(group=group, version=version)
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
        if not rest:
            return None
    return _parse_resource_part(group, version, rest, legacy_watch)


def _parse_resource_part(group: str, version: str, rest: list[str], legacy_watch: bool) -> ApiPath | None:
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (
        len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES and group == ""
    ):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) >= 2 else None
    subresource = "/".join(rest[2:]) or None
    return ApiPath(group=group, version=version, plural=plural, namespace=namespace, name=name,
                   subresource=subresource, legacy_watch=legacy_watch)


def verb_of(method: str, path: ApiPath, query: Mapping[str, str]) -> str | None:
    """The Kubernetes verb of a request (the one RBAC and audit logs use)."""
    method = method.upper()
    if method == "GET":
        if path.legacy_watch or go_bool(query.get("watch")):
            return "watch"
        return "get" if path.name else "list"
    if method == "POST":
        return "create" if not path.name or path.subresource else None
    if method == "PUT":
        return "update" if path.name else None
    if method == "PATCH":
        return "patch" if path.name else None
    if method == "DELETE":
        return "delete" if path.name else "deletecollection"
    return None
