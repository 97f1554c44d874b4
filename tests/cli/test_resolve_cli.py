"""``shipway resolve``: the effective credentials of each phase from local files, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.conftest import Run
from tests.cli.helpers import CANARY, auths, secret

EXAMPLE_FILES = ["examples/platform.yaml", "examples/pipeline.yaml", "examples/secrets.yaml"]


def pipeline(phases: list[dict[str, Any]], registry: dict[str, Any], name: str = "shop") -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name},
            "spec": {"phases": phases, "registry": registry}}


def cred(namespace: str, name: str, *usage: str) -> dict[str, Any]:
    return {"secretRef": {"namespace": namespace, "name": name}, "usage": list(usage or ["pull"])}


def test_the_examples_resolve_as_a_table(cli: Run) -> None:
    result = cli("resolve", *EXAMPLE_FILES)
    assert result.exit_code == 0 and result.stderr == ""
    out = result.stdout
    assert "shop / stage" in out and "(namespace shop-stage)" in out
    assert "shop / production" in out and "(namespace shop-production)" in out
    assert out.index("shop / stage") < out.index("shop / production")
    for text in ("registry.example.com", "index.docker.io", "ghcr.io/team-a", "shipway-system/default-registry",
                 "shop-stage/team-registry", "shop-production/prod-registry", "platform", "pipeline", "phase",
                 "push repository: ghcr.io/team-a/shop", "sha256:"):
        assert text in out, text
    assert "finding" not in out
    for password in ("demo-platform-password", "demo-team-a-token", "demo-prod-read-token", "platform-bot"):
        assert password not in out


def test_the_examples_resolve_as_json(cli: Run) -> None:
    result = cli("resolve", "--json", *EXAMPLE_FILES)
    assert result.exit_code == 0
    stage, production = json.loads(result.stdout)
    assert (stage["pipeline"], stage["phase"], stage["namespace"]) == ("shop", "stage", "shop-stage")
    assert [(e["registry"], e["source"]) for e in stage["pull"]] == [
        ("registry.example.com", "platform"), ("index.docker.io", "platform"), ("ghcr.io", "pipeline")]
    assert [(e["registry"], e["source"], e["key"]) for e in production["pull"]] == [
        ("registry.example.com", "platform", "registry.example.com"),
        ("index.docker.io", "platform", "https://index.docker.io/v1/"),
        ("ghcr.io/team-a", "phase", "https://ghcr.io/v2/team-a"),
        ("ghcr.io", "pipeline", "ghcr.io"),
    ]
    prod_read = production["pull"][2]
    assert prod_read["secretRef"] == {"namespace": "shop-production", "name": "prod-registry"}
    assert prod_read["usage"] == ["pull"] and prod_read["fingerprint"].startswith("sha256:")
    for view in (stage, production):
        assert view["pushRepository"] == "ghcr.io/team-a/shop"
        assert (view["push"]["registry"], view["push"]["source"]) == ("ghcr.io", "pipeline")
        assert view["findings"] == []
    assert stage["pullFingerprint"] != production["pullFingerprint"]
    for password in ("demo-platform-password", "demo-team-a-token", "demo-prod-read-token"):
        assert password not in result.stdout


@pytest.mark.parametrize(("phase", "namespace"), [
    pytest.param("production", "shop-production", id="only production is shown"),
    pytest.param("stage", "shop-stage", id="only stage is shown"),
])
def test_phase_selects_one_phase(cli: Run, phase: str, namespace: str) -> None:
    views = json.loads(cli("resolve", "--json", "--phase", phase, *EXAMPLE_FILES).stdout)
    assert [(v["phase"], v["namespace"]) for v in views] == [(phase, namespace)]
    table = cli("resolve", "--phase", phase, *EXAMPLE_FILES).stdout
    assert f"shop / {phase}" in table and table.count("shop / ") == 1


def test_a_phase_that_no_pipeline_enables_is_an_error(cli: Run) -> None:
    result = cli("resolve", "--phase", "review", *EXAMPLE_FILES)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --phase: no enabled phase 'review' in the pipelines given\n"


def test_a_missing_push_credential_is_shown_as_a_finding(cli: Run, write) -> None:
    docs = [
        pipeline([{"name": "stage"}], {"credentials": [cred("ci", "pull-only")],
                                       "push": {"registry": "ghcr.io", "repositoryPrefix": "team/shop"}}),
        secret("pull-only", auths("ghcr.io"), namespace="ci"),
    ]
    path = write("push.yaml", yaml.safe_dump_all(docs))
    table = cli("resolve", path)
    assert table.exit_code == 0
    assert "finding PushCredentialMissing" in table.stdout
    assert "ghcr.io/team/shop" in table.stdout
    (view,) = json.loads(cli("resolve", "--json", path).stdout)
    assert view["push"] is None
    assert [f["reason"] for f in view["findings"]] == ["PushCredentialMissing"]


def test_missing_and_broken_source_secrets_are_findings_without_the_secret(cli: Run, write) -> None:
    broken = secret("broken", {"auths": {"ghcr.io": {"auth": CANARY}}}, namespace="ci")
    docs = [pipeline([{"name": "stage"}], {"credentials": [cred("ci", "broken"), cred("ci", "absent"),
                                                           cred("ci", "good")]}),
            broken, secret("good", auths("quay.io"), namespace="ci")]
    path = write("sources.yaml", yaml.safe_dump_all(docs))
    (view,) = json.loads(cli("resolve", "--json", path).stdout)
    assert [e["registry"] for e in view["pull"]] == ["quay.io"]
    assert [(f["reason"], f["secretRef"], f["layer"]) for f in view["findings"]] == [
        ("InvalidDockerConfig", "ci/broken", "pipeline"), ("SourceNotUsable", "ci/absent", "pipeline")]
    table = cli("resolve", path).stdout
    assert "finding InvalidDockerConfig" in table and "finding SourceNotUsable" in table


def test_the_canary_never_shows_in_a_full_resolution(cli: Run, write) -> None:
    docs = [
        {"apiVersion": "shipway.dev/v1alpha1", "kind": "Platform", "metadata": {"name": "default"},
         "spec": {"registry": {"credentials": [cred("shipway-system", "platform", "pull", "push")],
                               "push": {"registry": "registry.example.com", "repositoryPrefix": "apps"}}}},
        pipeline([{"name": "test"}, {"name": "production", "registry": {"credentials": [cred("prod", "p")]}}],
                 {"credentials": [cred("ci", "team", "push")]}),
        secret("platform", auths("registry.example.com", "https://index.docker.io/v1/"), namespace="shipway-system"),
        secret("team", auths("registry.example.com/apps"), namespace="ci", legacy=True, as_data=True),
        secret("p", auths("ghcr.io"), namespace="prod", as_data=True),
    ]
    path = write("all.yaml", yaml.safe_dump_all(docs))
    for args in (("resolve", path), ("resolve", "--json", path), ("resolve", "--phase", "production", path)):
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
    views = json.loads(cli("resolve", "--json", path).stdout)
    assert [v["push"]["registry"] for v in views] == ["registry.example.com/apps"] * 2


def test_files_can_come_from_stdin(cli: Run) -> None:
    text = "\n---\n".join(Path(name).read_text() for name in EXAMPLE_FILES)
    result = cli("resolve", "--json", "-", input=text)
    assert result.exit_code == 0
    assert [v["phase"] for v in json.loads(result.stdout)] == ["stage", "production"]


# --- refusals ------------------------------------------------------------------------------------

BAD_RESOURCES = [
    pytest.param("examples/bad/duplicate-phase.yaml", "error: examples/bad/duplicate-phase.yaml#0.spec: phases[1].name",
                 id="the duplicate phase example"),
    pytest.param("examples/bad/unknown-phase.yaml", "error: examples/bad/unknown-phase.yaml#0.spec.phases[0].name: ",
                 id="the unknown phase example"),
]


@pytest.mark.parametrize(("path", "prefix"), BAD_RESOURCES)
def test_bad_resource_examples_fail_with_one_error_line(cli: Run, path: str, prefix: str) -> None:
    result = cli("resolve", path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(prefix)
    assert result.stderr.count("\n") == 1


GENERATED_BAD = [
    pytest.param([pipeline([{"name": "stage", "bogus": True}], {})], "#0.spec.phases[0].bogus",
                 id="an unknown field"),
    pytest.param([pipeline([{"name": "stage"}], {"push": {"registry": "https://ghcr.io", "repositoryPrefix": "a"}})],
                 "#0.spec.registry.push.registry", id="a push registry with a scheme"),
    pytest.param([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}], "#0.kind",
                 id="a kind that is not Platform, Pipeline or Secret"),
    pytest.param([{"apiVersion": "shipway.dev/v1alpha1", "kind": "Platform", "metadata": {"name": "default"}}] * 2,
                 "#1", id="a second Platform"),
    pytest.param([secret("s", auths("ghcr.io"))], "error: FILE: no Pipeline found", id="no Pipeline at all"),
    pytest.param([{**secret("s", auths("ghcr.io")), "metadata": {"name": "Bad_Name"}}], "#0.metadata.name",
                 id="a Secret with an invalid name"),
    pytest.param(["just a string"], "#0", id="a document that is not a mapping"),
]


@pytest.mark.parametrize(("docs", "where"), GENERATED_BAD)
def test_generated_bad_files_fail_with_one_error_line(cli: Run, write, docs: list[Any], where: str) -> None:
    path = write("bad.yaml", yaml.safe_dump_all(docs))
    result = cli("resolve", path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("error: ")
    assert (where if where.startswith("error:") else f"error: {path}{where}") in result.stderr
    assert result.stderr.count("\n") == 1


def test_malformed_yaml_is_one_error_line(cli: Run, write) -> None:
    path = write("bad.yaml", "kind: Pipeline\nspec: [unclosed\n")
    result = cli("resolve", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: not valid YAML or JSON") and result.stderr.count("\n") == 1
