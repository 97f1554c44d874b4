"""Layered resolution (platform -> pipeline -> phase) and the validation of the resource models."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shipway.core.dockerconfig import DockerConfig, parse_docker_config
from shipway.core.documents import source_of_secret, validate_model
from shipway.core.errors import InvalidInput
from shipway.core.layers import (
    Layer,
    PhaseResolution,
    SourceProblem,
    referenced_secrets,
    resolve_phase,
    resolve_pipeline,
)
from shipway.core.names import Reason
from shipway.core.reports import phase_view
from shipway.core.resources import Pipeline, PipelineSpec, Platform, PlatformSpec, SecretRef
from tests.core.helpers import all_granted

PLATFORM_SECRET = SecretRef(namespace="shipway-system", name="platform")
PIPELINE_SECRET = SecretRef(namespace="shop-ci", name="team")
PIPELINE_SECRET_2 = SecretRef(namespace="shop-ci", name="team-2")
PHASE_SECRET = SecretRef(namespace="shop-production", name="prod")


def cred(ref: SecretRef, *usage: str) -> dict[str, Any]:
    return {"secretRef": {"namespace": ref.namespace, "name": ref.name}, "usage": list(usage or ["pull"])}


def docker(**passwords: str) -> DockerConfig:
    """A docker config; keyword names use '__' for '/' and '_' for '.' (``ghcr_io__team`` is ghcr.io/team)."""
    auths = {k.replace("__", "/").replace("_", "."): {"username": "u", "password": p} for k, p in passwords.items()}
    return parse_docker_config(json.dumps({"auths": auths}))


def docker_keys(mapping: dict[str, str]) -> DockerConfig:
    return parse_docker_config(json.dumps({"auths": {k: {"username": "u", "password": p} for k, p in mapping.items()}}))


def platform_spec(*credentials: dict[str, Any], push: dict[str, str] | None = None) -> PlatformSpec:
    registry: dict[str, Any] = {"credentials": list(credentials)}
    if push:
        registry["push"] = push
    return validate_model(PlatformSpec, {"registry": registry}, where="platform")


def pipeline_spec(
    *credentials: dict[str, Any], phases: list[dict[str, Any]] | None = None, inherit: bool = True,
    push: dict[str, str] | None = None,
) -> PipelineSpec:
    registry: dict[str, Any] = {"inherit": inherit, "credentials": list(credentials)}
    if push:
        registry["push"] = push
    return validate_model(
        PipelineSpec, {"phases": phases or [{"name": "stage"}], "registry": registry}, where="pipeline"
    )


def resolve(
    pipeline: PipelineSpec, sources: dict[SecretRef, Any], platform: PlatformSpec | None = None, index: int = 0
) -> PhaseResolution:
    return resolve_phase(pipeline_name="shop", pipeline=pipeline, phase=pipeline.phases[index], platform=platform,
                         sources=sources, grants=all_granted(pipeline, platform))


def pulled(resolution: PhaseResolution) -> list[tuple[str, str, str]]:
    """(registry key, layer, password) of each pull entry, in the order the kubelet tries them."""
    return [(e.registry, e.provenance.layer.value, e.entry.password.reveal()) for e in resolution.pull]


def reasons(resolution: PhaseResolution) -> list[str]:
    return [f.reason for f in resolution.findings]


PROD_PHASE = {"name": "production", "registry": {"credentials": [cred(PHASE_SECRET)]}}

# --- the merge -----------------------------------------------------------------------------------

MERGES = [
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET)), pipeline_spec(cred(PIPELINE_SECRET)),
        {PLATFORM_SECRET: docker(ghcr_io="platform-pw"), PIPELINE_SECRET: docker(ghcr_io="pipeline-pw")},
        [("ghcr.io", "pipeline", "pipeline-pw")],
        id="the pipeline layer wins a key over the platform layer",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET)), pipeline_spec(cred(PIPELINE_SECRET), phases=[PROD_PHASE]),
        {PLATFORM_SECRET: docker(ghcr_io="platform-pw"), PIPELINE_SECRET: docker(ghcr_io="pipeline-pw"),
         PHASE_SECRET: docker(ghcr_io="phase-pw")},
        [("ghcr.io", "phase", "phase-pw")],
        id="the phase layer wins a key over the pipeline and the platform",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET)), pipeline_spec(cred(PIPELINE_SECRET)),
        {PLATFORM_SECRET: docker_keys({"https://ghcr.io/v2/": "platform-pw"}),
         PIPELINE_SECRET: docker_keys({"ghcr.io": "pipeline-pw"})},
        [("ghcr.io", "pipeline", "pipeline-pw")],
        id="keys are compared after normalisation so https://ghcr.io/v2/ and ghcr.io are one key",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET)), pipeline_spec(cred(PIPELINE_SECRET), phases=[PROD_PHASE]),
        {PLATFORM_SECRET: docker(registry_example_com="p1", index_docker_io="p2"),
         PIPELINE_SECRET: docker(ghcr_io="p3"), PHASE_SECRET: docker(ghcr_io__team="p4")},
        [("registry.example.com", "platform", "p1"), ("index.docker.io", "platform", "p2"),
         ("ghcr.io/team", "phase", "p4"), ("ghcr.io", "pipeline", "p3")],
        id="different keys of all layers are all kept in the kubelet's reverse order",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET)), pipeline_spec(cred(PIPELINE_SECRET), inherit=False),
        {PLATFORM_SECRET: docker(registry_example_com="p1"), PIPELINE_SECRET: docker(ghcr_io="p3")},
        [("ghcr.io", "pipeline", "p3")],
        id="inherit false drops the platform layer",
    ),
    pytest.param(
        None, pipeline_spec(cred(PIPELINE_SECRET)), {PIPELINE_SECRET: docker(ghcr_io="p3")},
        [("ghcr.io", "pipeline", "p3")],
        id="without a platform only the pipeline and phase layers count",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET, "push")), pipeline_spec(cred(PIPELINE_SECRET, "pull")),
        {PLATFORM_SECRET: docker(registry_example_com="push-only"), PIPELINE_SECRET: docker(ghcr_io="p3")},
        [("ghcr.io", "pipeline", "p3")],
        id="a push-only credential is never in the pull set",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET, "pull")), pipeline_spec(cred(PIPELINE_SECRET, "push")),
        {PLATFORM_SECRET: docker(ghcr_io="platform-pull"), PIPELINE_SECRET: docker(ghcr_io="pipeline-push")},
        [("ghcr.io", "platform", "platform-pull")],
        id="a push-only credential does not override a pull credential of a less specific layer",
    ),
    pytest.param(
        None, pipeline_spec(cred(PIPELINE_SECRET), cred(PIPELINE_SECRET_2)),
        {PIPELINE_SECRET: docker(ghcr_io="first"), PIPELINE_SECRET_2: docker(ghcr_io="second", quay_io="q")},
        [("quay.io", "pipeline", "q"), ("ghcr.io", "pipeline", "first")],
        id="within one layer the credential listed first wins a key",
    ),
]


@pytest.mark.parametrize(("platform", "pipeline", "sources", "expected"), MERGES)
def test_layered_merge(platform: PlatformSpec | None, pipeline: PipelineSpec, sources: dict[SecretRef, Any],
                       expected: list[tuple[str, str, str]]) -> None:
    index = len(pipeline.phases) - 1
    assert pulled(resolve(pipeline, sources, platform, index)) == expected


def test_provenance_and_overrides_are_recorded() -> None:
    pipeline = pipeline_spec(cred(PIPELINE_SECRET), phases=[PROD_PHASE])
    resolution = resolve(pipeline, {
        PLATFORM_SECRET: docker(ghcr_io="a", quay_io="q"), PIPELINE_SECRET: docker(ghcr_io="b"),
        PHASE_SECRET: docker(ghcr_io="c"),
    }, platform_spec(cred(PLATFORM_SECRET)))
    by_key = {e.registry: e for e in resolution.pull}
    ghcr, quay = by_key["ghcr.io"], by_key["quay.io"]
    assert (ghcr.provenance.layer, ghcr.provenance.source) == (Layer.PHASE, PHASE_SECRET)
    assert [(p.layer, p.source) for p in ghcr.overrides] == [
        (Layer.PLATFORM, PLATFORM_SECRET), (Layer.PIPELINE, PIPELINE_SECRET)]
    assert (quay.provenance.layer, quay.provenance.source, quay.overrides) == (Layer.PLATFORM, PLATFORM_SECRET, ())
    view = phase_view(resolution)
    ghcr_view = next(v for v in view["pull"] if v["registry"] == "ghcr.io")
    assert ghcr_view["source"] == "phase"
    assert ghcr_view["secretRef"] == {"namespace": "shop-production", "name": "prod"}
    assert ghcr_view["overrides"] == [{"source": "platform", "secretRef": "shipway-system/platform"},
                                      {"source": "pipeline", "secretRef": "shop-ci/team"}]
    assert resolution.pull_sources == (PLATFORM_SECRET, PHASE_SECRET)


def test_effective_entries_carry_usage_and_fingerprint() -> None:
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET, "pull", "push"),
                                       push={"registry": "ghcr.io", "repositoryPrefix": "team"}),
                         {PIPELINE_SECRET: docker(ghcr_io="pw")})
    (entry,) = resolution.pull
    assert sorted(entry.usage) == ["pull", "push"]
    assert entry.fingerprint.startswith("sha256:")
    assert resolution.push is not None and resolution.push.fingerprint == entry.fingerprint


def test_the_pull_fingerprint_changes_when_a_password_rotates() -> None:
    pipeline = pipeline_spec(cred(PIPELINE_SECRET))
    before = resolve(pipeline, {PIPELINE_SECRET: docker(ghcr_io="old")}).pull_fingerprint
    assert before == resolve(pipeline, {PIPELINE_SECRET: docker(ghcr_io="old")}).pull_fingerprint
    assert before != resolve(pipeline, {PIPELINE_SECRET: docker(ghcr_io="new")}).pull_fingerprint


# --- push ----------------------------------------------------------------------------------------

GHCR_TEAM = {"registry": "ghcr.io", "repositoryPrefix": "team-a/shop"}
EXAMPLE = {"registry": "registry.example.com", "repositoryPrefix": "apps"}

PUSHES = [
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET, "pull", "push"), push=EXAMPLE),
        pipeline_spec(cred(PIPELINE_SECRET, "pull", "push"), push=GHCR_TEAM),
        {PLATFORM_SECRET: docker(registry_example_com="plat"), PIPELINE_SECRET: docker(ghcr_io="team")},
        "ghcr.io/team-a/shop", "team",
        id="the pipeline's push target wins and its matching push entry is chosen",
    ),
    pytest.param(
        platform_spec(cred(PLATFORM_SECRET, "pull", "push"), push=EXAMPLE),
        pipeline_spec(cred(PIPELINE_SECRET, "pull", "push")),
        {PLATFORM_SECRET: docker(registry_example_com="plat"), PIPELINE_SECRET: docker(ghcr_io="team")},
        "registry.example.com/apps", "plat",
        id="without a pipeline target the platform's target is used",
    ),
    pytest.param(
        None, pipeline_spec(cred(PIPELINE_SECRET, "push"), cred(PIPELINE_SECRET_2, "push"), push=GHCR_TEAM),
        {PIPELINE_SECRET: docker(ghcr_io="host-wide"), PIPELINE_SECRET_2: docker_keys({"ghcr.io/team-a": "team-path"})},
        "ghcr.io/team-a/shop", "team-path",
        id="the push entry is the first the kubelet's order matches so a path key beats a host key",
    ),
    pytest.param(
        None, pipeline_spec(cred(PIPELINE_SECRET, "pull"), cred(PIPELINE_SECRET_2, "push"), push=GHCR_TEAM),
        {PIPELINE_SECRET: docker_keys({"ghcr.io/team-a": "pull-only"}), PIPELINE_SECRET_2: docker(ghcr_io="pusher")},
        "ghcr.io/team-a/shop", "pusher",
        id="a pull-only credential is never chosen for push even when more specific",
    ),
    pytest.param(
        None, pipeline_spec(cred(PIPELINE_SECRET, "push"), phases=[PROD_PHASE], push=GHCR_TEAM),
        {PIPELINE_SECRET: docker(ghcr_io="pipeline-push"), PHASE_SECRET: docker(ghcr_io="phase-pull")},
        "ghcr.io/team-a/shop", "pipeline-push",
        id="a phase pull credential for the same key does not replace the push entry",
    ),
    pytest.param(
        None, pipeline_spec(cred(PIPELINE_SECRET, "push"),
                            push={"registry": "docker.io", "repositoryPrefix": "team"}),
        {PIPELINE_SECRET: docker_keys({"https://index.docker.io/v1/": "hub"})},
        "docker.io/team", "hub",
        id="a Docker Hub push target uses the index.docker.io fallback",
    ),
]


@pytest.mark.parametrize(("platform", "pipeline", "sources", "repository", "password"), PUSHES)
def test_push_resolution(platform: PlatformSpec | None, pipeline: PipelineSpec, sources: dict[SecretRef, Any],
                         repository: str, password: str) -> None:
    resolution = resolve(pipeline, sources, platform, len(pipeline.phases) - 1)
    assert resolution.push_target is not None and resolution.push_target.repository == repository
    assert resolution.push is not None
    assert resolution.push.entry.password.reveal() == password
    assert Reason.PUSH_CREDENTIAL_MISSING not in reasons(resolution)


def test_a_push_target_without_a_matching_push_credential_is_a_finding() -> None:
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET, "pull", "push"), cred(PIPELINE_SECRET_2, "pull"),
                                       push=GHCR_TEAM),
                         {PIPELINE_SECRET: docker(quay_io="q"), PIPELINE_SECRET_2: docker(ghcr_io="pull-only")})
    assert resolution.push is None
    (finding,) = resolution.findings
    assert finding.reason == Reason.PUSH_CREDENTIAL_MISSING
    assert "ghcr.io/team-a/shop" in finding.message
    assert phase_view(resolution)["push"] is None


def test_no_push_target_means_no_push_and_no_finding() -> None:
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET, "push")), {PIPELINE_SECRET: docker(ghcr_io="p")})
    assert (resolution.push, resolution.push_target, resolution.findings) == (None, None, ())


# --- findings ------------------------------------------------------------------------------------


def test_a_missing_source_secret_is_a_finding_and_the_rest_still_resolves() -> None:
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET, "pull", "push"), cred(PIPELINE_SECRET_2)),
                         {PIPELINE_SECRET_2: docker(quay_io="q")})
    assert pulled(resolution) == [("quay.io", "pipeline", "q")]
    (finding,) = resolution.findings  # reported once although both pull and push read it
    assert (finding.reason, finding.layer, finding.source) == (Reason.SOURCE_SECRET_MISSING, Layer.PIPELINE,
                                                               PIPELINE_SECRET)
    assert "shop-ci/team" in finding.message


BROKEN_SECRETS = [
    pytest.param({"type": "kubernetes.io/dockerconfigjson",
                  "stringData": {".dockerconfigjson": '{"auths": {"ghcr.io": {"auth": "bm8tY29sb24="}}}'}},
                 "auth", id="an auth without a colon"),
    pytest.param({"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "{not json"}},
                 "JSON", id="malformed JSON"),
    pytest.param({"type": "Opaque", "stringData": {"password": "x"}}, "type", id="a Secret of the wrong type"),
    pytest.param({"type": "kubernetes.io/dockercfg", "data": {}}, ".dockercfg", id="a Secret without its key"),
    pytest.param({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "%%%"}}, "base64",
                 id="data that is not base64"),
    pytest.param({"type": "kubernetes.io/dockerconfigjson",
                  "stringData": {".dockerconfigjson": '{"auths": {}, "credsStore": "osxkeychain"}'}},
                 "credsStore", id="a credential store"),
]


@pytest.mark.parametrize(("secret", "words"), BROKEN_SECRETS)
def test_a_broken_source_secret_is_an_invalid_docker_config_finding(secret: dict[str, Any], words: str) -> None:
    problem = source_of_secret(secret, ref=PIPELINE_SECRET)
    assert isinstance(problem, SourceProblem)
    assert problem.reason == Reason.INVALID_DOCKER_CONFIG
    assert words in problem.message
    assert "Secret shop-ci/team" in problem.message
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET)), {PIPELINE_SECRET: problem})
    assert resolution.pull == ()
    (finding,) = resolution.findings
    assert (finding.reason, finding.layer, finding.source, finding.message) == (
        Reason.INVALID_DOCKER_CONFIG, Layer.PIPELINE, PIPELINE_SECRET, problem.message)


def test_a_valid_source_secret_yields_its_docker_config() -> None:
    secret = {"type": "kubernetes.io/dockercfg",
              "stringData": {".dockercfg": '{"ghcr.io": {"username": "u", "password": "p"}}'}}
    config = source_of_secret(secret, ref=PIPELINE_SECRET)
    assert isinstance(config, DockerConfig)
    assert [e.key for e in config.entries] == ["ghcr.io"]


def test_two_credentials_of_one_layer_with_the_same_key_report_a_duplicate_and_the_first_wins() -> None:
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET), cred(PIPELINE_SECRET_2)), {
        PIPELINE_SECRET: docker_keys({"ghcr.io": "first"}),
        PIPELINE_SECRET_2: docker_keys({"https://ghcr.io/v2/": "second"}),
    })
    assert pulled(resolution) == [("ghcr.io", "pipeline", "first")]
    (finding,) = resolution.findings
    assert (finding.reason, finding.layer, finding.source) == (Reason.DUPLICATE_REGISTRY_KEY, Layer.PIPELINE,
                                                               PIPELINE_SECRET_2)
    assert "ghcr.io" in finding.message and "shop-ci/team" in finding.message


def test_the_same_key_in_different_layers_is_an_override_not_a_duplicate() -> None:
    resolution = resolve(pipeline_spec(cred(PIPELINE_SECRET)), {
        PLATFORM_SECRET: docker(ghcr_io="a"), PIPELINE_SECRET: docker(ghcr_io="b")},
        platform_spec(cred(PLATFORM_SECRET)))
    assert resolution.findings == ()
    assert [p.layer for p in resolution.pull[0].overrides] == [Layer.PLATFORM]


# --- phases --------------------------------------------------------------------------------------


def test_disabled_phases_are_skipped_and_namespaces_default() -> None:
    pipeline = pipeline_spec(cred(PIPELINE_SECRET), phases=[
        {"name": "review", "enabled": False}, {"name": "test"}, {"name": "stage", "namespace": "custom-stage"},
        {"name": "production", "enabled": True},
    ])
    resolutions = resolve_pipeline(pipeline_name="shop", pipeline=pipeline, platform=None,
                                   sources={PIPELINE_SECRET: docker(ghcr_io="p")}, grants=all_granted(pipeline))
    assert [(r.phase.name.value, r.namespace, r.pipeline) for r in resolutions] == [
        ("test", "shop-test", "shop"), ("stage", "custom-stage", "shop"), ("production", "shop-production", "shop"),
    ]


def test_referenced_secrets_cover_every_layer_and_phase() -> None:
    platform = platform_spec(cred(PLATFORM_SECRET))
    pipeline = pipeline_spec(cred(PIPELINE_SECRET, "push"), phases=[{"name": "stage"}, PROD_PHASE])
    assert referenced_secrets(platform=platform, pipeline=pipeline) == {
        PLATFORM_SECRET, PIPELINE_SECRET, PHASE_SECRET}
    no_inherit = pipeline_spec(cred(PIPELINE_SECRET), phases=[PROD_PHASE], inherit=False)
    assert referenced_secrets(platform=platform, pipeline=no_inherit) == {PIPELINE_SECRET, PHASE_SECRET}
    assert referenced_secrets(platform=None, pipeline=pipeline_spec()) == frozenset()


def test_reports_never_show_usernames_or_passwords() -> None:
    pipeline = pipeline_spec(cred(PIPELINE_SECRET, "pull", "push"), push=GHCR_TEAM)
    config = parse_docker_config(json.dumps({"auths": {"ghcr.io": {
        "username": "canary-user-7f3a", "password": "canary-7f3a-DO-NOT-LEAK"}}}))
    text = json.dumps(phase_view(resolve(pipeline, {PIPELINE_SECRET: config})))
    assert "canary-7f3a-DO-NOT-LEAK" not in text
    assert "canary-user-7f3a" not in text
    assert "ghcr.io" in text


# --- resource-model validation -------------------------------------------------------------------


def pipeline_doc(spec: dict[str, Any], name: str = "shop") -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "metadata": {"name": name}, "spec": spec}


def platform_doc(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "shipway.dev/v1alpha1", "kind": "Platform", "metadata": {"name": "default"}, "spec": spec}


STAGE = [{"name": "stage"}]
REF = {"namespace": "a", "name": "b"}

INVALID_MODELS = [
    pytest.param(Pipeline, pipeline_doc({"phases": [{"name": "stage"}, {"name": "stage"}]}),
                 "doc.spec: phases[1].name", "listed twice", id="a phase listed twice is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": [{"name": "staging"}]}), "doc.spec.phases[0].name",
                 "'review', 'test', 'stage' or 'production'", id="an unknown phase name is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": []}), "doc.spec.phases", "at least 1",
                 id="a pipeline without phases is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "bogus": 1}), "doc.spec.bogus", "Extra inputs",
                 id="an unknown spec field is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": [{"name": "stage", "replicas": 2}]}),
                 "doc.spec.phases[0].replicas", "Extra inputs", id="an unknown phase field is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE}, name="Shop"), "doc.metadata.name", "DNS label",
                 id="an uppercase pipeline name is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": [{"name": "stage", "namespace": "bad_ns"}]}),
                 "doc.spec.phases[0].namespace", "DNS label", id="a phase namespace that is not a DNS label"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"credentials": [
        {"secretRef": {"namespace": "a", "name": "B"}}]}}), "doc.spec.registry.credentials[0].secretRef.name",
        "DNS subdomain", id="a Secret name that is not a DNS subdomain"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"push": {
        "registry": "https://ghcr.io", "repositoryPrefix": "a"}}}), "doc.spec.registry.push.registry",
        "no scheme or path", id="a push registry with a scheme is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"push": {
        "registry": "ghcr.io/team", "repositoryPrefix": "a"}}}), "doc.spec.registry.push.registry",
        "no scheme or path", id="a push registry with a path is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"push": {
        "registry": "ghcr.io:70000", "repositoryPrefix": "a"}}}), "doc.spec.registry.push.registry",
        "out of range", id="a push registry port out of range is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"push": {
        "registry": "ghcr.io", "repositoryPrefix": "Team/App"}}}), "doc.spec.registry.push.repositoryPrefix",
        "repository path", id="an uppercase repository prefix is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"credentials": [
        {"secretRef": REF, "usage": ["pull", "pull"]}]}}), "doc.spec.registry.credentials[0]",
        "usage lists a value twice", id="a usage listed twice is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"credentials": [
        {"secretRef": REF, "usage": []}]}}), "doc.spec.registry.credentials[0].usage", "at least 1",
        id="an empty usage is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"credentials": [
        {"secretRef": REF, "usage": ["fetch"]}]}}), "doc.spec.registry.credentials[0].usage[0]",
        "'pull' or 'push'", id="an unknown usage is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": STAGE, "registry": {"credentials": [
        {"secretRef": REF}, {"secretRef": REF}]}}), "doc.spec.registry: credentials[1]", "listed twice",
        id="a Secret listed twice in one layer is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": [{"name": "production"}]}, name="a" * 60),
                 "doc: spec.phases[0]", "longer than 63", id="a derived namespace over 63 characters is refused"),
    pytest.param(Pipeline, pipeline_doc({"phases": [{"name": "stage", "namespace": "x"},
                                                    {"name": "test", "namespace": "x"}]}),
                 "doc: spec.phases[1].namespace", "used by phase stage too",
                 id="two phases in one namespace are refused"),
    pytest.param(Pipeline, {**pipeline_doc({"phases": STAGE}), "apiVersion": "shipway.dev/v1"}, "doc.apiVersion",
                 "shipway.dev/v1alpha1", id="another API version is refused"),
    pytest.param(Platform, platform_doc({"systemNamespace": "a" * 64}), "doc.spec.systemNamespace", "DNS label",
                 id="a system namespace over 63 characters is refused"),
    pytest.param(Platform, platform_doc({"registry": {"insecureRegistries": ["http://r.example.com"]}}),
                 "doc.spec.registry.insecureRegistries[0]", "registry host",
                 id="an insecure registry with a scheme is refused"),
    pytest.param(Platform, platform_doc({"registry": {"mirrors": []}}), "doc.spec.registry.mirrors",
                 "Extra inputs", id="an unknown platform field is refused"),
]


@pytest.mark.parametrize(("model", "document", "field", "words"), INVALID_MODELS)
def test_invalid_resources_are_refused_naming_the_field(model: Any, document: dict[str, Any], field: str,
                                                        words: str) -> None:
    with pytest.raises(InvalidInput) as error:
        validate_model(model, document, where="doc")
    assert str(error.value).startswith(field)
    assert words in str(error.value)


def test_valid_resources_validate_with_defaults() -> None:
    pipeline = validate_model(Pipeline, pipeline_doc({"phases": [{"name": "stage", "registry": {"credentials": [
        {"secretRef": REF}]}}]}), where="doc")
    phase = pipeline.spec.phases[0]
    assert phase.enabled is True and phase.namespace is None
    assert [c.usage for c in phase.registry.credentials] == [["pull"]]
    assert pipeline.spec.registry.inherit is True
    platform = validate_model(Platform, platform_doc({}), where="doc")
    assert platform.spec.system_namespace == "shipway-system"
    assert pipeline.to_k8s()["spec"]["phases"][0]["name"] == "stage"
