"""Sending one request to a registry or its token realm: redirects, retries, body caps, failure reasons.

Every failure of the network or of the server becomes a :class:`CheckFailed` carrying a
:class:`~shipway.adapters.registry.results.Reason`; its message is written here and never holds a
credential. Redirects are followed by hand, at most :data:`MAX_REDIRECTS` times; an ``Authorization``
header goes only to the origin it was meant for and is dropped on a redirect to any other origin.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl

import httpx

from shipway.adapters.registry import addresses
from shipway.adapters.registry.results import Reason
from shipway.core.secrets import Secret

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_BODY = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# OpenSSL's words when the peer answered a TLS ClientHello with plain text (an HTTP-only server).
_PLAIN_TEXT_MARKERS = (
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
)


class CheckFailed(Exception):
    """A check cannot go on; carries the reason. Internal: verification turns it into a failed Check."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class PlainHttpAnswer(CheckFailed):
    """The server answered a TLS handshake with plain text: it speaks HTTP only."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def _ssl_error(error: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    return None


def classify(error: httpx.HTTPError) -> CheckFailed:
    """The reason for a failed exchange; the detail names the kind, never the server's words."""
    if isinstance(error, httpx.TimeoutException):
        return CheckFailed(Reason.TIMEOUT, "the server did not answer in time")
    tls_error = _ssl_error(error)
    if tls_error is not None:
        if isinstance(tls_error, ssl.SSLCertVerificationError):
            return CheckFailed(Reason.TLS, "the server certificate is not trusted (use a CA file?)")
        if any(marker in str(tls_error).upper().replace(" ", "_") for marker in _PLAIN_TEXT_MARKERS):
            return PlainHttpAnswer(Reason.TLS, "the server answered TLS with plain text")
        return CheckFailed(Reason.TLS, "the TLS handshake failed")
    if isinstance(error, httpx.ConnectError):
        return CheckFailed(Reason.UNREACHABLE, "no connection could be made")
    return CheckFailed(Reason.BAD_RESPONSE, f"the exchange failed ({type(error).__name__})")


class Requester:
    """Sends requests on one shared httpx client. Knows which hosts may be spoken to over plain HTTP."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        insecure_registries: frozenset[str],
        retries: int = 2,
        backoff: float = 0.05,
    ) -> None:
        self._client = client
        self._insecure = insecure_registries
        self._retries = retries
        self._backoff = backoff

    def plain_http_allowed(self, url: httpx.URL) -> bool:
        return addresses.plain_http_allowed(url.host, url.port, self._insecure)

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        authorization: Secret | None = None,
        headers: dict[str, str] | None = None,
        max_body: int = MAX_BODY,
    ) -> Reply:
        """One request, following redirects; ``authorization`` goes to ``url``'s origin only."""
        auth_origin = origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            sent = dict(headers or {})
            if authorization is not None and origin(url) == auth_origin:
                sent["Authorization"] = authorization.reveal()
            reply = await self._send_with_retries(method, url, sent, max_body)
            if reply.status not in _REDIRECTS or "location" not in reply.headers:
                return reply
            url = self._redirect_target(url, reply.headers["location"])
            if reply.status == 303:
                method = "GET"
            log.debug("registry redirect to %s://%s%s", url.scheme, url.netloc.decode(), url.path)
        raise CheckFailed(Reason.BAD_RESPONSE, f"more than {MAX_REDIRECTS} redirects")

    def _redirect_target(self, current: httpx.URL, location: str) -> httpx.URL:
        try:
            target = current.join(location)
        except (httpx.InvalidURL, ValueError):
            raise CheckFailed(Reason.BAD_RESPONSE, "a redirect to an invalid URL") from None
        if target.scheme not in ("http", "https") or not target.host or target.userinfo:
            raise CheckFailed(Reason.BAD_RESPONSE, "a redirect to an unsupported URL")
        if target.scheme == "http" and (current.scheme == "https" or not self.plain_http_allowed(target)):
            raise CheckFailed(Reason.INSECURE, "a redirect to plain HTTP was refused")
        return target

    async def _send_with_retries(
        self, method: str, url: httpx.URL, headers: dict[str, str], max_body: int
    ) -> Reply:
        attempt = 0
        while True:
            try:
                reply = await self._send_once(method, url, headers, max_body)
            except httpx.HTTPError as error:
                failure = classify(error)
                retriable = isinstance(error, httpx.ConnectError) and failure.reason == Reason.UNREACHABLE
                if not retriable or attempt >= self._retries:
                    raise failure from None
            else:
                if reply.status < 500 or attempt >= self._retries:
                    return reply
            attempt += 1
            await asyncio.sleep(self._backoff * 2**attempt)

    async def _send_once(self, method: str, url: httpx.URL, headers: dict[str, str], max_body: int) -> Reply:
        request = self._client.build_request(method, url, headers=headers)
        response = await self._client.send(request, stream=True, follow_redirects=False)
        try:
            chunks: list[bytes] = []
            size = 0
            if method != "HEAD":
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > max_body:
                        raise CheckFailed(Reason.BAD_RESPONSE, f"a response body over {max_body} bytes")
                    chunks.append(chunk)
            return Reply(response.status_code, response.headers, b"".join(chunks), url)
        finally:
            await response.aclose()
