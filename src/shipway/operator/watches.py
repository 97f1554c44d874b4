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
    field_selector: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind.kind}[{self.label_selector or ''}|{self.field_selector or ''}]"


DEFAULT_ACCOUNT = f"metadata.name={names.DEFAULT_SERVICE_ACCOUNT}"
WATCHES: tuple[Watch, ...] = (
    Watch(kinds.PIPELINE),
    Watch(kinds.PLATFORM),
    Watch(kinds.SECRET, names.CREDENTIAL_LABEL),
    Watch(kinds.NAMESPACE, names.PIPELINE_LABEL),
    # ServiceAccounts in two disjoint watches, both selected by the server, so that unrelated ServiceAccounts
    # never reach the operator: every namespace's ``default`` (Shipway appends to it, without a read, once the
    # ServiceAccount controller has made it: one per namespace), and Shipway's own builder ServiceAccounts.
    Watch(kinds.SERVICE_ACCOUNT, field_selector=DEFAULT_ACCOUNT),
    Watch(kinds.SERVICE_ACCOUNT, names.PIPELINE_LABEL, f"metadata.name!={names.DEFAULT_SERVICE_ACCOUNT}"),
    Watch(kinds.ROLE, names.PIPELINE_LABEL),
    Watch(kinds.ROLE_BINDING, names.PIPELINE_LABEL),
)


def kept(kind: str, body: Mapping[str, Any]) -> bool:
    """Whether the cache keeps this object: of ServiceAccounts, only ``default`` ones and Shipway's own."""
    if kind != "ServiceAccount":
        return True
    meta = body.get("metadata") or {}
    return meta.get("name") == names.DEFAULT_SERVICE_ACCOUNT or names.PIPELINE_LABEL in (meta.get("labels") or {})
