"""Discovery documents built from the resource catalogue, shaped as kubectl and client-go read them."""

from __future__ import annotations

from shipway_sandbox.emulator import errors, objects
from shipway_sandbox.emulator.paths import DiscoveryPath
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec

SERVER_VERSION: objects.Body = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-shipway-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def document(path: DiscoveryPath, catalogue: Catalogue) -> objects.Body:
    if path.core and path.version is None:
        return {"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
    if path.group is None:
        return group_list(catalogue)
    if path.version is None:
        groups = catalogue.groups()
        if path.group not in groups:
            raise errors.NotFound("the server could not find the requested resource")
        return _group(path.group, groups[path.group]) | {"kind": "APIGroup", "apiVersion": "v1"}
    specs = catalogue.in_group_version(path.group, path.version)
    if not specs:
        raise errors.NotFound("the server could not find the requested resource")
    return resource_list(path.group, path.version, specs)


def group_list(catalogue: Catalogue) -> objects.Body:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(group, versions) for group, versions in catalogue.groups().items()],
    }


def _group(group: str, versions: list[str]) -> objects.Body:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def resource_list(group: str, version: str, specs: list[ResourceSpec]) -> objects.Body:
    resources: list[objects.Body] = []
    for spec in specs:
        resources.append({
            "name": spec.plural,
            "singularName": spec.singular or spec.kind.lower(),
            "namespaced": spec.namespaced,
            "kind": spec.kind,
            "verbs": sorted(spec.verbs),
            **({"shortNames": list(spec.short_names)} if spec.short_names else {}),
            **({"categories": list(spec.categories)} if spec.categories else {}),
        })
        for sub in sorted(spec.subresources):
            resources.append({
                "name": f"{spec.plural}/{sub}",
                "singularName": "",
                "namespaced": spec.namespaced,
                "kind": spec.kind,
                "verbs": ["get", "patch", "update"],
            })
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def root_paths(catalogue: Catalogue) -> objects.Body:
    paths = {"/api", "/api/v1", "/apis", "/version", "/openapi/v2", "/openapi/v3", "/openapi/v3/"}
    for group, versions in catalogue.groups().items():
        paths.add(f"/apis/{group}")
        paths.update(f"/apis/{group}/{v}" for v in versions)
    return {"paths": sorted(paths)}
