"""Verification records and the ``Verified`` entries of a status. Pure.

A record is keyed by the entry's fingerprint: a rotated credential is a new fingerprint, so it is checked
anew and an old result is never shown for a new credential. Only outcomes, reasons and times: no secrets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shipway.core.images import DOCKER_HUB, DOCKER_HUB_HOSTS
from shipway.core.layers import EffectiveEntry

PATTERN = "pattern"  # a glob key names no single registry to check


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    registry: str
    fingerprint: str
    ok: bool | None  # None: not checkable (a glob key)
    reason: str | None
    checked_at: str
    changed_at: str


def check_target(entry: EffectiveEntry) -> str | None:
    """The ``host[:port]`` to check for an entry, or None when its key is a pattern."""
    key = entry.entry.registry
    if any(c in key.host for c in "*?[]"):
        return None
    host = DOCKER_HUB if key.host in DOCKER_HUB_HOSTS else key.host
    return host + (f":{key.port}" if key.port else "")


def verified_entries(entries: Iterable[EffectiveEntry], records: Mapping[str, VerificationRecord]
                     ) -> list[dict[str, Any]]:
    """One ``Verified`` entry per distinct (registry, source) of ``entries``, in a stable order."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        record = records.get(entry.fingerprint)
        key = (entry.registry, str(entry.provenance.source))
        if key in out:
            continue
        item: dict[str, Any] = {
            "type": "Verified", "registry": entry.registry, "fingerprint": entry.fingerprint,
            "secretRef": {"namespace": entry.provenance.source.namespace, "name": entry.provenance.source.name},
            "source": entry.provenance.layer.value,
        }
        if record is None:
            item.update({"status": "Unknown", "reason": "Pending"})
        elif record.ok is None:
            item.update({"status": "Unknown", "reason": "KeyIsPattern", "lastCheckTime": record.checked_at})
        else:
            item.update({"status": "True" if record.ok else "False",
                         "reason": "Accepted" if record.ok else _camel(record.reason or "unknown"),
                         "lastCheckTime": record.checked_at, "lastTransitionTime": record.changed_at})
        out[key] = item
    return [out[k] for k in sorted(out)]


def _camel(reason: str) -> str:
    return "".join(part.capitalize() for part in reason.replace("-", " ").split())
