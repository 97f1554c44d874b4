"""What a registry verification answers: plain frozen data, with reasons from a fixed set.

A check that failed names one :class:`Reason`; ``detail`` adds a short human sentence written by Shipway
(never a server's text, never a credential). Both are for the operator's logs and the platform's own tools.
What a tenant may see is the coarse :class:`Outcome`: it tells a wrong credential from a registry that
could not be used, and nothing more (which port answered, how, or whether TLS failed stays hidden, so a
verification is no port scanner).
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
    NOT_FOUND = "not found"  # the repository does not exist (or is hidden from this credential)
    TLS = "tls"  # the TLS handshake or the certificate failed
    TIMEOUT = "timeout"  # the server did not answer in time
    UNREACHABLE = "unreachable"  # no connection could be made
    BAD_RESPONSE = "bad response"  # the server answered something that is not a registry's answer
    INSECURE = "insecure"  # plain HTTP would be needed and is not allowed for this host
    UNTRUSTED_REALM = "untrusted realm"  # the token realm is on another host, neither known nor trusted


class Outcome(enum.StrEnum):
    """The coarse classification shown to tenants."""

    VERIFIED = "Verified"  # every check that ran passed
    UNAUTHORIZED = "Unauthorized"  # the registry answered: wrong credentials, or a right it does not grant
    UNREACHABLE = "Unreachable"  # no registry answer could be had: any transport-level failure or refusal


OUTCOMES: dict[Reason, Outcome] = {
    Reason.UNAUTHORIZED: Outcome.UNAUTHORIZED,
    Reason.DENIED: Outcome.UNAUTHORIZED,
    Reason.NOT_FOUND: Outcome.UNAUTHORIZED,
    Reason.TLS: Outcome.UNREACHABLE,
    Reason.TIMEOUT: Outcome.UNREACHABLE,
    Reason.UNREACHABLE: Outcome.UNREACHABLE,
    Reason.BAD_RESPONSE: Outcome.UNREACHABLE,
    Reason.INSECURE: Outcome.UNREACHABLE,
    Reason.UNTRUSTED_REALM: Outcome.UNREACHABLE,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check: ``ok``, or a ``reason`` why not."""

    ok: bool
    reason: Reason | None = None
    detail: str | None = None

    @property
    def outcome(self) -> Outcome:
        if self.ok:
            return Outcome.VERIFIED
        return Outcome.UNREACHABLE if self.reason is None else OUTCOMES[self.reason]

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

    @property
    def outcome(self) -> Outcome:
        """The outcome of the first check that failed (``valid`` first), else ``Verified``."""
        for check in (self.valid, self.can_pull, self.can_push):
            if check is not None and not check.ok:
                return check.outcome
        return Outcome.VERIFIED

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
            "outcome": str(self.outcome),
        }
