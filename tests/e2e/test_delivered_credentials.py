"""End-to-end: the Secrets the operator delivers work with a real registry and a real client.

The operator runs in its own process against the emulator; the registries are Debian's ``docker-registry``;
the client is ``skopeo`` (and ``shipway registry verify``), fed the ``.dockerconfigjson`` read back from
the delivered Secret through the API. Every registry password is a canary that must never reach the
Pipeline, the Platform, the operator's output or the CLI's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.core import names
from tests.support import images
from tests.support.cluster import Cluster
from tests.support.registries import RegistryServer

from .helpers import (
    CREDENTIALS_NAMESPACE,
    SYSTEM_NAMESPACE,
    Tools,
    User,
    assert_no_canary,
    assert_ready,
    credential,
    dockerconfigjson,
    everything_shipway_reports,
    fingerprint,
    source_secret,
    users_in,
    wait_for_secret,
    write_authfile,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("layer", ["platform", "pipeline"])
def test_a_delivered_pull_secret_pulls_with_skopeo_and_after_rotation_only_the_new_one_does(
    layer: str, cluster: Cluster, htpasswd_registry: RegistryServer, tools: Tools, tmp_path: Path
) -> None:
    api, registry = cluster.api, htpasswd_registry
    pipeline = f"e2e-rotate-{layer}"
    runtime = f"{pipeline}-production"
    publisher, old, new = User.fresh("publisher"), User.fresh("old"), User.fresh("new")
    canaries = (*publisher.canaries, *old.canaries, *new.canaries)
    reference = f"{registry.host}/e2e/private-app:{layer}"

    registry.add_user(publisher.name, publisher.password)
    registry.add_user(old.name, old.password)
    registry.push_image("e2e/private-app", layer, username=publisher.name, password=publisher.password)

    # The source credential: in the system namespace for the platform layer, elsewhere (with consent)
    # for the pipeline layer.
    source_namespace = SYSTEM_NAMESPACE if layer == "platform" else CREDENTIALS_NAMESPACE
    source = f"e2e-pull-{layer}"
    api.create(source_secret(source_namespace, source, registry.host, old,
                             allowed_pipelines=pipeline if layer == "pipeline" else None), "secrets")
    pipeline_registry: dict[str, object] = {"inherit": True}
    if layer == "platform":
        api.patch(names.API_VERSION, "platforms", names.PLATFORM_NAME, {"spec": {"registry": {
            "credentials": [credential(source_namespace, source, "pull")]}}})
    else:
        pipeline_registry = {"inherit": False, "credentials": [credential(source_namespace, source, "pull")]}
    api.create({"apiVersion": names.API_VERSION, "kind": "Pipeline", "metadata": {"name": pipeline},
                "spec": {"phases": [{"name": "test"}, {"name": "production"}], "registry": pipeline_registry}},
               "pipelines")

    delivered = wait_for_secret(api, runtime, names.PULL_SECRET)
    assert users_in(delivered) == {registry.host: old.name}
    old_file = write_authfile(delivered, tmp_path / "old-shipway-pull.json")

    inspected = tools.inspect(reference, old_file)
    assert inspected.returncode == 0, inspected.stderr
    assert '"schemaVersion":2' in inspected.stdout.replace(" ", "")

    code, report, cli_before = tools.verify(registry.host, old_file, repository="e2e/private-app", reference=layer)
    assert code == 0, cli_before
    assert report["username"] == old.name
    assert report["valid"]["ok"] and report["can_pull"]["ok"]

    # Rotate: the new user comes, the old one goes, the source Secret changes to the new credential.
    registry.add_user(new.name, new.password)
    registry.remove_user(old.name)
    api.patch("v1", "secrets", source, {"data": {".dockerconfigjson": dockerconfigjson(registry.host, new)}},
              namespace=source_namespace)
    redelivered = wait_for_secret(api, runtime, names.PULL_SECRET, other_than=fingerprint(delivered))
    assert users_in(redelivered) == {registry.host: new.name}
    new_file = write_authfile(redelivered, tmp_path / "new-shipway-pull.json")

    assert tools.inspect(reference, new_file).returncode == 0
    refused = tools.inspect(reference, old_file)
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower(), refused.stderr

    code, report, cli_old = tools.verify(registry.host, old_file, repository="e2e/private-app", reference=layer)
    assert code == 1, cli_old
    assert report["valid"] == {"ok": False, "reason": "unauthorized", "detail": report["valid"]["detail"]}
    assert report["can_pull"] is None
    code, report, cli_new = tools.verify(registry.host, new_file, repository="e2e/private-app", reference=layer)
    assert code == 0 and report["can_pull"]["ok"], cli_new

    # Every phase namespace got the rotated credential, not only the runtime one.
    assert users_in(wait_for_secret(api, f"{pipeline}-test", names.PULL_SECRET)) == {registry.host: new.name}
    assert_ready(api, pipeline)
    assert_no_canary(canaries, **everything_shipway_reports(cluster, pipeline), cli=cli_before + cli_old + cli_new)


def test_the_push_secret_pushes_with_skopeo_and_the_runtime_pull_secret_can_pull_that_image_but_not_push(
    cluster: Cluster, token_registry: RegistryServer, tools: Tools, tmp_path: Path
) -> None:
    api, registry = cluster.api, token_registry
    pipeline = "e2e-build"
    build, runtime = f"{pipeline}-test", f"{pipeline}-production"
    repository = "e2e/team/app"
    pusher, puller = User.fresh("pusher"), User.fresh("puller")
    canaries = (*pusher.canaries, *puller.canaries)
    registry.add_user(pusher.name, pusher.password, {repository: "pull,push"})
    registry.add_user(puller.name, puller.password, {repository: "pull"})

    # The pipeline layer holds the push-capable credential and the push target; the runtime phase
    # overrides the pull entry of the same registry with the pull-only credential.
    for name, user, usage in (("e2e-push", pusher, "pull,push"), ("e2e-pull-only", puller, None)):
        api.create(source_secret(CREDENTIALS_NAMESPACE, name, registry.host, user, allowed_pipelines=pipeline,
                                 allowed_usage=usage), "secrets")
    api.create({"apiVersion": names.API_VERSION, "kind": "Pipeline", "metadata": {"name": pipeline}, "spec": {
        "registry": {"inherit": False, "credentials": [credential(CREDENTIALS_NAMESPACE, "e2e-push", "pull", "push")],
                     "push": {"registry": registry.host, "repositoryPrefix": "e2e/team"}},
        "phases": [{"name": "test"}, {"name": "production", "registry": {
            "credentials": [credential(CREDENTIALS_NAMESPACE, "e2e-pull-only", "pull")]}}],
    }}, "pipelines")

    push_secret = wait_for_secret(api, build, names.PUSH_SECRET)
    runtime_pull = wait_for_secret(api, runtime, names.PULL_SECRET)
    assert users_in(push_secret) == {registry.host: pusher.name}
    assert users_in(runtime_pull) == {registry.host: puller.name}
    push_file = write_authfile(push_secret, tmp_path / "shipway-push.json")
    pull_file = write_authfile(runtime_pull, tmp_path / "shipway-pull.json")

    layout = tmp_path / "oci"
    digest = images.write_oci_layout(layout, tag="v1", content=b"built by the e2e pipeline\n")
    pushed = tools.copy(layout, "v1", f"{registry.host}/{repository}:v1", push_file)
    assert pushed.returncode == 0, pushed.stderr

    # The runtime pull secret sees what was pushed ...
    assert tools.digest(f"{registry.host}/{repository}:v1", pull_file) == digest
    # ... and may not push: the registry refuses the upload, and no tag appears.
    images.write_oci_layout(layout, tag="v2", content=b"not allowed\n")
    refused = tools.copy(layout, "v2", f"{registry.host}/{repository}:v2", pull_file)
    assert refused.returncode != 0
    assert "requested access to the resource is denied" in refused.stderr, refused.stderr
    missing = tools.inspect(f"{registry.host}/{repository}:v2", push_file)
    assert missing.returncode != 0 and "manifest unknown" in missing.stderr.lower(), missing.stderr

    code, report, cli_pull = tools.verify(registry.host, pull_file, repository=repository, reference="v1")
    assert code == 1, cli_pull
    assert report["username"] == puller.name and report["valid"]["ok"] and report["can_pull"]["ok"]
    assert report["can_push"]["ok"] is False and report["can_push"]["reason"] == "denied"
    code, report, cli_push = tools.verify(registry.host, push_file, repository=repository, reference="v1")
    assert code == 0, cli_push
    assert report["username"] == pusher.name and report["can_push"]["ok"]

    assert_ready(api, pipeline)
    assert_no_canary(canaries, **everything_shipway_reports(cluster, pipeline), cli=cli_pull + cli_push)
