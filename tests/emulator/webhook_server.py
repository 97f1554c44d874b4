"""A real admission webhook for the tests: HTTPS on 127.0.0.1 with a CA of its own, recording every
AdmissionReview it gets and answering each with what the test's responder says."""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp.web

from shipway_sandbox.emulator import free_port
from tests.support.tls import TlsFiles, make_server_tls

# request -> the AdmissionResponse fields (``uid`` is added unless given); may be async
Responder = Callable[[dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


def allow(_request: dict[str, Any]) -> dict[str, Any]:
    return {"allowed": True}


class WebhookServer:
    def __init__(self, directory: pathlib.Path) -> None:
        self.tls: TlsFiles = make_server_tls(directory)
        self.port = free_port()
        self.reviews: list[dict[str, Any]] = []  # every AdmissionReview received, in order
        self.paths: list[str] = []  # the path and query of every call
        self.responders: dict[str, Responder] = {}  # by URL path; ``allow`` when absent
        self._runner: aiohttp.web.AppRunner | None = None

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.tls.ca_file.read_bytes()).decode()

    def url(self, path: str = "/validate") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The ``request`` of each review received (at ``path`` only, when given)."""
        return [r["request"] for r, p in zip(self.reviews, self.paths, strict=True)
                if path is None or p.split("?")[0] == path]

    async def _handle(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        review = json.loads(await request.read())
        self.reviews.append(review)
        self.paths.append(request.path_qs)
        responder = self.responders.get(request.path, allow)
        answer = responder(review["request"])
        if asyncio.iscoroutine(answer) or isinstance(answer, Awaitable):
            answer = await answer
        response = {"uid": review["request"]["uid"], **answer}
        return aiohttp.web.json_response({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                          "response": response})

    async def start(self) -> None:
        app = aiohttp.web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        self._runner = aiohttp.web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        await aiohttp.web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def configuration(name: str, *hooks: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": list(hooks)}


def hook(name: str, url: str, ca_bundle: str, *, rules: list[dict[str, Any]] | None = None,
         resources: tuple[str, ...] = ("widgets",), operations: tuple[str, ...] = ("*",),
         groups: tuple[str, ...] = ("example.com",), **fields: Any) -> dict[str, Any]:
    """A webhook entry; by default, every operation on example.com widgets."""
    return {
        "name": name,
        "clientConfig": {"url": url, "caBundle": ca_bundle},
        "rules": rules if rules is not None else [{"operations": list(operations), "apiGroups": list(groups),
                                                   "apiVersions": ["*"], "resources": list(resources)}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        **fields,
    }
