"""Request accounting for tests and benchmarks (never for product code).

Each API request is recorded with its Kubernetes verb; tests read the ledger in-process
(``emulator.ledger``) or, from another process, over HTTP at ``GET /_emulator/requests``
(``POST /_emulator/requests/reset`` empties it).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterator
from typing import Any

SIDE_PREFIX = "/_emulator/"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestRecord:
    method: str
    path: str
    verb: str | None  # get, list, watch, create, update, patch, delete, deletecollection; None: not an API call
    group: str | None
    plural: str | None
    namespace: str | None
    subresource: str | None
    user_agent: str
    status: int

    def as_json(self) -> dict[str, Any]:  # dataclasses.asdict, without its deep copy of the (plain) values
        return {field.name: getattr(self, field.name) for field in _RECORD_FIELDS}


_RECORD_FIELDS = dataclasses.fields(RequestRecord)


class RequestLedger:
    """An in-memory, resettable record of every request the emulator answered."""

    def __init__(self, *, limit: int = 200_000) -> None:
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=limit)
        self._total = 0

    def record(self, record: RequestRecord) -> None:
        self._records.append(record)
        self._total += 1

    def reset(self) -> None:
        self._records.clear()
        self._total = 0

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return self._total

    def count(self, *, verb: str | None = None, plural: str | None = None, method: str | None = None,
              user_agent_prefix: str | None = None) -> int:
        return sum(
            1 for r in self._records
            if (verb is None or r.verb == verb)
            and (plural is None or r.plural == plural)
            and (method is None or r.method == method.upper())
            and (user_agent_prefix is None or r.user_agent.startswith(user_agent_prefix))
        )

    def by_verb(self) -> dict[str, int]:
        """Counts keyed ``"<verb> <plural>"``, e.g. ``"list secrets"`` (non-API requests under ``"other"``)."""
        counts: collections.Counter[str] = collections.Counter(
            f"{r.verb} {r.plural}" if r.verb else "other" for r in self._records
        )
        return dict(sorted(counts.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self._total,
            "counts": self.by_verb(),
            "requests": [r.as_json() for r in self._records],
        }
