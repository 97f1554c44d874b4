"""The store's indexes (owner → dependents, per-namespace contents) kept in step with every write.

These run on :class:`Cluster` directly (no HTTP): each one changes what an index holds in a way the
HTTP-level tests in ``test_lifecycle`` do not, then checks the controllers still see the truth.
"""

from __future__ import annotations

import copy
from typing import Any

from shipway_sandbox.emulator import ClusterEmulator, resources
from shipway_sandbox.emulator.cluster import Cluster

from .helpers import WIDGETS_CRD

NAMESPACES, SECRETS, CONFIGMAPS = resources.NAMESPACES, resources.SECRETS, resources.BUILTIN_RESOURCES[3]
CLUSTERROLES = next(s for s in resources.BUILTIN_RESOURCES if s.plural == "clusterroles")


def cluster() -> Cluster:
    return ClusterEmulator().cluster


def ref(owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"]}


def names(c: Cluster, spec: resources.ResourceSpec, namespace: str | None = None) -> list[str]:
    return [str(b["metadata"]["name"]) for b in c.store.scan(spec, namespace)]


def set_owners(c: Cluster, name: str, owners: list[dict[str, Any]]) -> None:
    body = copy.deepcopy(c.get(SECRETS, "default", name))
    body["metadata"]["ownerReferences"] = owners or None
    c.update(SECRETS, "default", name, body, subresource=None)


def test_a_reference_dropped_by_an_update_no_longer_binds_the_dependent() -> None:
    c = cluster()
    a = c.create(CONFIGMAPS, "default", {"metadata": {"name": "a"}})
    b = c.create(CONFIGMAPS, "default", {"metadata": {"name": "b"}})
    c.create(SECRETS, "default", {"metadata": {"name": "dep", "ownerReferences": [ref(a)]}})
    set_owners(c, "dep", [ref(b)])
    c.delete(CONFIGMAPS, "default", "a")
    assert names(c, SECRETS, "default") == ["dep"]
    c.delete(CONFIGMAPS, "default", "b")
    assert names(c, SECRETS, "default") == []


def test_a_reference_added_by_an_update_binds_the_dependent() -> None:
    c = cluster()
    a = c.create(CONFIGMAPS, "default", {"metadata": {"name": "a"}})
    c.create(SECRETS, "default", {"metadata": {"name": "dep"}})
    set_owners(c, "dep", [ref(a)])
    c.delete(CONFIGMAPS, "default", "a")
    assert names(c, SECRETS, "default") == []


def test_an_update_to_only_absent_owners_collects_the_dependent_at_once() -> None:
    c = cluster()
    c.create(SECRETS, "default", {"metadata": {"name": "dep"}})
    set_owners(c, "dep", [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "no-such-uid"}])
    assert names(c, SECRETS, "default") == []


def test_a_recreated_owner_with_the_same_name_is_another_owner() -> None:
    c = cluster()
    first = c.create(CONFIGMAPS, "default", {"metadata": {"name": "owner"}})
    c.delete(CONFIGMAPS, "default", "owner")
    second = c.create(CONFIGMAPS, "default", {"metadata": {"name": "owner"}})
    c.create(SECRETS, "default", {"metadata": {"name": "old", "ownerReferences": [ref(first)]}})
    c.create(SECRETS, "default", {"metadata": {"name": "new", "ownerReferences": [ref(second)]}})
    assert names(c, SECRETS, "default") == ["new"]
    c.delete(CONFIGMAPS, "default", "owner")
    assert names(c, SECRETS, "default") == []


def test_orphaning_reaches_dependents_in_every_namespace_and_resource() -> None:
    c = cluster()
    owner = c.create(CLUSTERROLES, None, {"metadata": {"name": "owner"}})
    for namespace in ("default", "kube-public"):
        c.create(SECRETS, namespace, {"metadata": {"name": "s", "ownerReferences": [ref(owner)]}})
        c.create(CONFIGMAPS, namespace, {"metadata": {"name": "c", "ownerReferences": [ref(owner)]}})
    c.delete(CLUSTERROLES, None, "owner", options={"propagationPolicy": "Orphan"})
    for namespace in ("default", "kube-public"):
        for spec, name in ((SECRETS, "s"), (CONFIGMAPS, "c")):
            assert "ownerReferences" not in c.get(spec, namespace, name)["metadata"]


def test_deleting_a_namespace_leaves_other_namespaces_and_lists_follow_the_store() -> None:
    c = cluster()
    for namespace in ("one", "two"):
        c.create(NAMESPACES, None, {"metadata": {"name": namespace}})
        for name in ("b", "a"):
            c.create(SECRETS, namespace, {"metadata": {"name": name}})
    c.delete(SECRETS, "one", "a")
    c.create(SECRETS, "one", {"metadata": {"name": "a"}})
    assert names(c, SECRETS, "one") == ["a", "b"]
    assert [(b["metadata"]["namespace"], b["metadata"]["name"]) for b in c.store.scan(SECRETS)
            if b["metadata"]["namespace"] in ("one", "two")] == [("one", "a"), ("one", "b"), ("two", "a"), ("two", "b")]
    c.delete(NAMESPACES, None, "one")
    assert c.store.get(NAMESPACES, None, "one") is None
    assert names(c, SECRETS, "one") == []
    assert names(c, SECRETS, "two") == ["a", "b"]
    assert not c.store.has_namespace_content("one")


def test_a_dependent_of_an_unserved_resource_is_collected_once_it_is_served_again() -> None:
    c = cluster()
    c.create(resources.CRDS, None, copy.deepcopy(WIDGETS_CRD))
    widgets = c.catalogue.get("example.com", "v1", "widgets")
    assert widgets is not None
    owner = c.create(CONFIGMAPS, "default", {"metadata": {"name": "owner"}})
    c.create(widgets, "default", {"metadata": {"name": "w", "ownerReferences": [ref(owner)]}})

    def serve(served: bool) -> None:
        crd = copy.deepcopy(c.get(resources.CRDS, None, "widgets.example.com"))
        crd["spec"]["versions"][0]["served"] = served
        c.update(resources.CRDS, None, "widgets.example.com", crd, subresource=None)

    serve(False)
    c.delete(CONFIGMAPS, "default", "owner")
    assert names(c, widgets, "default") == ["w"]  # nothing collects what is not served
    serve(True)  # the collector's monitors resync when a resource is served: it is collected then (this test used
    # to wait for an unrelated deletion, which no real garbage collector needs)
    assert names(c, widgets, "default") == []
