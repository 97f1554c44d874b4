"""Helpers shared by the core tests: docker configs built from a few keys, keyring look-ups."""

from __future__ import annotations

import json
from collections.abc import Sequence

from shipway.core.dockerconfig import AuthEntry, DockerConfig, parse_docker_config
from shipway.core.keyring import Keyring, Match
from shipway.core.layers import Grants, referenced_secrets
from shipway.core.resources import PipelineSpec, PlatformSpec, Usage


def config_of(*keys: str, password: str = "pw-{i}", username: str = "user-{i}") -> DockerConfig:
    """A dockerconfigjson payload with one entry per key (passwords numbered so entries differ)."""
    auths = {
        key: {"username": username.format(i=i, key=key), "password": password.format(i=i, key=key)}
        for i, key in enumerate(keys)
    }
    return parse_docker_config(json.dumps({"auths": auths}))


def entries_of(*keys: str) -> tuple[AuthEntry, ...]:
    return config_of(*keys).entries


def lookup(image: str, configs: Sequence[Sequence[str]]) -> list[Match]:
    """The kubelet's matches for ``image`` given the keys of several pull secrets (one tuple per file)."""
    return Keyring(entries_of(*keys) for keys in configs).lookup(image)




def all_granted(pipeline: PipelineSpec, platform: PlatformSpec | None = None) -> Grants:
    """Every referenced Secret granted for every usage: for tests of the merge rules on their own (the
    isolation rules that compute real grants are tested in tests/core/test_isolation.py)."""
    refs = referenced_secrets(platform=platform, pipeline=pipeline)
    everything = frozenset(Usage)
    return Grants(tenant=dict.fromkeys(refs, everything), platform=dict.fromkeys(refs, everything))
