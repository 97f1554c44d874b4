"""What the operator watches: every kind with its server-side selector, and what of it the cache keeps.

Each watch is an :class:`~shipway.adapters.kube.informing.Informer`: a list, then a watch resumed from its
resourceVersion (bookmarks included); after a 410 Gone it lists again and reports what vanished in the gap
as deleted, so the cache is the server's truth after every relist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.core import names


@dataclass(frozen=True, slots=True)
class Watch:
    kind: kinds.Kind
    label_selector: str | None = None


WATCHES: tuple[Watch, ...] = (
    Watch(kinds.PIPELINE),
    Watch(kinds.PLATFORM),
    Watch(kinds.SECRET, names.CREDENTIAL_LABEL),
    Watch(kinds.NAMESPACE, names.PIPELINE_LABEL),
    # Every namespace's ``default`` ServiceAccount is needed (Shipway appends to it, without a read, once the
    # ServiceAccount controller has made it) and no server-side selector can say "default or labelled":
    # all ServiceAccounts come through, and ``kept`` keeps only those two kinds.
    Watch(kinds.SERVICE_ACCOUNT),
    Watch(kinds.ROLE, names.PIPELINE_LABEL),
    Watch(kinds.ROLE_BINDING, names.PIPELINE_LABEL),
)


def kept(kind: str, body: Mapping[str, Any]) -> bool:
    """Whether the cache keeps this object: of ServiceAccounts, only ``default`` ones and Shipway's own."""
    if kind != "ServiceAccount":
        return True
    meta = body.get("metadata") or {}
    return meta.get("name") == names.DEFAULT_SERVICE_ACCOUNT or names.PIPELINE_LABEL in (meta.get("labels") or {})
