"""One real sandbox per test module (``shipway sandbox up`` in a subprocess), the two teams' setup, and the
final canary scan.

team-b, the victim, sets up through kubectl as team-b: Secret ``team-b/blog-registry`` (consent ``blog``), a
Secret ``team-b/b-private`` that consents to no one, and the Pipeline ``blog`` (stage, production)
referencing the first; then through the API a credential by value on ``blog``. team-a, the attacker, sets
up ``shop`` the same way with a Secret of its own namespace (consent ``shop``). Every Secret holds a canary
password of its own.

At teardown the sandbox must stop cleanly; then every canary is looked for (plain and base64) in every API
answer and kubectl output of the module, every Event, Pipeline and Platform and the sandbox's whole output,
and the victims' canaries in everything else the attacker can read (its own Secrets, what was delivered
into ``shop-*``): zero hits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.helpers import SYSTEM_NAMESPACE, Sandbox, find_canaries, secret_manifest, start_sandbox

from .harness import (
    BLOG_SECRET_REGISTRY,
    BLOG_VALUE_REGISTRY,
    SHOP_SECRET_REGISTRY,
    CountingListener,
    World,
    pipeline_manifest,
    reference,
    shop_manifest,
)


def _team_secret(world: World, user: str, namespace: str, name: str, *, registry: str, victim: bool,
                 consent: str | None = None, usage: str | None = None) -> None:
    password = world.sandbox.canary(name.replace("-", ""))
    world.facts.setdefault("passwords", {})[name] = password
    if victim:
        world.victim_canaries.add(password)
    manifest = secret_manifest(namespace, name, registry=registry, username=f"{name}-bot", password=password,
                               consent=consent, usage=usage)
    run = world.apply(user, manifest)
    assert run.returncode == 0, run.text


def _set_up_victim(world: World) -> None:
    _team_secret(world, "team-b", "team-b", "blog-registry", registry=BLOG_SECRET_REGISTRY, victim=True,
                 consent="blog")
    # b-private names a registry on a port that counts connections: nothing may ever call it
    world.facts["b-private registry"] = f"127.0.0.1:{world.facts['trap'].port}"
    _team_secret(world, "team-b", "team-b", "b-private", registry=world.facts["b-private registry"], victim=True)
    run = world.apply("team-b", pipeline_manifest("blog", [{"name": "stage"}, {"name": "production"}],
                                                  [reference("team-b", "blog-registry")]))
    assert run.returncode == 0, run.text
    password = world.sandbox.canary("blogvalue")
    world.victim_canaries.add(password)
    response = world.team_b.put("/api/v1/pipelines/blog/credentials", json={
        "registry": BLOG_VALUE_REGISTRY, "username": "blog-bot", "password": password})
    assert response.status_code == 200, response.text
    managed = response.json()["secretRef"]
    assert managed["namespace"] == SYSTEM_NAMESPACE and managed["name"].startswith("shipway-pipeline-blog-")
    world.facts["blog managed secret"] = managed["name"]
    world.wait_ready("blog")
    for namespace in ("blog-stage", "blog-production"):
        world.kube.shipway_namespace(namespace)
        world.kube.wait_for(f"{namespace}/shipway-pull", lambda ns=namespace: world.kube.secret(ns, "shipway-pull"))
    # the fingerprints of blog's credentials, as team-b sees them, for the "never shown to shop" checks
    view = world.team_b.get("/api/v1/pipelines/blog/effective").json()
    world.facts["blog fingerprints"] = {e["fingerprint"] for p in view["phases"] for e in p["pull"]
                                        if e["source"] != "platform"}
    assert len(world.facts["blog fingerprints"]) == 2, view


def _set_up_attacker(world: World) -> None:
    _team_secret(world, "team-a", "team-a", "shop-registry", registry=SHOP_SECRET_REGISTRY, victim=False,
                 consent="shop", usage="pull,push")
    _team_secret(world, "team-a", "team-a", "a-pull-only", registry="ghcr.io/team-a/pull-only", victim=False,
                 consent="shop")
    _team_secret(world, "team-a", "team-a", "a-pushable", registry="ghcr.io/team-a/pushable", victim=False,
                 consent="shop", usage="pull,push")
    _team_secret(world, "team-a", "team-a", "a-quay", registry="quay.io/team-a", victim=False, consent="shop")
    run = world.apply("team-a", shop_manifest())
    assert run.returncode == 0, run.text
    world.wait_ready("shop")
    for namespace in ("shop-stage", "shop-production"):
        world.kube.shipway_namespace(namespace)
        world.kube.wait_for(f"{namespace}/shipway-pull", lambda ns=namespace: world.kube.secret(ns, "shipway-pull"))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("hostile"))
    try:
        yield running
        stored = running.stored_texts()
    finally:
        running.stop()
    hits = find_canaries(running.canaries, [*running.responses, *stored, ("sandbox output", running.output.text)])
    assert hits == [], hits


@pytest.fixture(scope="module", autouse=True)
def world(sandbox: Sandbox) -> Iterator[World]:
    with (sandbox.client("admin") as admin, sandbox.client("team-a") as team_a, sandbox.client("team-b") as team_b,
          CountingListener() as trap):
        world = World(sandbox=sandbox, admin=admin, team_a=team_a, team_b=team_b)
        world.facts["trap"] = trap
        _set_up_victim(world)
        _set_up_attacker(world)
        world.settle()
        yield world
        # What the attacker can read and may rightly hold its own values: scanned for the victims' canaries.
        texts = [*world.attacker_secret_texts, *world.secrets_texts("team-a")]
        for namespace in world.shop_namespaces():
            texts += world.secrets_texts(namespace)
        hits = find_canaries(world.victim_canaries, texts)
        assert hits == [], hits
        assert trap.connections == 0, "something contacted the registry of team-b's Secret b-private"
