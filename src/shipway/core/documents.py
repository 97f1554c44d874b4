"""Reading Shipway documents from bytes: YAML/JSON streams of Platforms, Pipelines and Secrets.

Pure: the caller reads the files; this turns their bytes into validated models and docker configs, or
raises :class:`InvalidInput` naming the document and field. Nothing is returned half-parsed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shipway.core.dockerconfig import (
    DOCKERCFG_KEY,
    DOCKERCONFIGJSON_KEY,
    MAX_PAYLOAD_BYTES,
    ConfigFormat,
    DockerConfig,
    config_from_document,
    decode_payload,
    parse_docker_config,
)
from shipway.core.errors import DockerConfigError, InvalidInput, PayloadTooLarge
from shipway.core.layers import SourceProblem
from shipway.core.names import Reason
from shipway.core.resources import Pipeline, Platform, SecretRef

M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_model(model: type[M], data: Any, *, where: str) -> M:
    """Validate ``data`` as ``model``; turn pydantic's errors into one InvalidInput naming the field.

    Messages are built from the location and pydantic's message only, never from the input value.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        loc = _location(tuple(first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise InvalidInput(f"{message}{more}", field=f"{where}.{loc}" if loc else where) from None


def stored_model(model: type[M], body: Mapping[str, Any], *, where: str) -> M:
    """Validate an object as the API server returns it, its ``status`` (the operator's) left out."""
    return validate_model(model, {k: body[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in body},
                          where=where)


def load_yaml_documents(data: bytes, *, where: str) -> list[Any]:
    text = decode_payload(data, field=where)
    try:
        return [json.loads(text)]  # JSON first: a docker config.json (tabs, escapes) is JSON, not always YAML
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise InvalidInput("nested too deeply", field=where) from None
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except RecursionError:
        raise InvalidInput("nested too deeply", field=where) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "malformed"
        raise InvalidInput(f"not valid YAML or JSON: {problem}{at}", field=where) from None


def _secret_value(secret: Mapping[str, Any], key: str, *, where: str) -> bytes | None:
    string_data = secret.get("stringData") or {}
    data = secret.get("data") or {}
    if not isinstance(string_data, Mapping) or not isinstance(data, Mapping):
        raise InvalidInput("data and stringData must be mappings", field=where)
    if key in string_data:
        value = string_data[key]
        if not isinstance(value, str):
            raise InvalidInput("must be a string", field=f"{where}.stringData[{key}]")
        return value.encode("utf-8")
    if key in data:
        value = data[key]
        if not isinstance(value, str):
            raise InvalidInput("must be a base64 string", field=f"{where}.data[{key}]")
        if len(value) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
            raise PayloadTooLarge(f"over the limit of {MAX_PAYLOAD_BYTES} bytes", field=f"{where}.data[{key}]")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise DockerConfigError("is not valid base64", field=f"{where}.data[{key}]") from None
    return None


def docker_config_of_secret(secret: Mapping[str, Any], *, where: str) -> DockerConfig:
    """The docker config held by a Secret manifest or object of type dockerconfigjson or dockercfg."""
    kind = secret.get("type")
    if kind == ConfigFormat.DOCKERCONFIGJSON.value:
        key, format = DOCKERCONFIGJSON_KEY, ConfigFormat.DOCKERCONFIGJSON
    elif kind == ConfigFormat.DOCKERCFG.value:
        key, format = DOCKERCFG_KEY, ConfigFormat.DOCKERCFG
    else:
        raise DockerConfigError(
            f"Secret type {kind!r} is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg",
            field=f"{where}.type",
        )
    payload = _secret_value(secret, key, where=where)
    if payload is None:
        raise DockerConfigError(f"the Secret has no {key} key", field=f"{where}.data")
    return parse_docker_config(payload, format=format, field=f"{where}.data[{key}]")


def docker_configs_of_document(data: bytes, *, where: str) -> list[DockerConfig]:
    """The docker configs of one file: a bare docker config (either format, JSON or YAML), or Secret
    manifests of either type (one, several documents, or a ``kind: List`` as ``kubectl get -o yaml`` prints).
    """
    documents = load_yaml_documents(data, where=where)
    if not documents:
        raise InvalidInput("the file is empty", field=where)
    configs: list[DockerConfig] = []
    for index, document in enumerate(documents):
        at = where if len(documents) == 1 else f"{where}#{index}"
        if not isinstance(document, Mapping):
            raise DockerConfigError("must be a JSON object", field=at)
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            items = document["items"]
            configs.extend(docker_config_of_secret(item, where=f"{at}.items[{i}]") for i, item in enumerate(items)
                           if isinstance(item, Mapping))
        elif document.get("kind") == "Secret":
            configs.append(docker_config_of_secret(document, where=at))
        else:
            configs.append(config_from_document(document, format=None, field=at))
    return configs


@dataclass
class Bundle:
    """A Platform, a Pipeline and the Secrets they reference, read from local files."""

    platform: Platform | None = None
    pipelines: list[Pipeline] = field(default_factory=list)
    secrets: dict[SecretRef, Mapping[str, Any]] = field(default_factory=dict)


def add_documents(bundle: Bundle, data: bytes, *, where: str) -> None:
    """Validate every document of one file, then add them all to ``bundle`` (all or nothing)."""
    platform, pipelines, secrets = bundle.platform, list(bundle.pipelines), dict(bundle.secrets)
    for index, document in enumerate(load_yaml_documents(data, where=where)):
        at = f"{where}#{index}"
        if not isinstance(document, Mapping):
            raise InvalidInput("a document must be a mapping with a kind", field=at)
        kind = document.get("kind")
        if kind == "Platform":
            if platform is not None:
                raise InvalidInput("a second Platform; give exactly one", field=at)
            platform = validate_model(Platform, document, where=at)
        elif kind == "Pipeline":
            pipelines.append(validate_model(Pipeline, document, where=at))
        elif kind == "Secret":
            meta = document.get("metadata") or {}
            ref = validate_model(
                SecretRef, {"namespace": meta.get("namespace", "default"), "name": meta.get("name")},
                where=f"{at}.metadata",
            )
            secrets[ref] = document
        else:
            raise InvalidInput(f"kind {kind!r} is not Platform, Pipeline or Secret", field=f"{at}.kind")
    bundle.platform, bundle.pipelines, bundle.secrets = platform, pipelines, secrets


def source_of_secret(secret: Mapping[str, Any], *, ref: SecretRef) -> DockerConfig | SourceProblem:
    """What a source Secret yields for resolution: its docker config, or why it cannot be used."""
    try:
        return docker_config_of_secret(secret, where=f"Secret {ref}")
    except InvalidInput as error:
        return SourceProblem(Reason.INVALID_DOCKER_CONFIG, str(error))
    except (RecursionError, ValueError, TypeError, AttributeError):  # never let one bad Secret stop the others
        return SourceProblem(Reason.INVALID_DOCKER_CONFIG, f"Secret {ref} holds a docker config Shipway cannot read")
