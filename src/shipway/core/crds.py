"""CustomResourceDefinitions generated from the resource models, with structural OpenAPI v3 schemas.

Pydantic's JSON schema is turned into what the API server accepts as structural: ``$ref`` inlined,
``anyOf [X, null]`` made ``nullable``, titles and ``additionalProperties: false`` dropped (the server
prunes unknown fields instead), ``const`` turned into a one-value ``enum``. No
``x-kubernetes-preserve-unknown-fields`` anywhere in spec.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shipway.core import names
from shipway.core.resources import Pipeline, PipelineSpec, PipelineStatus, Platform, PlatformSpec, PlatformStatus
from shipway.core.validation import DNS_LABEL_PATTERN

_DROP = frozenset({"title", "additionalProperties", "discriminator"})


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs)
    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        others = [branch for branch in any_of if branch != {"type": "null"}]
        if len(others) == 1 and len(others) < len(any_of):
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            result = _structural({**others[0], **rest}, defs)
            result["nullable"] = True
            return result
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key == "$defs" or (key == "default" and value is None):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {name: _structural(schema, defs) for name, schema in value.items()}
        else:
            out[key] = _structural(value, defs)
    if "properties" in out and "type" not in out:
        out["type"] = "object"
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return dict(_structural(raw, raw.get("$defs", {})))


def _crd(
    *, kind: str, plural: str, spec: type[BaseModel], status: type[BaseModel], required_spec: bool,
    printer_columns: list[dict[str, Any]],
) -> dict[str, Any]:
    top: dict[str, Any] = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            # The one thing a CRD may say of metadata: its name (a DNS label: it names namespaces too).
            "metadata": {"type": "object", "properties": {"name": {
                "type": "string", "maxLength": 63, "pattern": DNS_LABEL_PATTERN}}},
            "spec": schema_of(spec),
            "status": schema_of(status),
        },
    }
    if required_spec:
        top["required"] = ["spec"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{names.GROUP}"},
        "spec": {
            "group": names.GROUP,
            "scope": "Cluster",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [{
                "name": names.VERSION, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": top},
                "subresources": {"status": {}},
                "additionalPrinterColumns": printer_columns,
            }],
        },
    }


def custom_resource_definitions() -> list[dict[str, Any]]:
    ready = {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'}
    age = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    assert Platform.model_fields and Pipeline.model_fields  # the models the schemas come from
    return [
        _crd(kind="Platform", plural="platforms", spec=PlatformSpec, status=PlatformStatus, required_spec=False,
             printer_columns=[ready, age]),
        _crd(kind="Pipeline", plural="pipelines", spec=PipelineSpec, status=PipelineStatus, required_spec=True,
             printer_columns=[
                 {"name": "Phases", "type": "string", "jsonPath": ".spec.phases[*].name"}, ready, age]),
    ]
