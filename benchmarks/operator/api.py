"""The benchmark's own client of the emulator (not the product's): aiohttp, with its own User-Agent.

aiohttp for the benchmark's setup, watches and checks: its requests cost a fraction of httpx's CPU (measured
here: ~0.1 ms against ~0.6 ms a request), and the benchmark shares the machine's two cores with the emulator
and the operator. The floor (:mod:`benchmarks.operator.floor`) uses httpx, as the operator does.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.operator.common import BENCH_AGENT, CONCURRENCY, BenchmarkError


@dataclass(frozen=True)
class Connection:
    """Where the emulator is and who talks to it: URL, the CA of its certificate (None: plain HTTP), a token."""

    url: str
    ca_pem: bytes | None = None
    token: str | None = field(default=None, repr=False)

    def ssl_context(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cadata=self.ca_pem.decode()) if self.ca_pem else False

    def headers(self, agent: str = BENCH_AGENT) -> dict[str, str]:
        headers = {"User-Agent": agent}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def api_path(api_version: str, plural: str, *, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    if name:
        base += f"/{name}"
    return base + (f"/{subresource}" if subresource else "")


def plural_path(obj: dict[str, Any], plural: str, *, name: bool = False, subresource: str | None = None) -> str:
    meta = obj["metadata"]
    return api_path(obj["apiVersion"], plural, namespace=meta.get("namespace"),
                    name=meta["name"] if name else None, subresource=subresource)


class Kube:
    """A minimal asynchronous client of the emulator, as the admin (or whoever ``connection`` names)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.url = connection.url
        self.session = aiohttp.ClientSession(
            base_url=connection.url, headers=connection.headers(),
            connector=aiohttp.TCPConnector(limit=CONCURRENCY + 4, ssl=connection.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=300, sock_connect=10))

    async def close(self) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, *, what: str, params: dict[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json", ok: tuple[int, ...] = ()
                      ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": content_type} if data is not None else None
        async with self.session.request(method, path, params=params, data=data, headers=headers) as response:
            raw = await response.read()
            if response.status >= 400 and response.status not in ok:
                raise BenchmarkError(f"{what}: HTTP {response.status}: {raw[:500].decode(errors='replace')}")
            return response.status, (json.loads(raw) if raw else None)

    async def create(self, obj: dict[str, Any], plural: str, *, ok: tuple[int, ...] = ()) -> dict[str, Any]:
        meta = obj["metadata"]
        _, created = await self.request("POST", plural_path(obj, plural), body=obj, ok=ok,
                                        what=f"create {plural} {meta.get('namespace', '')}/{meta['name']}")
        return dict(created or {})

    async def get(self, api_version: str, plural: str, name: str, *, namespace: str | None = None
                  ) -> dict[str, Any] | None:
        status, body = await self.request("GET", api_path(api_version, plural, namespace=namespace, name=name),
                                          what=f"get {plural} {namespace or ''}/{name}", ok=(404,))
        return None if status == 404 else dict(body)

    async def patch(self, api_version: str, plural: str, name: str, body: Any, *,
                    namespace: str | None = None) -> dict[str, Any]:
        _, patched = await self.request("PATCH", api_path(api_version, plural, namespace=namespace, name=name),
                                        body=body, content_type="application/merge-patch+json",
                                        what=f"patch {plural} {namespace or ''}/{name}")
        return dict(patched)

    async def list(self, api_version: str, plural: str, *, selector: str | None = None) -> dict[str, Any]:
        params = {"labelSelector": selector} if selector else None
        _, listed = await self.request("GET", api_path(api_version, plural), params=params, what=f"list {plural}")
        return dict(listed)

    async def served(self, api_version: str, plural: str) -> bool:
        status, _ = await self.request("GET", api_path(api_version, plural), what=f"list {plural}", ok=(404,))
        return status == 200

    async def ledger(self) -> list[dict[str, Any]]:
        """The emulator's request ledger since its last reset (the side endpoints are not recorded)."""
        _, data = await self.request("GET", "/_emulator/requests", what="read the request ledger")
        records = list(data["requests"])
        if int(data["total"]) != len(records):
            raise BenchmarkError(f"the request ledger dropped records ({data['total']} recorded, "
                                 f"{len(records)} kept): indexes into it would be wrong")
        return records

    async def reset_ledger(self) -> None:
        await self.request("POST", "/_emulator/requests/reset", what="reset the request ledger")


async def bulk(items: Iterable[Any], action: Callable[[Any], Awaitable[Any]], *, concurrency: int = CONCURRENCY
               ) -> None:
    """Run ``action`` on every item, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> None:
        async with gate:
            await action(item)

    await asyncio.gather(*(one(item) for item in items))


class Watch:
    """A list-then-watch of one resource by the benchmark: objects by (namespace, name), and a callback per
    event with the monotonic time it arrived. Its requests are the benchmark's, not the operator's."""

    def __init__(self, connection: Connection, api_version: str, plural: str, *, selector: str | None = None,
                 field_selector: str | None = None,
                 on_event: Callable[[str, dict[str, Any], float], None] | None = None) -> None:
        self.path = api_path(api_version, plural)
        self.params: dict[str, str] = {}
        if selector:
            self.params["labelSelector"] = selector
        if field_selector:
            self.params["fieldSelector"] = field_selector
        self.on_event = on_event
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.session = aiohttp.ClientSession(
            base_url=connection.url, headers=connection.headers(),
            connector=aiohttp.TCPConnector(ssl=connection.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    def _apply(self, event_type: str, obj: dict[str, Any], when: float) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        if event_type == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        if self.on_event is not None:
            self.on_event(event_type, obj, when)

    async def start(self) -> None:
        async with self.session.get(self.path, params=self.params) as response:
            if response.status >= 400:
                raise BenchmarkError(f"list {self.path}: HTTP {response.status}")
            data = json.loads(await response.read())
        now = time.monotonic()
        for item in data.get("items") or []:
            self._apply("ADDED", item, now)
        self._task = asyncio.create_task(self._run(str(data["metadata"]["resourceVersion"])))

    async def _run(self, version: str) -> None:
        params = {**self.params, "watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true",
                  "timeoutSeconds": "3600"}
        try:
            async with self.session.get(self.path, params=params) as response:
                if response.status >= 400:
                    raise BenchmarkError(f"watch {self.path}: HTTP {response.status}")
                buffer = b""
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    now = time.monotonic()
                    for line in lines:
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        if event["type"] == "BOOKMARK":
                            continue
                        if event["type"] == "ERROR":
                            raise BenchmarkError(f"watch {self.path}: {event['object']}")
                        self._apply(event["type"], event["object"], now)
            raise BenchmarkError(f"watch {self.path}: the stream ended")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # reported by the waits that rely on this watch
            self.error = error

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.session.close()
