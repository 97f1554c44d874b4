"""The generated CustomResourceDefinitions are structural, and the example files fit the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.core.crds import custom_resource_definitions
from shipway.core.dockerconfig import DockerConfig
from shipway.core.documents import Bundle, add_documents, load_yaml_documents, source_of_secret, validate_model
from shipway.core.errors import InvalidInput
from shipway.core.resources import Pipeline, Platform

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CRDS = custom_resource_definitions()
SCHEMA_KEYWORDS = ("properties", "items")  # where child schemas live in what Shipway generates
EXTENSIONS_WITHOUT_TYPE = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")


def crd(kind: str) -> dict[str, Any]:
    return next(c for c in CRDS if c["spec"]["names"]["kind"] == kind)


def schema(kind: str) -> dict[str, Any]:
    (version,) = crd(kind)["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path, walking properties, items and any combinator branches."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from nodes(node["items"], f"{path}[]")
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, branch in enumerate(node.get(keyword, [])):
            yield from nodes(branch, f"{path}.{keyword}[{index}]")
    if isinstance(node.get("not"), dict):
        yield from nodes(node["not"], f"{path}.not")


def all_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from all_keys(child)
    elif isinstance(value, list):
        for child in value:
            yield from all_keys(child)


KINDS = ["Platform", "Pipeline"]


def test_there_are_two_crds_one_per_kind() -> None:
    assert sorted(c["spec"]["names"]["kind"] for c in CRDS) == ["Pipeline", "Platform"]
    assert sorted(c["metadata"]["name"] for c in CRDS) == ["pipelines.shipway.dev", "platforms.shipway.dev"]


@pytest.mark.parametrize("kind", KINDS)
def test_group_version_scope_and_status_subresource(kind: str) -> None:
    definition = crd(kind)
    assert definition["apiVersion"] == "apiextensions.k8s.io/v1"
    assert definition["kind"] == "CustomResourceDefinition"
    spec = definition["spec"]
    assert spec["group"] == "shipway.dev"
    assert spec["scope"] == "Cluster"
    assert spec["names"] == {"kind": kind, "plural": kind.lower() + "s", "singular": kind.lower(),
                             "listKind": f"{kind}List"}
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_node_has_a_type(kind: str) -> None:
    untyped = [path or "<root>" for path, node in nodes(schema(kind))
               if "type" not in node and not any(node.get(x) for x in EXTENSIONS_WITHOUT_TYPE)]
    assert untyped == []


@pytest.mark.parametrize("kind", KINDS)
def test_no_preserve_unknown_fields_or_int_or_string_under_spec(kind: str) -> None:
    spec_keys = set(all_keys(schema(kind)["properties"]["spec"]))
    assert not spec_keys & set(EXTENSIONS_WITHOUT_TYPE)


@pytest.mark.parametrize("kind", KINDS)
def test_no_refs_no_defs_and_no_unique_items(kind: str) -> None:
    keys = set(all_keys(schema(kind)))
    assert "$ref" not in keys
    assert "$defs" not in keys and "definitions" not in keys
    assert not [path for path, node in nodes(schema(kind)) if node.get("uniqueItems") is True]


@pytest.mark.parametrize("kind", KINDS)
def test_additional_properties_never_comes_with_properties(kind: str) -> None:
    assert not [path for path, node in nodes(schema(kind)) if "additionalProperties" in node and "properties" in node]


@pytest.mark.parametrize("kind", KINDS)
def test_combinators_carry_no_types_of_their_own(kind: str) -> None:
    """Structural rule: inside anyOf/oneOf/allOf/not, no type, default, nullable or additionalProperties."""
    forbidden = {"type", "default", "nullable", "additionalProperties", "x-kubernetes-preserve-unknown-fields"}
    offending = []
    for path, node in nodes(schema(kind)):
        for keyword in ("anyOf", "oneOf", "allOf"):
            for index, branch in enumerate(node.get(keyword, [])):
                for sub_path, sub in nodes(branch):
                    if forbidden & set(sub):
                        offending.append(f"{path}.{keyword}[{index}]{sub_path}")
    assert offending == []


@pytest.mark.parametrize("kind", KINDS)
def test_map_lists_require_their_map_keys(kind: str) -> None:
    map_lists = [(path, node) for path, node in nodes(schema(kind)) if node.get("x-kubernetes-list-type") == "map"]
    if kind == "Pipeline":
        assert [path for path, _ in map_lists] == [".spec.phases"]
    for path, node in map_lists:
        keys = node["x-kubernetes-list-map-keys"]
        item = node["items"]
        assert item["type"] == "object", path
        for key in keys:
            assert key in item["properties"], (path, key)
            assert key in item.get("required", []) or "default" in item["properties"][key], (path, key)


@pytest.mark.parametrize("kind", KINDS)
def test_objects_have_properties_and_defaults_are_not_null(kind: str) -> None:
    for path, node in nodes(schema(kind)):
        if node.get("type") == "object" and path not in (".metadata",):
            assert "properties" in node, path
        if "default" in node:
            assert node["default"] is not None, path
        for required in node.get("required", []):
            assert required in node.get("properties", {}), (path, required)


def test_the_pipeline_spec_is_required_and_phases_are_a_closed_enum() -> None:
    top = schema("Pipeline")
    assert top["required"] == ["spec"]
    phases = top["properties"]["spec"]["properties"]["phases"]
    assert phases["items"]["properties"]["name"]["enum"] == ["review", "test", "stage", "production"]
    assert "required" not in schema("Platform")


def test_the_manifests_survive_a_yaml_round_trip() -> None:
    assert list(yaml.safe_load_all(yaml.safe_dump_all(CRDS, sort_keys=False))) == CRDS


# --- the example files ---------------------------------------------------------------------------


def load(name: str) -> list[Any]:
    return load_yaml_documents((EXAMPLES / name).read_bytes(), where=name)


def test_the_example_platform_validates() -> None:
    (document,) = load("platform.yaml")
    platform = validate_model(Platform, document, where="platform.yaml")
    assert platform.metadata.name == "default"
    assert platform.spec.registry.push is not None
    assert platform.spec.registry.push.repository == "registry.example.com/apps"


def test_the_example_pipeline_validates() -> None:
    (document,) = load("pipeline.yaml")
    pipeline = validate_model(Pipeline, document, where="pipeline.yaml")
    assert [p.name.value for p in pipeline.spec.phases] == ["stage", "production"]


def test_the_example_secrets_are_valid_docker_configs() -> None:
    bundle = Bundle()
    for name in ("platform.yaml", "pipeline.yaml", "secrets.yaml"):
        add_documents(bundle, (EXAMPLES / name).read_bytes(), where=name)
    assert len(bundle.secrets) == 3
    for ref, secret in bundle.secrets.items():
        assert isinstance(source_of_secret(secret, ref=ref), DockerConfig), ref


@pytest.mark.parametrize(("name", "field"), [
    pytest.param("duplicate-phase.yaml", "spec", id="the duplicate phase example is refused at spec"),
    pytest.param("unknown-phase.yaml", "spec.phases[0].name", id="the unknown phase example is refused at its name"),
])
def test_the_bad_example_resources_are_refused(name: str, field: str) -> None:
    (document,) = load(f"bad/{name}")
    with pytest.raises(InvalidInput) as error:
        validate_model(Pipeline, document, where=name)
    assert error.value.field == f"{name}.{field}"
