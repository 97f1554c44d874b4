"""Verifying a credential against a registry: is it valid, may it pull, may it push.

``valid``
    The registry accepted the credential itself, not merely handed out an anonymous token: with Basic,
    ``GET /v2/`` with the credential answered 200; with Bearer, the realm accepted the credential (a 401
    there means invalid) and ``GET /v2/`` accepted the token. This token is always fetched anew, so a
    revoked credential is noticed at once; repository-scoped tokens come from the cache when they can.
``can_pull``
    A token for ``repository:NAME:pull`` (or Basic) and ``HEAD /v2/NAME/manifests/REF`` answered 200.
    A 404 is looked at with a GET, whose error body tells why. ``MANIFEST_UNKNOWN`` counts as pull
    rights proven: the registry authorized the request for this repository and only then found no such
    tag (distribution checks access before it looks anything up). ``NAME_UNKNOWN`` does not: some
    registries (GHCR, Harbor) answer it to hide private repositories from a caller without access, so
    it reads ``not found``. A 401 after the realm accepted the credential means the token was not
    granted the scope: ``denied``.
``can_push``
    A token for ``repository:NAME:pull,push`` and ``POST /v2/NAME/blobs/uploads/`` answered 202; the
    upload is then cancelled with ``DELETE`` on its ``Location`` (same origin only).

Every request goes through one httpx client (:mod:`~shipway.adapters.registry.requesting`) with a
:class:`~shipway.adapters.registry.authenticating.RegistryAuth` for its scope, which answers the challenge.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import ssl
from collections.abc import Awaitable
from pathlib import Path

import httpx

from shipway.adapters.registry import addresses, realms, requesting, tokens
from shipway.adapters.registry.authenticating import RegistryAuth
from shipway.adapters.registry.credentials import Credential
from shipway.adapters.registry.results import Check, Reason, VerificationResult
from shipway.core import errors

log = logging.getLogger(__name__)

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))


def _error_codes(body: bytes) -> frozenset[str]:
    """The ``errors[].code`` values of a registry's JSON error body."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return frozenset()
    found = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(found, list):
        return frozenset()
    return frozenset(e["code"] for e in found if isinstance(e, dict) and isinstance(e.get("code"), str))


def _refused(auth: RegistryAuth, status: int, what: str) -> Check:
    if status == 403 or (status == 401 and auth.uses_tokens):
        return Check.failed(Reason.DENIED, f"the credential may not {what} this repository")
    return Check.failed(Reason.UNAUTHORIZED, "the registry refused the credential")


def _ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError):
            message = "cannot read a CA certificate from this file"
            raise errors.InvalidInput(message, field="ca_file") from None
    return context


