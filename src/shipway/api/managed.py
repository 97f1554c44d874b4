"""The lifecycle of the Secrets the API manages for credentials set by value, written so that a refused,
failed or interrupted request leaves nothing in use and, at worst, an unreferenced Secret that is repaired.

Setting a value: (1) create a NEW version of the managed Secret (its name is the stem plus a digest of the
value and usage); (2) switch the layer's reference to it in one write: the commit point; (3) delete the
versions it replaced. A crash after (1) leaves an unreferenced version, after (2) an unreferenced old one;
:func:`repair` (run when the API starts) deletes managed Secrets their owner no longer references once they
are older than a grace period (so a request in flight between (1) and (2) is never raced).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.api import KubeApi
from shipway.core import names
from shipway.core.errors import Conflict, NotFound, ShipwayError
from shipway.core.isolation import API_MANAGER, SecretView, managed_owner
from shipway.core.layers import referenced_secrets
from shipway.core.resources import Pipeline, Platform, SecretRef

log = logging.getLogger(__name__)
REPAIR_GRACE_SECONDS = 300.0


async def create_version(kube: KubeApi, secret: dict[str, Any], *, owner: str, system_namespace: str) -> bool:
    """Create one version of a managed Secret; False when that very version exists already (same value)."""
    try:
        await kube.create(kinds.SECRET, secret)
        return True
    except Conflict:
        name = secret["metadata"]["name"]
        existing = await kube.get(kinds.SECRET, name, namespace=system_namespace)
        ref = SecretRef(namespace=system_namespace, name=name)
        if managed_owner(SecretView.of(ref, existing), system_namespace=system_namespace) != owner:
            raise Conflict(f"Secret {ref} exists and is not this layer's own", field="registry") from None
        return False


async def delete_versions(kube: KubeApi, refs: list[SecretRef]) -> None:
    """Delete replaced versions after the commit; a failure only leaves work for :func:`repair`."""
    for ref in refs:
        try:
            await kube.delete(kinds.SECRET, ref.name, namespace=ref.namespace)
        except ShipwayError as error:
            log.warning("could not delete the replaced managed Secret %s (repair will): %s", ref,
                        type(error).__name__)


def _age(secret: dict[str, Any], now: datetime.datetime) -> float:
    created = (secret.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return 0.0
    try:
        when = datetime.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (now - when).total_seconds()


async def _referenced_by(kube: KubeApi, owner: str) -> set[SecretRef] | None:
    """What ``owner`` (``platform`` or ``pipeline/NAME``) references now; None when it is gone."""
    try:
        if owner == "platform":
            body = await kube.get(kinds.PLATFORM, names.PLATFORM_NAME)
            platform = Platform.model_validate({k: body[k] for k in ("metadata", "spec") if k in body})
            return {c.secret_ref for c in platform.spec.registry.credentials}
        body = await kube.get(kinds.PIPELINE, owner.removeprefix("pipeline/"))
    except NotFound:
        return None
    pipeline = Pipeline.model_validate({k: body[k] for k in ("metadata", "spec") if k in body})
    return set(referenced_secrets(platform=None, pipeline=pipeline.spec))


async def repair(kube: KubeApi, *, system_namespace: str, grace: float = REPAIR_GRACE_SECONDS,
                 now: datetime.datetime | None = None) -> int:
    """Delete managed Secrets that no owner references (left by a crash between two writes). Returns how many."""
    now = now or datetime.datetime.now(datetime.UTC)
    selector = {names.MANAGED_BY_LABEL: API_MANAGER}
    deleted = 0
    references: dict[str, set[SecretRef] | None] = {}
    for secret in await kube.list(kinds.SECRET, namespace=system_namespace, labels=selector):
        ref = SecretRef(namespace=system_namespace, name=secret["metadata"]["name"])
        owner = managed_owner(SecretView.of(ref, secret), system_namespace=system_namespace)
        if owner is None or _age(secret, now) < grace:
            continue
        if owner not in references:
            references[owner] = await _referenced_by(kube, owner)
        used = references[owner]
        if used is not None and ref in used:
            continue
        if used is None and owner != "platform":
            continue  # its pipeline is gone: the garbage collector removes what it owned
        await delete_versions(kube, [ref])
        deleted += 1
    if deleted:
        log.info("repair: deleted %d unreferenced managed Secret(s)", deleted)
    return deleted
