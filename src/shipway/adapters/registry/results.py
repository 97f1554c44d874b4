"""What a registry verification answers: plain frozen data, with reasons from a fixed set.

A check that failed names one :class:`Reason`; ``detail`` adds a short human sentence written by Shipway
(never a server's text, never a credential).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any


class Reason(enum.StrEnum):
    """Why a check failed. The set is closed: callers may match on it."""

    UNAUTHORIZED = "unauthorized"  # the registry (or its token realm) refused the credentials
    DENIED = "denied"  # the credentials are valid but lack the right for this repository
    NOT_FOUND = "not found"  # the repository (or the registry API) does not exist
    TLS = "tls"  # the TLS handshake or the certificate failed
    TIMEOUT = "timeout"  # the server did not answer in time
    UNREACHABLE = "unreachable"  # no connection could be made
    BAD_RESPONSE = "bad response"  # the server answered something that is not a registry's answer
    INSECURE = "insecure"  # plain HTTP would be needed and is not allowed for this host


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check: ``ok``, or a ``reason`` why not."""

    ok: bool
    reason: Reason | None = None
    detail: str | None = None

    @classmethod
    def passed(cls, detail: str | None = None) -> Check:
        return cls(ok=True, reason=None, detail=detail)

    @classmethod
    def failed(cls, reason: Reason, detail: str | None = None) -> Check:
        return cls(ok=False, reason=reason, detail=detail)

    def as_dict(self) -> dict[str, Any]:
        reason = None if self.reason is None else str(self.reason)
        return {"ok": self.ok, "reason": reason, "detail": self.detail}


@dataclasses.dataclass(frozen=True, slots=True)
class VerificationResult:
    """What one verification found for a registry, a credential and optionally a repository.

    ``can_pull`` and ``can_push`` are None when no repository was given (or push was not asked for),
    and also when ``valid`` failed (nothing further was tried).
    """

    registry: str
    repository: str | None
    username: str | None
    valid: Check
    can_pull: Check | None
    can_push: Check | None
    checked_at: datetime.datetime

    @property
    def ok(self) -> bool:
        """True when every check that ran passed."""
        checks = (self.valid, self.can_pull, self.can_push)
        return all(check.ok for check in checks if check is not None)

    def as_dict(self) -> dict[str, Any]:
        def opt(check: Check | None) -> dict[str, Any] | None:
            return None if check is None else check.as_dict()

        return {
            "registry": self.registry,
            "repository": self.repository,
            "username": self.username,
            "valid": self.valid.as_dict(),
            "can_pull": opt(self.can_pull),
            "can_push": opt(self.can_push),
            "checked_at": self.checked_at.isoformat(),
        }