class RegistryClient:
    """Verifies credentials against registries. Use as ``async with RegistryClient(...) as client``.

    ``ca_file`` adds a CA bundle to the system's; ``insecure_registries`` lists hosts (``host`` or
    ``host:port``) that may be spoken to over plain HTTP, as loopback hosts always may. ``trusted_realms``
    lists token realms (``host`` or ``host:port``, reached over HTTPS only) on other hosts than their
    registry that may receive its credential, on top of the known pairings (see
    :mod:`~shipway.adapters.registry.realms`). ``timeout`` bounds each exchange and ``deadline`` each check
    as a whole. Tokens are cached in ``token_cache``.
    """

    def __init__(
        self,
        *,
        ca_file: Path | None = None,
        insecure_registries: frozenset[str] = frozenset(),
        timeout: float = 10.0,
        deadline: float = 30.0,
        retries: int = 2,
        token_cache: tokens.TokenCache | None = None,
        trusted_realms: frozenset[str] = frozenset(),
    ) -> None:
        if timeout <= 0 or deadline <= 0 or retries < 0:
            raise errors.InvalidInput("timeouts must be positive and retries not negative", field="timeout")
        self._insecure = frozenset(insecure_registries)
        self._trusted = realms.parse_trusted(trusted_realms)
        self._deadline = deadline
        self._cache = token_cache if token_cache is not None else tokens.TokenCache()
        self._http = requesting.make_client(
            verify=_ssl_context(ca_file), timeout=timeout, retries=retries, insecure_registries=self._insecure
        )

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return (f"RegistryClient(insecure_registries={sorted(self._insecure)!r}, "
                f"trusted_realms={sorted(self._trusted)!r}, tokens={self._cache!r})")

    async def verify(
        self,
        registry: str,
        *,
        credential: Credential | None = None,
        repository: str | None = None,
        reference: str = "latest",
        check_push: bool = True,
    ) -> VerificationResult:
        """Check ``credential`` (None: anonymous) against ``registry`` and optionally ``repository``.

        Raises :class:`~shipway.core.errors.InvalidInput` for a bad host, repository or reference; every
        network or registry outcome is reported in the result.
        """
        address = addresses.parse_registry(registry)
        if repository is not None:
            addresses.validate_repository(repository)
        addresses.validate_reference(reference)
        schemes = addresses.schemes_to_try(address, self._insecure)
        auth: RegistryAuth | None = None

        async def probe() -> Check:
            nonlocal auth
            if not schemes:
                return Check.failed(Reason.INSECURE, "plain HTTP is not allowed for this registry")
            auth, reply = await self._discover(address, schemes, credential)
            return _valid(auth, reply)

        valid = await self._run(probe())
        can_pull = can_push = None
        if valid.ok and repository is not None and auth is not None:
            can_pull = await self._run(self._pull(auth, repository, reference))
            if check_push:
                can_push = await self._run(self._push(auth, repository))
        result = VerificationResult(
            registry=address.netloc,
            repository=repository,
            username=credential.username if credential else None,
            valid=valid,
            can_pull=can_pull,
            can_push=can_push,
            checked_at=datetime.datetime.now(datetime.UTC),
        )
        log.info("registry %s verified: %s (%s)", address.netloc, result.outcome, valid.reason or "valid")
        return result

    async def _run(self, step: Awaitable[Check]) -> Check:
        try:
            async with asyncio.timeout(self._deadline):
                return await step
        except requesting.CheckFailed as failure:
            return Check.failed(failure.reason, failure.detail)
        except TimeoutError:
            return Check.failed(Reason.TIMEOUT, "the check took longer than its deadline")

    def _plain_http_allowed(self, url: httpx.URL) -> bool:
        return addresses.plain_http_allowed(url.host, url.port, self._insecure)

    async def _discover(
        self, address: addresses.RegistryAddress, schemes: tuple[str, ...], credential: Credential | None
    ) -> tuple[RegistryAuth, httpx.Response]:
        """``GET /v2/`` over each scheme in turn, its challenge answered with a token fetched anew (never
        from cache: the realm must see the credential now, and a 401 there means invalid). HTTPS failing at
        the connection level, before the registry answered anything, moves on to HTTP."""
        for index, scheme in enumerate(schemes):
            base = httpx.URL(address.base_url(scheme))
            auth = RegistryAuth(base, credential=credential, cache=self._cache, trusted_realms=self._trusted,
                                plain_http_allowed=self._plain_http_allowed, fresh=True)
            last = index == len(schemes) - 1
            try:
                return auth, await requesting.send(self._http, "GET", base.join("/v2/"), auth=auth)
            except requesting.PlainHttpAnswer:
                if auth.challenged or (last and self._plain_http_allowed(base)):
                    raise  # the caller asked for https:// explicitly (or a realm failed): a TLS failure
                if last:
                    detail = "the registry speaks plain HTTP, which is not allowed for it"
                    raise requesting.CheckFailed(Reason.INSECURE, detail) from None
                log.debug("registry %s: no TLS, trying plain HTTP", address.netloc)
            except requesting.CheckFailed as failure:
                if auth.challenged or last or failure.reason != Reason.UNREACHABLE:
                    raise
        raise requesting.CheckFailed(Reason.INSECURE, "no allowed scheme for this registry")

    async def _pull(self, auth: RegistryAuth, repository: str, reference: str) -> Check:
        scoped = auth.scoped(f"repository:{repository}:pull")
        url = auth.base.join(f"/v2/{repository}/manifests/{reference}")
        accept = {"Accept": MANIFEST_TYPES}
        reply = await requesting.send(self._http, "HEAD", url, auth=scoped, headers=accept)
        if reply.status_code == 404:  # HEAD has no body: ask again to read the error code
            reply = await requesting.send(self._http, "GET", url, auth=scoped, headers=accept)
        if reply.status_code == 200:
            return Check.passed()
        if reply.status_code in (401, 403):
            return _refused(auth, reply.status_code, "pull from")
        if reply.status_code == 404:
            codes = _error_codes(reply.content)
            if "MANIFEST_UNKNOWN" in codes and "NAME_UNKNOWN" not in codes:
                return Check.passed(f"pull is allowed; {reference} does not exist yet")
            return Check.failed(Reason.NOT_FOUND, "no such repository (or it is hidden from this credential)")
        return Check.failed(Reason.BAD_RESPONSE, f"the manifest request answered HTTP {reply.status_code}")

    async def _push(self, auth: RegistryAuth, repository: str) -> Check:
        scope = f"repository:{repository}:pull,push"
        url = auth.base.join(f"/v2/{repository}/blobs/uploads/")
        reply = await requesting.send(self._http, "POST", url, auth=auth.scoped(scope),
                                      headers={"Content-Length": "0"})
        if reply.status_code == 202:
            cancelled = await self._cancel_upload(auth.scoped(scope, refresh=False), reply)
            leftover = "the test upload was not cancelled; the registry purges it later"
            return Check.passed(None if cancelled else leftover)
        if reply.status_code in (401, 403):
            return _refused(auth, reply.status_code, "push to")
        if reply.status_code == 404:
            return Check.failed(Reason.NOT_FOUND, "no such repository")
        if reply.status_code == 405:
            return Check.failed(Reason.DENIED, "the registry accepts no pushes")
        return Check.failed(Reason.BAD_RESPONSE, f"the upload request answered HTTP {reply.status_code}")

    async def _cancel_upload(self, auth: RegistryAuth, reply: httpx.Response) -> bool:
        """``DELETE`` on the upload's ``Location``, on the registry's own origin only. Distribution wants a
        ``delete`` scope for this, which is not asked for: a refusal is expected, and not retried."""
        location = reply.headers.get("location")
        if not location:
            return False
        try:
            target = reply.url.join(location)
        except (httpx.InvalidURL, ValueError):
            return False
        if requesting.origin(target) != requesting.origin(auth.base):
            return False  # the token is for the registry alone
        try:
            done = await requesting.send(self._http, "DELETE", target, auth=auth)
        except requesting.CheckFailed:
            return False
        return done.status_code in (200, 202, 204)


def _valid(auth: RegistryAuth, reply: httpx.Response) -> Check:
    """What ``GET /v2/`` (its challenge answered) says of the credential."""
    if reply.status_code == 200:
        return Check.passed() if auth.challenged else Check.passed("the registry needs no credentials")
    if reply.status_code == 401:
        return Check.failed(Reason.UNAUTHORIZED, "the registry refused the credential")
    if reply.status_code == 404 and not auth.challenged:
        return Check.failed(Reason.BAD_RESPONSE, "no registry API at /v2/")
    return Check.failed(Reason.BAD_RESPONSE, f"/v2/ answered HTTP {reply.status_code}")
