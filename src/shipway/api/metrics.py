"""Prometheus metrics of the API, in a registry of the app's own (no process-global state)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("shipway_api_requests_total", "API requests by method, route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("shipway_api_request_seconds", "API request latency by route", ["route"],
                                 registry=self.registry)
        self.errors = Counter("shipway_api_errors_total", "API responses with a 5xx status", ["route"],
                              registry=self.registry)

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        self.requests.labels(request.method, route, str(response.status_code)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)
        if response.status_code >= 500:
            self.errors.labels(route).inc()
        return response
