"""Docker config payloads: ``kubernetes.io/dockerconfigjson`` and legacy ``kubernetes.io/dockercfg``.

Parsing follows the kubelet (``credentialprovider.DockerConfigEntry``): ``username``, ``password``,
``email`` and ``auth`` (base64 of ``user:pass``, padded or not, which overrides username/password).
The kubelet silently ignores ``credHelpers``, ``credsStore``, ``identitytoken`` and ``registrytoken``: a
pull secret relying on them fails at pull time, so Shipway refuses them on input with a clear message.
Every value is validated before anything is returned: the result is all or nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shipway.core.errors import DockerConfigError, PayloadTooLarge
from shipway.core.registry_keys import RegistryKey, validate_key
from shipway.core.secrets import Secret

MAX_PAYLOAD_BYTES = 1024 * 1024  # the size limit of a Kubernetes Secret
DOCKERCONFIGJSON_KEY = ".dockerconfigjson"
DOCKERCFG_KEY = ".dockercfg"
_IGNORED_BY_KUBELET = ("identitytoken", "registrytoken")
_TOP_LEVEL_HELPERS = ("credHelpers", "credsStore")
_KNOWN_ENTRY_FIELDS = frozenset({"username", "password", "auth", "email", "serveraddress"})


class ConfigFormat(StrEnum):
    DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
    DOCKERCFG = "kubernetes.io/dockercfg"


@dataclass(frozen=True, slots=True)
class AuthEntry:
    """One auths entry: ``key`` exactly as written, its normalised ``registry``, and the credentials."""

    key: str
    registry: RegistryKey
    username: str
    password: Secret
    email: str | None = None

    def __repr__(self) -> str:
        return f"AuthEntry(key={self.key!r}, username={self.username!r}, password={self.password!r})"


@dataclass(frozen=True, slots=True)
class DockerConfig:
    format: ConfigFormat
    entries: tuple[AuthEntry, ...]


def _decode_auth(value: str, *, field: str) -> tuple[str, str]:
    text = value.strip()
    try:
        if text.endswith("="):
            raw = base64.b64decode(text, validate=True)
        else:
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DockerConfigError("auth is not valid base64", field=field) from None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DockerConfigError("auth does not decode to UTF-8 text", field=field) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise DockerConfigError("auth must be base64 of 'username:password' (no ':' found)", field=field)
    return username, password


def _parse_entry(key: str, raw: Any, *, field: str) -> AuthEntry:
    registry = validate_key(key, field=field)
    if not isinstance(raw, Mapping):
        raise DockerConfigError("an auths entry must be a JSON object", field=field)
    for name in _IGNORED_BY_KUBELET:
        if raw.get(name):
            raise DockerConfigError(
                f"{name} is ignored by the kubelet: the pull would fail silently; use username and password",
                field=f"{field}.{name}",
            )
    unknown = set(raw) - _KNOWN_ENTRY_FIELDS - set(_IGNORED_BY_KUBELET)
    if unknown:
        # Not named: a field name inside a credential payload may itself be secret.
        raise DockerConfigError(
            f"{len(unknown)} unknown field(s); an entry holds only username, password, auth, email, serveraddress",
            field=field)
    for name in ("username", "password", "auth", "email"):
        if name in raw and raw[name] is not None and not isinstance(raw[name], str):
            raise DockerConfigError("must be a string", field=f"{field}.{name}")
    username, password = raw.get("username") or "", raw.get("password") or ""
    if raw.get("auth"):
        username, password = _decode_auth(raw["auth"], field=f"{field}.auth")
    if not username and not password:
        raise DockerConfigError("has no credentials: set username and password, or auth", field=field)
    return AuthEntry(key=key, registry=registry, username=username, password=Secret(password),
                     email=raw.get("email") or None)


def decode_payload(data: bytes | str, *, field: str) -> str:
    """The text of an input payload: at most 1 MiB (a Kubernetes Secret's limit), UTF-8."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"{len(raw)} bytes is over the limit of {MAX_PAYLOAD_BYTES}", field=field)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DockerConfigError(f"not UTF-8 (byte {error.start})", field=field) from None


def _load_json(data: bytes | str, *, field: str) -> Any:
    text = decode_payload(data, field=field)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DockerConfigError(f"not valid JSON: {error.msg} at line {error.lineno}", field=field) from None
    except RecursionError:
        raise DockerConfigError("nested too deeply", field=field) from None


def parse_auths(auths: Any, *, format: ConfigFormat, field: str) -> DockerConfig:
    """Validate an already-decoded auths mapping (``{KEY: ENTRY}``)."""
    if not isinstance(auths, Mapping):
        raise DockerConfigError("must be a JSON object of registry keys", field=field)
    # Entries are named by position: a key is input (one may hold a pasted secret) and is never echoed.
    entries = tuple(_parse_entry(str(key), value, field=f"{field}[{index}]")
                    for index, (key, value) in enumerate(auths.items()))
    return DockerConfig(format=format, entries=entries)


def parse_docker_config(
    data: bytes | str, *, format: ConfigFormat | None = None, field: str = "dockerconfig"
) -> DockerConfig:
    """Parse a docker config; ``format=None`` detects it (an ``auths`` object means dockerconfigjson)."""
    return config_from_document(_load_json(data, field=field), format=format, field=field)


def config_from_document(document: Any, *, format: ConfigFormat | None, field: str) -> DockerConfig:
    """Validate an already-decoded docker config document (JSON or YAML)."""
    if not isinstance(document, Mapping):
        raise DockerConfigError("must be a JSON object", field=field)
    helpers = [name for name in _TOP_LEVEL_HELPERS if document.get(name)]
    if helpers:
        raise DockerConfigError(
            f"{helpers[0]} is ignored by the kubelet: store username and password in auths instead",
            field=f"{field}.{helpers[0]}",
        )
    detected = format
    if detected is None:
        detected = ConfigFormat.DOCKERCONFIGJSON if "auths" in document else ConfigFormat.DOCKERCFG
    if detected is ConfigFormat.DOCKERCONFIGJSON:
        if "auths" not in document:
            raise DockerConfigError("a dockerconfigjson payload needs an 'auths' object", field=field)
        return parse_auths(document["auths"], format=detected, field=f"{field}.auths")
    if "auths" in document and isinstance(document["auths"], Mapping):
        raise DockerConfigError(
            "a .dockercfg payload has no 'auths' wrapper; this looks like a .dockerconfigjson payload", field=field
        )
    return parse_auths(document, format=detected, field=field)


def render_dockerconfigjson(entries: Iterable[AuthEntry]) -> bytes:
    """The ``.dockerconfigjson`` bytes of a Secret holding ``entries``: canonical, sorted, stable."""
    auths: dict[str, dict[str, str]] = {}
    for entry in entries:
        user, password = entry.username, entry.password.reveal()
        item = {
            "username": user,
            "password": password,
            "auth": base64.b64encode(f"{user}:{password}".encode()).decode("ascii"),
        }
        if entry.email:
            item["email"] = entry.email
        auths[entry.key] = item
    return json.dumps({"auths": auths}, sort_keys=True, separators=(",", ":")).encode("utf-8")
