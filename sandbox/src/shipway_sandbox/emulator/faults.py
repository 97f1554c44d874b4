"""Failure injection for tests (never for product code): requests refused on purpose, and watches held.

* :class:`Faults`: the next N requests matching a verb, a group and a resource (and optionally a
  subresource, namespace, name or user) fail with the ``Status`` a real kube-apiserver answers with for that
  HTTP status (409: ``Operation cannot be fulfilled on ...: the object has been modified; please apply your
  changes to the latest version and try again``), before anything is read or written: the store is untouched.
* :class:`WatchGate`: while paused, every open watch has been ended and new watch requests wait until the
  gate opens again (``hang``) or are answered 503 at once (``unavailable``); lists, gets and writes go on.

Both are driven over HTTP by the side endpoints (:mod:`side`) or in process.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import errors, objects

# status -> (reason, message) of the Status kube-apiserver answers with (409 and 404 name the object)
_STATUSES: Mapping[int, tuple[str, str]] = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    403: ("Forbidden", "forbidden: injected fault"),
    404: ("NotFound", ""),
    409: ("Conflict", ""),
    410: ("Expired", "too old resource version"),
    422: ("Invalid", "the request is invalid"),
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "Timeout: request did not complete within requested timeout - context deadline exceeded"),
}
ANY = "*"
VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"})
WATCH_MODES = ("hang", "unavailable")


@dataclasses.dataclass(kw_only=True)
class Fault:
    """One injected failure: ``remaining`` more requests matching it fail with ``status``."""

    verbs: frozenset[str]
    group: str
    resource: str  # a plural, or ``*``
    subresource: str | None  # None: the main resource only; ``*``: any
    status: int
    remaining: int
    namespace: str | None = None
    name: str | None = None
    user: str | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> Fault:
        """A fault from ``{"verb": "update|patch", "group": "shipway.dev", "resource": "pipelines", "status":
        409, "count": N}`` (``resource`` may be ``plural/subresource``; ``namespace``, ``name``, ``user`` and
        ``message`` are optional); 400 Bad Request when malformed."""
        if not isinstance(body, dict):
            raise errors.BadRequest("a fault is a JSON object")
        unknown = set(body) - {"verb", "group", "resource", "status", "count", "namespace", "name", "user",
                               "message"}
        if unknown:
            raise errors.BadRequest(f"unknown fault fields: {', '.join(sorted(unknown))}")
        raw_verbs = body.get("verb")
        verbs = raw_verbs.split("|") if isinstance(raw_verbs, str) else raw_verbs
        if not isinstance(verbs, list) or not verbs or not all(v in VERBS or v == ANY for v in verbs):
            raise errors.BadRequest(f"fault verb: one or more of {', '.join(sorted(VERBS))} (joined by |)")
        resource = body.get("resource")
        if not isinstance(resource, str) or not resource:
            raise errors.BadRequest("fault resource: a plural, plural/subresource or *")
        plural, slash, subresource = resource.partition("/")
        status, count = body.get("status", 409), body.get("count", 1)
        if not isinstance(status, int) or status not in _STATUSES:
            raise errors.BadRequest(f"fault status: one of {', '.join(str(s) for s in _STATUSES)}")
        if not isinstance(count, int) or count < 1:
            raise errors.BadRequest("fault count: a positive integer")
        for key in ("group", "namespace", "name", "user", "message"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise errors.BadRequest(f"fault {key}: a string")
        return cls(verbs=frozenset(verbs), group=str(body.get("group") or ""), resource=plural,
                   subresource=subresource if slash else (ANY if plural == ANY else None), status=status,
                   remaining=count, namespace=body.get("namespace"), name=body.get("name"), user=body.get("user"),
                   message=body.get("message"))

    def matches(self, *, verb: str, group: str, plural: str, subresource: str | None, namespace: str | None,
                name: str | None, user: str | None) -> bool:
        wanted: tuple[tuple[str | None, str | None], ...] = (
            (self.resource, plural), (self.subresource, subresource), (self.namespace, namespace),
            (self.name, name), (self.user, user))
        if self.remaining <= 0 or (ANY not in self.verbs and verb not in self.verbs) or self.group != group:
            return False
        return all(mine in (ANY, theirs) for mine, theirs in wanted[:2]) and all(
            mine is None or mine == theirs for mine, theirs in wanted[2:])

    def error(self, *, verb: str, group: str, plural: str, name: str | None) -> errors.ApiError:
        if self.status == 409:
            if verb == "create":
                return errors.already_exists(plural, name or "", group)
            return errors.conflict(plural, name or "", group)
        if self.status == 404:
            return errors.not_found(plural, name or "", group)
        reason, message = _STATUSES[self.status]
        status: objects.Body = {"status": "Failure", "message": self.message or message, "reason": reason,
                                "code": self.status}
        if name is not None:
            status["details"] = errors.details(plural, name, group)
        if self.status in (429, 503, 504):
            status.setdefault("details", {})["retryAfterSeconds"] = 1
        return errors.StatusError(status)

    def as_json(self) -> objects.Body:
        resource = self.resource + (f"/{self.subresource}" if self.subresource not in (None, ANY) else "")
        return {"verb": "|".join(sorted(self.verbs)), "group": self.group, "resource": resource,
                "status": self.status, "count": self.remaining,
                **{k: v for k, v in (("namespace", self.namespace), ("name", self.name), ("user", self.user))
                   if v is not None}}


class Faults:
    """The injected failures still to happen, first added first matched."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.injected = 0  # requests failed so far

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(self, *, verb: str, group: str, plural: str, subresource: str | None, namespace: str | None,
             name: str | None, user: str | None) -> errors.ApiError | None:
        """The error for this request if a fault matches it (one of its count is used), else None."""
        for fault in self._faults:
            if fault.matches(verb=verb, group=group, plural=plural, subresource=subresource, namespace=namespace,
                             name=name, user=user):
                fault.remaining -= 1
                self.injected += 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                return fault.error(verb=verb, group=group, plural=plural, name=name)
        return None

    def as_json(self) -> objects.Body:
        return {"faults": [f.as_json() for f in self._faults], "injected": self.injected}


def _unavailable() -> errors.ApiError:
    return errors.StatusError({"status": "Failure", "reason": "ServiceUnavailable", "code": 503,
                               "message": _STATUSES[503][1], "details": {"retryAfterSeconds": 1}})


class WatchGate:
    """Holds watch requests while paused (see the module docstring); created outside any event loop."""

    def __init__(self) -> None:
        self.mode: str | None = None  # None: open; else one of WATCH_MODES
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def paused(self) -> bool:
        return self.mode is not None

    def pause(self, mode: str = "hang") -> None:
        if mode not in WATCH_MODES:
            raise errors.BadRequest(f"watch pause mode: one of {', '.join(WATCH_MODES)}")
        self.mode = mode

    def resume(self) -> int:
        """Open the gate; how many held watch requests go on."""
        self.mode = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        return len(waiters)

    def refuse_held(self) -> int:
        """Answer every held watch request 503 now (the server is going away); how many there were."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(_unavailable())
        return len(waiters)

    @property
    def held(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    async def admit(self) -> None:
        """Return when a watch may start: at once when open, on resume when paused to ``hang``; raise 503
        when paused as ``unavailable``."""
        if self.mode == "unavailable":
            raise _unavailable()
        if self.mode is None:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
