"""Image references, normalised as the kubelet does before it looks up pull credentials.

The kubelet calls ``parsers.ParseImageName`` (docker's ``ParseNormalizedNamed``) and hands the
fully-qualified repository name, tag and digest dropped, to the keyring: ``nginx:1.27`` becomes
``docker.io/library/nginx``, ``team/app`` becomes ``docker.io/team/app``, ``localhost/app`` and
``host:5000/app`` keep their host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.core.errors import ImageReferenceError

DOCKER_HUB = "docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"  # the key of Docker Hub credentials in docker configs
DOCKER_HUB_API = "registry-1.docker.io"  # where Docker Hub's registry API answers
DOCKER_HUB_HOSTS = frozenset({DOCKER_HUB, LEGACY_DOCKER_HUB, DOCKER_HUB_API})
"""Every name of Docker Hub: the one home of its aliases."""
OFFICIAL_PREFIX = "library/"
MAX_NAME_LENGTH = 255

PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{PATH_COMPONENT}(?:/{PATH_COMPONENT})*$")
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A normalised image: ``domain`` (with port) and repository ``path``; tag and digest kept aside."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """What the kubelet hands to its keyring: ``domain/path``."""
        return f"{self.domain}/{self.path}"

    @property
    def on_docker_hub(self) -> bool:
        return self.domain in (DOCKER_HUB, LEGACY_DOCKER_HUB)


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    is_domain = sep and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first)
    if not is_domain:
        domain, remainder = DOCKER_HUB, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DOCKER_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_image(reference: str, *, field: str = "image") -> ImageRef:
    """Parse and normalise an image reference; raise :class:`ImageReferenceError` naming what is wrong."""
    if not reference or reference != reference.strip():
        raise ImageReferenceError("an image reference must be non-empty with no surrounding spaces", field=field)
    name, digest = reference, None
    if "@" in name:
        name, _, digest = name.partition("@")
        if not _DIGEST_RE.match(digest):
            raise ImageReferenceError("invalid digest", field=field)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not _TAG_RE.match(tag):
            raise ImageReferenceError("invalid tag", field=field)
    if not name:
        raise ImageReferenceError("an image reference needs a repository name", field=field)
    domain, path = _split_domain(name)
    if not _DOMAIN_RE.match(domain):
        raise ImageReferenceError("invalid registry host", field=field)
    if path.lower() != path:
        raise ImageReferenceError("the repository name must be lowercase", field=field)
    if not _PATH_RE.match(path):
        raise ImageReferenceError("invalid repository name", field=field)
    if len(f"{domain}/{path}") > MAX_NAME_LENGTH:
        raise ImageReferenceError(f"repository name longer than {MAX_NAME_LENGTH} characters", field=field)
    return ImageRef(domain=domain, path=path, tag=tag, digest=digest)
