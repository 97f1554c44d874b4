"""`shipway registry verify --config` takes the entry the kubelet would use: the core keyring decides."""

from __future__ import annotations

import base64
import json

import pytest

from shipway.cli.registry import credential_from_config
from shipway.core import errors


def config(entries: dict[str, tuple[str, str]]) -> bytes:
    return json.dumps({"auths": {key: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}
                                 for key, (u, p) in entries.items()}}).encode()


DATA = config({"reg.example:5000": ("host-bot", "pw-1"), "reg.example:5000/team-a": ("team-bot", "pw-2"),
               "https://index.docker.io/v1/": ("hub-bot", "pw-3"), "*.corp.example": ("glob-bot", "pw-4")})


@pytest.mark.parametrize(("registry", "repository", "username", "expected"), [
    ("reg.example:5000", None, None, "host-bot"),
    ("reg.example:5000", "team-a/app", None, "team-bot"),  # the most specific key first, as the kubelet
    ("reg.example:5000", "team-a/app", "host-bot", "host-bot"),
    ("reg.example:5000", "team-b/app", None, "host-bot"),
    ("docker.io", "library/nginx", None, "hub-bot"),  # Docker Hub by any of its names
    ("index.docker.io", None, None, "hub-bot"),
    ("eu.corp.example", "x", None, "glob-bot"),
])
def test_the_entry_is_the_one_the_kubelet_would_use(registry: str, repository: str | None, username: str | None,
                                                     expected: str) -> None:
    assert credential_from_config(DATA, registry=registry, repository=repository,
                                  username=username).username == expected


@pytest.mark.parametrize(("registry", "username"), [("reg.example:5001", None), ("reg.example", None),
                                                    ("reg.example:5000", "nobody")])
def test_no_entry_is_not_found_naming_the_option(registry: str, username: str | None) -> None:
    with pytest.raises(errors.NotFound) as raised:
        credential_from_config(DATA, registry=registry, repository=None, username=username)
    assert raised.value.field == "--config"
