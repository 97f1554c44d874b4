"""The emulator's side endpoints under ``/_emulator/`` (tests and benchmarks only, never product code).

==============================================  ===========================================================
``GET /_emulator/requests``                     the request ledger (:mod:`accounting`)
``POST /_emulator/requests/reset``              empty it
``POST /_emulator/watches/pause[?mode=M]``      end every open watch; new ones wait until resumed (``hang``,
                                                the default) or get 503 (``unavailable``); lists keep working
``POST /_emulator/watches/resume[?expire=true]``  let watches start again; with ``expire``, first compact the
                                                change history, so that a watch from any older
                                                resourceVersion gets 410 Gone (an ERROR event), as after
                                                an etcd compaction: its client must list again
``GET /_emulator/watches``                      whether paused, how many watches are open, how many held
``POST /_emulator/faults``                      make the next ``count`` requests matching a verb, group and
                                                resource fail with a kube-apiserver ``Status`` (see
                                                :class:`faults.Fault`); the store is never touched
``GET``, ``DELETE /_emulator/faults``           the faults still pending; remove them all
==============================================  ===========================================================

The endpoints that change the server's behaviour are authorized as non-resource URLs (``post`` on the path)
when the emulator authenticates users, so only a cluster admin may call them; the ledger stays open.
"""

from __future__ import annotations

import dataclasses
import json

import aiohttp.web

from shipway_sandbox.emulator import access, accounting, errors, handling, paths
from shipway_sandbox.emulator.events import ChangeLog
from shipway_sandbox.emulator.faults import Fault, Faults, WatchGate


@dataclasses.dataclass(kw_only=True)
class SideEndpoints:
    ledger: accounting.RequestLedger
    faults: Faults
    gate: WatchGate
    changes: ChangeLog
    authenticator: access.Authenticator | None
    authorizer: access.Authorizer | None

    async def serve(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            return await self._serve(raw)
        except errors.ApiError as exc:
            return handling.json_response(exc.status(), status=exc.http_status)

    async def _serve(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        path, method = raw.path.rstrip("/"), raw.method
        if path == "/_emulator/requests" and method == "GET":
            return handling.json_response(self.ledger.as_json())
        if path == "/_emulator/requests/reset" and method == "POST":
            self.ledger.reset()
            return handling.json_response({"total": 0})
        if path not in ("/_emulator/watches", "/_emulator/watches/pause", "/_emulator/watches/resume",
                        "/_emulator/faults"):
            raise errors.NotFound("no such emulator endpoint")
        await access.admit(raw.headers, access.RequestAttributes.non_resource(method.lower(), path),
                           authenticator=self.authenticator, authorizer=self.authorizer)
        if path == "/_emulator/watches" and method == "GET":
            return handling.json_response(self._watches())
        if path == "/_emulator/watches/pause" and method == "POST":
            self.gate.pause(raw.query.get("mode") or "hang")
            self.changes.close()  # every open watch ends; its client's next watch is held (or refused)
            return handling.json_response(self._watches())
        if path == "/_emulator/watches/resume" and method == "POST":
            compacted = self.changes.compact() if paths.go_bool(raw.query.get("expire")) else None
            released = self.gate.resume()
            return handling.json_response({**self._watches(), "released": released, "compacted": compacted})
        if path == "/_emulator/faults":
            return await self._faults(raw)
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")

    def _watches(self) -> dict[str, object]:
        return {"paused": self.gate.paused, "mode": self.gate.mode, "open": self.changes.watchers,
                "held": self.gate.held, "resourceVersion": str(self.changes.revision),
                "compactedResourceVersion": str(self.changes.compacted)}

    async def _faults(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if raw.method == "GET":
            return handling.json_response(self.faults.as_json())
        if raw.method == "DELETE":
            self.faults.clear()
            return handling.json_response(self.faults.as_json())
        if raw.method != "POST":
            raise errors.MethodNotAllowed(f"the server does not allow this method ({raw.method})")
        try:
            body = json.loads(await raw.read() or b"null")
        except ValueError as exc:
            raise errors.BadRequest(f"error decoding the fault as JSON: {exc}") from exc
        parsed = [Fault.from_json(item) for item in (body if isinstance(body, list) else [body])]
        added = [self.faults.add(fault) for fault in parsed]
        return handling.json_response({**self.faults.as_json(), "added": [f.as_json() for f in added]},
                                      status=201)
