"""API errors, rendered as the ``Status`` objects a real kube-apiserver answers with.

The hierarchy (each one maps to exactly one HTTP status and ``reason``)::

    ApiError
    ├── BadRequest          400  BadRequest
    ├── Unauthorized        401  Unauthorized     (reserved for the authn hook)
    ├── Forbidden           403  Forbidden        (reserved for the authz hook)
    ├── NotFound            404  NotFound
    ├── MethodNotAllowed    405  MethodNotAllowed
    ├── AlreadyExists       409  AlreadyExists
    ├── Conflict            409  Conflict
    ├── Gone                410  Expired
    ├── UnsupportedMedia    415  UnsupportedMediaType
    ├── Invalid             422  Invalid
    ├── InternalError       500  InternalError    (``Internal error occurred: ...``)
    └── StatusError         any  any              (a ``Status`` made elsewhere, e.g. by a webhook's denial)
"""

from __future__ import annotations

from typing import Any, ClassVar

from shipway_sandbox.emulator import objects


class ApiError(Exception):
    """An error with a Kubernetes ``Status`` body."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def status(self) -> objects.Body:
        body: objects.Body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    @property
    def http_status(self) -> int:
        """The HTTP status code of the response (the ``code`` of the Status)."""
        return self.code


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    code = 401
    reason = "Unauthorized"


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"


class NotFound(ApiError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"


class Conflict(ApiError):
    code = 409
    reason = "Conflict"


class Gone(ApiError):
    code = 410
    reason = "Expired"


class UnsupportedMedia(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):
    code = 422
    reason = "Invalid"


class InternalError(ApiError):
    """``apierrors.NewInternalError``: the message is prefixed, the cause is kept as the only cause."""

    code = 500
    reason = "InternalError"

    def __init__(self, cause: str) -> None:
        super().__init__(f"Internal error occurred: {cause}", details={"causes": [{"message": cause}]})


class StatusError(ApiError):
    """An error whose whole ``Status`` was built elsewhere (its ``code`` is the HTTP status)."""

    def __init__(self, status: objects.Body) -> None:
        super().__init__(str(status.get("message") or ""), details=status.get("details"))
        self._status = {**status, "kind": "Status", "apiVersion": "v1", "metadata": status.get("metadata") or {}}

    def status(self) -> objects.Body:
        return dict(self._status)

    @property
    def http_status(self) -> int:
        code = self._status.get("code")
        return code if isinstance(code, int) and 100 <= code <= 599 else 500


def details(kind: str, name: str | None, group: str = "") -> dict[str, Any]:
    """The ``details`` block of an object-level Status (``kind`` is the plural, as the API server does)."""
    result: dict[str, Any] = {"kind": kind}
    if name:
        result["name"] = name
    if group:
        result["group"] = group
    return result


def not_found(plural: str, name: str, group: str = "") -> NotFound:
    qualified = f"{plural}.{group}" if group else plural
    return NotFound(f'{qualified} "{name}" not found', details=details(plural, name, group))


def already_exists(plural: str, name: str, group: str = "") -> AlreadyExists:
    qualified = f"{plural}.{group}" if group else plural
    return AlreadyExists(f'{qualified} "{name}" already exists', details=details(plural, name, group))


def conflict(plural: str, name: str, group: str = "") -> Conflict:
    qualified = f"{plural}.{group}" if group else plural
    return Conflict(
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified;'
        " please apply your changes to the latest version and try again",
        details=details(plural, name, group),
    )


def invalid_options(kind: str, field: str, reason: str, detail: str) -> Invalid:
    """A 422 on request options (``CreateOptions.meta.k8s.io "" is invalid: ...``), as the handlers answer."""
    return invalid(kind, "meta.k8s.io", "", [{"reason": reason, "message": detail, "field": field}],
                   message=f'{kind}.meta.k8s.io "" is invalid: {field}: {detail}')


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]], *, message: str) -> Invalid:
    """A 422 with field causes; ``details.kind`` is the Kind here, as the API server's ``NewInvalid`` does."""
    found = details(kind, name, group)
    found["causes"] = causes
    return Invalid(message, details=found)
