"""A registry credential: a user name and a masked password, and the HTTP Basic header made from them."""

from __future__ import annotations

import base64
import dataclasses

from shipway.core import errors
from shipway.core.secrets import Secret


@dataclasses.dataclass(frozen=True, slots=True)
class Credential:
    """A user name and a password (or token) for a registry. Its repr masks the password."""

    username: str
    password: Secret

    def __post_init__(self) -> None:
        if not self.username or ":" in self.username or any(ord(c) < 32 for c in self.username):
            raise errors.InvalidInput("a user name must be non-empty, without ':' or control characters",
                                      field="username")
        if not isinstance(self.password, Secret):
            raise errors.InvalidInput("the password must be a Secret", field="password")
        if not self.password or any(c in self.password.reveal() for c in "\r\n\x00"):
            raise errors.InvalidInput("the password must be non-empty, on one line", field="password")

    def basic_authorization(self) -> Secret:
        """The value of an ``Authorization: Basic`` header, itself a Secret."""
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return Secret("Basic " + base64.b64encode(pair).decode("ascii"))
