"""kopf handlers, a few lines each: watch events in, handed to the controller.

For every watched kind an *index* handler feeds each object into the cache as soon as it is listed or
changes, and an *event* handler (which kopf calls only once every index is filled from its initial list)
tells the controller what changed. There are no change-detecting handlers, so kopf writes no bookkeeping
(no finalizers, no last-handled-configuration annotations, no progress in status).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import kopf

from shipway.core import names
from shipway.reconcile.controller import Controller

# (kind, group, version, plural, server-side label selector)
WATCHES: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("Pipeline", names.GROUP, names.VERSION, "pipelines", None),
    ("Platform", names.GROUP, names.VERSION, "platforms", None),
    ("Secret", "", "v1", "secrets", names.CREDENTIAL_LABEL),
    ("Namespace", "", "v1", "namespaces", names.PIPELINE_LABEL),
    # Every namespace's ``default`` ServiceAccount is needed (Shipway appends to it, without a read, once the
    # ServiceAccount controller has made it) and no server-side selector can say "default or labelled":
    # all ServiceAccounts come through, and ``_kept`` keeps only those two kinds.
    ("ServiceAccount", "", "v1", "serviceaccounts", None),
    ("Role", "rbac.authorization.k8s.io", "v1", "roles", names.PIPELINE_LABEL),
    ("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", names.PIPELINE_LABEL),
)


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(body))


def _kept(kind: str, body: Mapping[str, Any]) -> bool:
    """Whether the cache keeps this object: of ServiceAccounts, only ``default`` ones and Shipway's own."""
    if kind != "ServiceAccount":
        return True
    meta = body.get("metadata") or {}
    return meta.get("name") == names.DEFAULT_SERVICE_ACCOUNT or names.PIPELINE_LABEL in (meta.get("labels") or {})


def _register_kind(registry: kopf.OperatorRegistry, controller: Controller, kind: str, group: str, version: str,
                   plural: str) -> None:
    resource = (f"{group}/{version}" if group else version, plural)

    @kopf.index(*resource, id=f"cache-{plural}", registry=registry)
    async def feed(body: kopf.Body, **_: Any) -> None:
        if _kept(kind, body):
            controller.observe(kind, _plain(body))

    @kopf.on.event(*resource, id=f"changed-{plural}", registry=registry)
    async def changed(event: Mapping[str, Any], body: kopf.Body, **_: Any) -> None:
        if _kept(kind, body):
            controller.handle(kind, event.get("type"), _plain(body))


def build_registry(*, controller: Controller) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    for kind, group, version, plural, _ in WATCHES:
        _register_kind(registry, controller, kind, group, version, plural)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        in_cluster = kopf.login_with_service_account(**kwargs)
        return in_cluster if in_cluster is not None else kopf.login_with_kubeconfig(**kwargs)

    return registry


def build_settings(*, standalone: bool) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False  # Shipway posts its own Events, and never with secret data
    settings.peering.standalone = standalone
    settings.peering.name = "shipway"
    settings.peering.clusterwide = True
    for _, group, version, plural, selector in WATCHES:
        if selector:
            settings.watching.label_selectors[(f"{group}/{version}" if group else version, plural)] = selector
    return settings
