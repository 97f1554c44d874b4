"""The API's recent audit entries per pipeline, for the console's Activity page.

The API writes one structured line per credential change to the logger ``shipway.audit``
(:func:`shipway.api.repository.record_change`: ``audit {json}`` with who, what, layer, registry and old and
new fingerprints, never a value). :class:`AuditRing` is a :class:`logging.Handler` that keeps the last
``per_pipeline`` of those records for each of at most ``pipelines`` pipelines (the least recently changed go
first), in memory: a view of recent activity in this process, not the audit log itself (that is the log).
It is attached when the app is built (:func:`attach`), never at import time.
"""

from __future__ import annotations

import collections
import datetime
import json
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from shipway.core.timestamps import kube_time

AUDIT_LOGGER = "shipway.audit"
PLATFORM_KEY = ""  # audit entries of the platform layer (no pipeline)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: str
    user: str
    reason: str
    message: str
    layer: str
    phase: str | None
    registry: str | None
    old_fingerprint: str | None
    new_fingerprint: str | None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:512]


def entry_of(record: logging.LogRecord) -> tuple[str, AuditEntry] | None:
    """(pipeline, entry) of an ``audit {json}`` record; None for any other record."""
    if record.msg == "audit %s" and isinstance(record.args, tuple) and len(record.args) == 1:
        text = str(record.args[0])
    elif isinstance(record.msg, str) and record.msg.startswith("audit {") and not record.args:
        text = record.msg.removeprefix("audit ")  # already formatted (and redacted) by a filter
    else:
        return None
    try:
        details = json.loads(text)
    except ValueError:
        return None
    if not isinstance(details, dict):
        return None
    at = kube_time(datetime.datetime.fromtimestamp(record.created, datetime.UTC))
    entry = AuditEntry(at=at, user=str(details.get("user", "")), reason=str(details.get("reason", "")),
                       message=str(details.get("message", ""))[:1024], layer=str(details.get("layer", "")),
                       phase=_text(details.get("phase")), registry=_text(details.get("registry")),
                       old_fingerprint=_text(details.get("oldFingerprint")),
                       new_fingerprint=_text(details.get("newFingerprint")))
    return str(details.get("pipeline") or PLATFORM_KEY), entry


class AuditRing(logging.Handler):
    """A bounded in-memory ring of recent audit entries per pipeline."""

    def __init__(self, *, per_pipeline: int = 50, pipelines: int = 1000) -> None:
        super().__init__(level=logging.INFO)
        self._per_pipeline = per_pipeline
        self._pipelines = pipelines
        self._entries: collections.OrderedDict[str, collections.deque[AuditEntry]] = collections.OrderedDict()
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        found = entry_of(record)
        if found is None:
            return
        pipeline, entry = found
        with self._guard:
            ring = self._entries.pop(pipeline, None) or collections.deque(maxlen=self._per_pipeline)
            ring.append(entry)
            self._entries[pipeline] = ring  # most recently changed last
            while len(self._entries) > self._pipelines:
                self._entries.popitem(last=False)

    def recent(self, pipeline: str) -> list[AuditEntry]:
        """The pipeline's entries, newest first."""
        with self._guard:
            return list(reversed(self._entries.get(pipeline, ())))


def attach(ring: AuditRing, *, owner: object) -> AuditRing:
    """Attach ``ring`` to the audit logger for as long as ``owner`` (the app's console) lives; the logger
    passes INFO records on (they are the audit trail)."""
    logger = logging.getLogger(AUDIT_LOGGER)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    logger.addHandler(ring)
    weakref.finalize(owner, logger.removeHandler, ring)  # an app that is gone leaves no handler behind
    return ring
