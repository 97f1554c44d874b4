"""A client of the Shipway REST API (for the CLI). Errors come back as the core's error types."""

from __future__ import annotations

from typing import Any

import httpx

from shipway import __version__
from shipway.core import errors
from shipway.core.secrets import Secret

# The API's statuses back to the error classes they came from (shipway.api.errors), so that the CLI exits
# with the same code for the same class of error whether it was found locally or by the API.
_BY_STATUS: dict[int, type[errors.ShipwayError]] = {
    400: errors.InvalidInput, 401: errors.Unauthenticated, 403: errors.Forbidden, 404: errors.NotFound,
    409: errors.Conflict, 413: errors.PayloadTooLarge, 422: errors.InvalidInput, 429: errors.TooManyRequests,
}


class ShipwayApi:
    def __init__(self, *, url: str, token: Secret, timeout: float = 30.0) -> None:
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                    headers={"User-Agent": f"shipway-cli/{__version__}"})
        self._token = token
        self.url = url

    def __enter__(self) -> ShipwayApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, path, json=json, params=params,
                                            headers={"Authorization": f"Bearer {self._token.reveal()}"})
        except httpx.TimeoutException:
            raise errors.UpstreamError(f"the Shipway API at {self.url} did not answer in time") from None
        except httpx.HTTPError as error:
            raise errors.UpstreamError(f"cannot reach the Shipway API at {self.url}: {type(error).__name__}") from None
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = (body or {}).get("error") if isinstance(body, dict) else None
            message = str((detail or {}).get("message") or f"HTTP {response.status_code}")
            kind = _BY_STATUS.get(response.status_code, errors.UpstreamError)
            raise kind(message, field=(detail or {}).get("field"))
        return body
