"""Fingerprints: short SHA-256 digests that identify a credential without revealing it.

The ONE place fingerprints are computed. An entry's fingerprint covers its normalised registry key,
username, password and email under a domain-separation tag, so a change of any of them (a rotation)
changes it. It is a digest, not an encryption: a weak password could be confirmed by guessing, which is
why registries should be given long random tokens.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from shipway.core.dockerconfig import AuthEntry

_ENTRY_TAG = b"shipway.dev/entry/v1\x00"
_SET_TAG = b"shipway.dev/set/v1\x00"
_LENGTH = 16  # hex characters shown


def _short(digest: str) -> str:
    return f"sha256:{digest[:_LENGTH]}"


def entry_fingerprint(entry: AuthEntry) -> str:
    material = json.dumps(
        [entry.registry.text, entry.username, entry.password.reveal(), entry.email or ""], separators=(",", ":")
    ).encode("utf-8")
    return _short(hashlib.sha256(_ENTRY_TAG + material).hexdigest())


def set_fingerprint(parts: Iterable[tuple[str, str]]) -> str:
    """The fingerprint of a set of (key, fingerprint) pairs, independent of their order."""
    material = json.dumps(sorted(parts), separators=(",", ":")).encode("utf-8")
    return _short(hashlib.sha256(_SET_TAG + material).hexdigest())
