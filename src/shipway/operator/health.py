"""The operator's HTTP endpoint: ``/healthz``, ``/readyz`` and ``/metrics`` on one port.

A small :class:`http.server.ThreadingHTTPServer` in a daemon thread (the operator's event loop never serves
HTTP). It only calls the three functions it is given; they decide what "alive" and "ready" mean.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """``alive``: the process works (liveness); ``ready``: it may take traffic, its cache is synced
    (readiness); ``metrics``: the Prometheus text exposition."""

    alive: Callable[[], bool]
    ready: Callable[[], bool]
    metrics: Callable[[], bytes]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoints: Endpoints


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "shipway-operator"
    sys_version = ""

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _check(self, check: Callable[[], bool], what: str) -> None:
        try:
            ok = check()
        except Exception as error:  # a probe answers, it never raises
            log.warning("%s check failed: %s", what, type(error).__name__)
            ok = False
        self._answer(200 if ok else 503, b"ok\n" if ok else f"not {what}\n".encode())

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        endpoints = self.server.endpoints
        if path == "/healthz":
            self._check(endpoints.alive, "alive")
        elif path == "/readyz":
            self._check(endpoints.ready, "ready")
        elif path == "/metrics":
            try:
                body = endpoints.metrics()
            except Exception as error:
                log.warning("metrics collection failed: %s", type(error).__name__)
                self._answer(503, b"metrics unavailable\n")
                return
            self._answer(200, body, CONTENT_TYPE_LATEST)
        else:
            self._answer(404, b"not found: /healthz, /readyz and /metrics are served here\n")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Probes come every few seconds: no access log."""


def serve(endpoints: Endpoints, *, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; ``shutdown()`` the server returned to stop."""
    server = _Server((host, port), _Handler)
    server.endpoints = endpoints
    threading.Thread(target=server.serve_forever, name="shipway-operator-http", daemon=True).start()
    return server
