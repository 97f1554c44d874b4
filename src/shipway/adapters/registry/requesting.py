"""The HTTP client every registry exchange goes through, and what httpx does not do by itself.

httpx sends, follows redirects and runs the authentication flow
(:class:`~shipway.adapters.registry.authenticating.RegistryAuth`). Around it, this module adds:

- bounded retries (:class:`GuardedTransport`): a refused connection or a 5xx answer is tried again at most
  ``retries`` times, with a short exponential backoff; each hop of a redirect on its own;
- body caps (:class:`GuardedTransport`): no body is read past :data:`MAX_BODY` bytes, and bodies are read as
  sent (``Accept-Encoding: identity`` is asked for; no decoder runs, so no decompression bomb);
- the redirect policy (:func:`redirect_policy`): at most :data:`MAX_REDIRECTS` per request, never to plain
  HTTP from HTTPS nor to a host that may not be spoken to over plain HTTP, and an ``Authorization`` header
  never crosses to another origin (httpx would keep it on an ``http`` to ``https`` upgrade of the host);
- failure classification (:func:`classify`): every failure of the network or of the server becomes a
  :class:`CheckFailed` carrying a :class:`~shipway.adapters.registry.results.Reason`; its message is
  written here and never holds a credential.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from shipway.adapters.registry import addresses
from shipway.adapters.registry.results import Reason

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_BODY = 64 * 1024
_AUTH_STEPS = 4  # httpx counts an auth flow's intermediate answers as redirects: leave room for them
_HOPS = "shipway.redirects"  # a request extension: redirects followed so far (httpx copies it to each hop)
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
    if isinstance(error, httpx.TooManyRedirects):
        return CheckFailed(Reason.BAD_RESPONSE, f"more than {MAX_REDIRECTS} redirects")
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


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._inner:
            size += len(chunk)
            if size > self._limit:
                raise CheckFailed(Reason.BAD_RESPONSE, f"a response body over {self._limit} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Bounded retries and capped, undecoded bodies, beneath httpx's redirects and authentication."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, retries: int, backoff: float = 0.05, max_body: int = MAX_BODY
    ) -> None:
        self._inner = inner
        self._retries = retries
        self._backoff = backoff
        self._max_body = max_body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.ConnectError as error:
                if attempt >= self._retries or classify(error).reason != Reason.UNREACHABLE:
                    raise
            else:
                if response.status_code < 500 or attempt >= self._retries:
                    return self._capped(response)
                await response.aclose()
            attempt += 1
            await asyncio.sleep(self._backoff * 2**attempt)

    def _capped(self, response: httpx.Response) -> httpx.Response:
        assert isinstance(response.stream, httpx.AsyncByteStream)
        headers = httpx.Headers(response.headers)
        headers.pop("content-encoding", None)  # read as sent: no decoder, no decompression bomb
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_CappedStream(response.stream, self._max_body),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def redirect_policy(insecure_registries: frozenset[str]) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx response hook that checks each redirect before httpx follows it."""

    async def check(response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        request = response.request
        hops = int(request.extensions.get(_HOPS, 0)) + 1
        if hops > MAX_REDIRECTS:
            raise CheckFailed(Reason.BAD_RESPONSE, f"more than {MAX_REDIRECTS} redirects")
        target = _redirect_target(request.url, response.headers["location"], insecure_registries)
        request.extensions[_HOPS] = hops
        if origin(target) != origin(request.url):
            request.headers.pop("authorization", None)  # httpx builds the next hop from these headers
        log.debug("registry redirect to %s://%s%s", target.scheme, target.netloc.decode(), target.path)

    return check


def _redirect_target(current: httpx.URL, location: str, insecure_registries: frozenset[str]) -> httpx.URL:
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError):
        raise CheckFailed(Reason.BAD_RESPONSE, "a redirect to an invalid URL") from None
    if target.scheme not in ("http", "https") or not target.host or target.userinfo:
        raise CheckFailed(Reason.BAD_RESPONSE, "a redirect to an unsupported URL")
    plain_allowed = addresses.plain_http_allowed(target.host, target.port, insecure_registries)
    if target.scheme == "http" and (current.scheme == "https" or not plain_allowed):
        raise CheckFailed(Reason.INSECURE, "a redirect to plain HTTP was refused")
    return target


def make_client(
    *, verify: ssl.SSLContext, timeout: float, retries: int, insecure_registries: frozenset[str]
) -> httpx.AsyncClient:
    """The shared client: no proxies from the environment and never ``~/.netrc``; redirects by the policy; and
    no cookies kept (a registry's session cookie must never make a later, other credential look valid)."""
    transport = GuardedTransport(httpx.AsyncHTTPTransport(verify=verify, trust_env=False), retries=retries)
    return httpx.AsyncClient(
        transport=transport,
        cookies=httpx.Cookies(http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(
            allowed_domains=[]))),
        timeout=httpx.Timeout(timeout),
        trust_env=False,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS + _AUTH_STEPS,  # the real bound per request is the policy's
        event_hooks={"response": [redirect_policy(insecure_registries)]},
        headers={"Accept-Encoding": "identity", "User-Agent": "shipway-registry-check"},
    )


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    *,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request (its redirects, retries and authentication included), its body read within the cap."""
    request = client.build_request(method, url, headers=headers)
    try:
        response = await client.send(request, auth=auth, stream=True)
        try:
            await response.aread()
        finally:
            await response.aclose()
    except httpx.HTTPError as error:
        raise classify(error) from None
    return response
