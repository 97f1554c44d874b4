"""Suite-wide fixtures."""

from __future__ import annotations

import pytest

from shipway.core import secrets


@pytest.fixture(autouse=True)
def fresh_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no remembered secret values: the redacting log filter's memory is process-wide,
    and a value one test wraps in a Secret (say "password") would otherwise mask text in another test."""
    monkeypatch.setattr(secrets, "KNOWN_SECRETS", secrets._KnownSecrets())
