"""The kubelet's keyring: which auths entries it tries for an image, and in which order.

This is ``BasicDockerKeyring.Lookup`` of ``pkg/credentialprovider/keyring.go``: the keys of ALL the pod's
pull secrets go into one index, duplicates merged, sorted in reverse lexicographic order; every key that
matches the image contributes its credentials, in that order (the kubelet tries them one after another).
Only when no key matched, an image on Docker Hub falls back to the key ``index.docker.io``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shipway.core.dockerconfig import AuthEntry
from shipway.core.images import DOCKER_HUB, LEGACY_DOCKER_HUB, ImageRef, parse_image
from shipway.core.registry_keys import key_matches

DEFAULT_REGISTRY_KEY = LEGACY_DOCKER_HUB


@dataclass(frozen=True, slots=True)
class Match:
    """One credential the kubelet will try: the entry, the index key it came through, and why."""

    entry: AuthEntry
    index_key: str
    fallback: bool  # True when it came through the Docker Hub fallback, not a key match

    @property
    def reason(self) -> str:
        if self.fallback:
            return f"no key matched; Docker Hub image falls back to {DEFAULT_REGISTRY_KEY!r}"
        return f"key {self.index_key!r} matches host labels, port and path prefix"


def _is_default_registry_match(image_name: str) -> bool:
    first, sep, _ = image_name.partition("/")
    if not first:
        return False
    if not sep:
        return True
    if first in (DOCKER_HUB, LEGACY_DOCKER_HUB):
        return True
    return not any(c in first for c in ".:")


class Keyring:
    """The entries of all of a pod's pull secrets, indexed as the kubelet indexes them."""

    def __init__(self, configs: Iterable[Sequence[AuthEntry]]) -> None:
        self._creds: dict[str, list[AuthEntry]] = {}
        for entries in configs:
            for entry in entries:
                self._creds.setdefault(entry.registry.text, []).append(entry)
        self.index: tuple[str, ...] = tuple(sorted(self._creds, reverse=True))

    def lookup(self, image: str | ImageRef) -> list[Match]:
        """Every credential the kubelet tries for ``image``, in its order."""
        ref = parse_image(image) if isinstance(image, str) else image
        return self.lookup_name(ref.name)

    def lookup_name(self, name: str) -> list[Match]:
        """Every credential the kubelet tries for an image's normalised ``domain/path`` (``ImageRef.name``)."""
        matches = [
            Match(entry=entry, index_key=key, fallback=False)
            for key in self.index
            if key_matches(self._creds[key][0].registry, name)
            for entry in self._creds[key]
        ]
        if matches or not _is_default_registry_match(name):
            return matches
        return [
            Match(entry=entry, index_key=DEFAULT_REGISTRY_KEY, fallback=True)
            for entry in self._creds.get(DEFAULT_REGISTRY_KEY, [])
        ]
