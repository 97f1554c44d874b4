"""What the operator's integration tests share: the example credentials (with a canary planted in every
password), builders of Pipelines and source Secrets, independent expectations of what Shipway must write
(fingerprints recomputed here from their documented definition, not imported from the product), and
waiting for the operator to settle and counting its write requests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.cluster import Api, Cluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GROUP_VERSION = "shipway.dev/v1alpha1"
RBAC = "rbac.authorization.k8s.io/v1"
SYSTEM_NAMESPACE = "shipway-system"
PLATFORM_SECRET = "default-registry"
DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"

# Planted in every password of every source Secret of these tests; it must never leave a Secret.
CANARY = "CANARY-7c1d5e93b2a44f08"


def canary_password(tag: str) -> str:
    return f"{CANARY}-{tag}"


# ---------------------------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Cred:
    """One auths entry as a source Secret holds it: the key as written, username and password."""

    key: str
    username: str
    password: str
    as_auth: bool = False  # written as ``auth`` (base64 of user:pass) instead of username/password

    @property
    def registry(self) -> str:
        """The normalised key (``host[:port][path]``), as the kubelet indexes it (documented rules)."""
        text = self.key
        for scheme in ("https://", "http://"):
            text = text.removeprefix(scheme)
        host, slash, path = text.partition("/")
        path = slash + path
        for prefix in ("/v1/", "/v2/"):
            if path.startswith(prefix):
                path = path[len(prefix) - 1:]
        if path == "/":
            path = ""
        return host + path

    @property
    def fingerprint(self) -> str:
        material = json.dumps([self.registry, self.username, self.password, ""], separators=(",", ":"))
        return "sha256:" + hashlib.sha256(b"shipway.dev/entry/v1\x00" + material.encode()).hexdigest()[:16]

    def rendered(self) -> dict[str, str]:
        """The entry as Shipway writes it into a dockerconfigjson."""
        auth = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"username": self.username, "password": self.password, "auth": auth}

    def source_entry(self) -> dict[str, str]:
        if self.as_auth:
            return {"auth": base64.b64encode(f"{self.username}:{self.password}".encode()).decode()}
        return {"username": self.username, "password": self.password}

    def rotated(self, password: str) -> Cred:
        return Cred(self.key, self.username, password, self.as_auth)


def set_fingerprint(creds: Iterable[Cred]) -> str:
    material = json.dumps(sorted([c.registry, c.fingerprint] for c in creds), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(b"shipway.dev/set/v1\x00" + material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Source:
    """A source Secret: where it lives and the entries it holds."""

    namespace: str
    name: str
    creds: tuple[Cred, ...]

    @property
    def ref(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def manifest(self, *, annotations: dict[str, str] | None = None, label: bool = True) -> dict[str, Any]:
        payload = {"auths": {c.key: c.source_entry() for c in self.creds}}
        return {
            "apiVersion": "v1", "kind": "Secret", "type": DOCKERCONFIGJSON,
            "metadata": {"name": self.name, "namespace": self.namespace,
                         "labels": {"shipway.dev/credential": "true"} if label else {},
                         "annotations": annotations or {}},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(payload).encode()).decode()},
        }

    def with_creds(self, *creds: Cred) -> Source:
        return Source(self.namespace, self.name, tuple(creds))


def _example_documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]


def example_platform() -> dict[str, Any]:
    """The Platform ``default`` of examples/platform.yaml, as it is."""
    (platform,) = _example_documents("platform.yaml")
    return dict(platform)


def _example_platform_auths() -> dict[str, Any]:
    secret = next(d for d in _example_documents("secrets.yaml") if d["metadata"]["name"] == PLATFORM_SECRET)
    return dict(json.loads(secret["stringData"][".dockerconfigjson"])["auths"])


def _platform_source() -> Source:
    """The example's platform credential (same keys and usernames), its passwords replaced by canaries."""
    auths = _example_platform_auths()
    creds = []
    for key, entry in auths.items():
        if "auth" in entry:
            user = base64.b64decode(entry["auth"]).decode().partition(":")[0]
            creds.append(Cred(key, user, canary_password("hub"), as_auth=True))
        else:
            creds.append(Cred(key, entry["username"], canary_password("platform")))
    return Source(SYSTEM_NAMESPACE, PLATFORM_SECRET, tuple(creds))


PLATFORM = _platform_source()
PLATFORM_REGISTRY = next(c for c in PLATFORM.creds if c.key == "registry.example.com")  # also the push entry
PLATFORM_HUB = next(c for c in PLATFORM.creds if c.key == "https://index.docker.io/v1/")


def team_source(namespace: str, name: str = "team-registry", *, key: str = "ghcr.io/team-a",
                username: str = "team-a-bot", tag: str = "team") -> Source:
    return Source(namespace, name, (Cred(key, username, canary_password(tag)),))


# ---------------------------------------------------------------------------------------------- pipelines


def credential(source: Source, *usage: str) -> dict[str, Any]:
    return {"secretRef": source.ref, "usage": list(usage or ("pull",))}


def pipeline(name: str, *, phases: Sequence[dict[str, Any] | str] = ("stage", "production"), inherit: bool = True,
             credentials: Sequence[dict[str, Any]] = (), push: dict[str, str] | None = None,
             reclaim: str | None = None) -> dict[str, Any]:
    registry: dict[str, Any] = {"inherit": inherit, "credentials": list(credentials)}
    if push is not None:
        registry["push"] = push
    spec: dict[str, Any] = {"phases": [p if isinstance(p, dict) else {"name": p} for p in phases],
                            "registry": registry}
    if reclaim is not None:
        spec["reclaimPolicy"] = reclaim
    return {"apiVersion": GROUP_VERSION, "kind": "Pipeline", "metadata": {"name": name}, "spec": spec}


def phase(name: str, *credentials: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    if credentials:
        out["registry"] = {"credentials": list(credentials)}
    return out


# ---------------------------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Effective:
    """One effective entry of a phase: the entry, the layer it came from, its source and its usage."""

    cred: Cred
    layer: str
    source: Source
    usage: tuple[str, ...] = ("pull",)

    def status(self) -> dict[str, Any]:
        return {"registry": self.cred.registry, "source": self.layer, "secretRef": self.source.ref,
                "fingerprint": self.cred.fingerprint, "usage": sorted(self.usage)}


def platform_entries() -> list[Effective]:
    return [Effective(c, "platform", PLATFORM, ("pull", "push")) for c in PLATFORM.creds]


PLATFORM_PUSH = Effective(PLATFORM_REGISTRY, "platform", PLATFORM, ("pull", "push"))


@dataclass
class PhaseExpectation:
    """What one phase namespace must hold and what status must say of it."""

    pipeline: str
    phase: str
    pull: list[Effective]
    push: Effective | None = None
    namespace: str = ""
    referenced: str | None = None  # zero copies: the default ServiceAccount lists this source Secret
    foreign_pull_secrets: list[str] = field(default_factory=list)  # listed before Shipway's by someone else
    foreign_namespace: bool = False
    other_secrets: set[str] = field(default_factory=set)  # Secrets of others in the namespace (sources)

    def __post_init__(self) -> None:
        self.namespace = self.namespace or f"{self.pipeline}-{self.phase}"

    @property
    def sorted_pull(self) -> list[Effective]:
        return sorted(self.pull, key=lambda e: e.cred.registry, reverse=True)

    @property
    def pull_name(self) -> str | None:
        if self.referenced:
            return self.referenced
        return "shipway-pull" if self.pull else None

    def status(self, *, ready: tuple[str, str] = ("True", "Ready")) -> dict[str, Any]:
        """The phase's status entry; its readiness is the pipeline's (``ready``) in every case these tests make."""
        out: dict[str, Any] = {"name": self.phase, "namespace": self.namespace, "ready": ready[0] == "True",
                               "reason": ready[1]}
        if self.pull_name:
            out["pullSecret"] = self.pull_name
        if self.push:
            out["pushSecret"] = "shipway-push"
        if self.pull:
            out["fingerprint"] = set_fingerprint(e.cred for e in self.pull)
        out["credentials"] = [e.status() for e in self.sorted_pull] + ([self.push.status()] if self.push else [])
        return out


def decode_auths(secret: dict[str, Any]) -> dict[str, Any]:
    assert set(secret["data"]) == {".dockerconfigjson"}
    return dict(json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"])


def usernames(secret: dict[str, Any]) -> dict[str, str]:
    return {key: entry["username"] for key, entry in decode_auths(secret).items()}


def _owner(pipeline_body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"apiVersion": GROUP_VERSION, "kind": "Pipeline", "name": pipeline_body["metadata"]["name"],
             "uid": pipeline_body["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]


def _labels(exp: PhaseExpectation) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "shipway", "shipway.dev/pipeline": exp.pipeline,
            "shipway.dev/phase": exp.phase}


def _names(items: list[dict[str, Any]]) -> set[str]:
    return {i["metadata"]["name"] for i in items}


def assert_delivered_secret(secret: dict[str, Any], exp: PhaseExpectation, owner: list[dict[str, Any]],
                            entries: list[Effective]) -> None:
    meta = secret["metadata"]
    assert secret["type"] == DOCKERCONFIGJSON
    assert meta["labels"] == {**_labels(exp), "shipway.dev/credential": "delivered"}
    assert meta["ownerReferences"] == owner
    ordered_sources = list(dict.fromkeys(
        str(e.source) for e in sorted(entries, key=lambda e: e.cred.registry, reverse=True)))
    assert meta["annotations"] == {"shipway.dev/fingerprint": set_fingerprint(e.cred for e in entries),
                                   "shipway.dev/sources": json.dumps(ordered_sources, separators=(",", ":"))}
    assert decode_auths(secret) == {e.cred.key: e.cred.rendered() for e in entries}


def assert_phase(api: Api, pipeline_body: dict[str, Any], exp: PhaseExpectation) -> None:
    """The namespace of one phase holds exactly what Shipway must keep there, nothing more."""
    ns = exp.namespace
    owner = _owner(pipeline_body)
    namespace = api.get("v1", "namespaces", ns)
    assert namespace is not None, f"namespace {ns} is missing"
    if exp.foreign_namespace:
        assert "ownerReferences" not in namespace["metadata"]
        assert "shipway.dev/pipeline" not in (namespace["metadata"].get("labels") or {})
    else:
        labels = dict(namespace["metadata"]["labels"])
        # kube-apiserver (and the emulator) put this one on every namespace; all the others are Shipway's
        assert labels.pop("kubernetes.io/metadata.name", ns) == ns
        assert labels == _labels(exp)
        # No ownerReference: what becomes of the namespace is the reclaim policy's to say, not the GC's.
        assert "ownerReferences" not in namespace["metadata"]
        assert namespace["metadata"]["annotations"]["shipway.dev/reclaim-policy"] in ("Retain", "Delete")

    secrets = {s["metadata"]["name"]: s for s in api.list("v1", "secrets", namespace=ns)}
    wanted_secrets = set(exp.other_secrets)
    if exp.pull and not exp.referenced:
        wanted_secrets.add("shipway-pull")
    if exp.push:
        wanted_secrets.add("shipway-push")
    assert set(secrets) == wanted_secrets
    if "shipway-pull" in wanted_secrets:
        assert_delivered_secret(secrets["shipway-pull"], exp, owner, exp.pull)
    if exp.push:
        assert_delivered_secret(secrets["shipway-push"], exp, owner, [exp.push])

    accounts = {a["metadata"]["name"]: a for a in api.list("v1", "serviceaccounts", namespace=ns)}
    roles = api.list(RBAC, "roles", namespace=ns)
    bindings = api.list(RBAC, "rolebindings", namespace=ns)
    assert set(accounts) == ({"default", "shipway-builder"} if exp.push else {"default"})
    assert _names(roles) == ({"shipway-builder"} if exp.push else set())
    assert _names(bindings) == ({"shipway-builder"} if exp.push else set())
    default = accounts["default"]
    expected_list = [*exp.foreign_pull_secrets, *([exp.pull_name] if exp.pull_name else [])]
    assert [r["name"] for r in default.get("imagePullSecrets") or []] == expected_list
    assert "ownerReferences" not in default["metadata"]  # shared with others: never owned by a Pipeline
    if exp.push:
        builder = accounts["shipway-builder"]
        assert builder["metadata"]["labels"] == _labels(exp)
        assert builder["metadata"]["ownerReferences"] == owner
        assert builder.get("imagePullSecrets") == ([{"name": exp.pull_name}] if exp.pull_name else [])
        (role,) = roles
        assert role["metadata"]["labels"] == _labels(exp)
        assert role["metadata"]["ownerReferences"] == owner
        assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                  "resourceNames": ["shipway-push"]}]
        (binding,) = bindings
        assert binding["metadata"]["labels"] == _labels(exp)
        assert binding["metadata"]["ownerReferences"] == owner
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": "shipway-builder"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "shipway-builder", "namespace": ns}]


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == type_)


def assert_status(body: dict[str, Any], phases: Sequence[PhaseExpectation], *,
                  ready: tuple[str, str] = ("True", "Ready"),
                  degraded: tuple[str, str] = ("False", "AsExpected")) -> None:
    status = body["status"]
    assert status["observedGeneration"] == body["metadata"]["generation"]
    assert status["reclaimPolicy"] in ("Retain", "Delete")
    assert status["phases"] == [p.status(ready=ready) for p in phases]
    assert [c["type"] for c in status["conditions"]] == ["Ready", "Degraded"]
    got_ready, got_degraded = condition(body, "Ready"), condition(body, "Degraded")
    assert (got_ready["status"], got_ready["reason"]) == ready, got_ready
    assert (got_degraded["status"], got_degraded["reason"]) == degraded, got_degraded
    for c in status["conditions"]:
        assert c["observedGeneration"] == body["metadata"]["generation"]


# ---------------------------------------------------------------------------------------------- the operator


@dataclass
class Shipway:
    """A test's view of the cluster: the API, the operator, and the ledger of what the operator wrote."""

    cluster: Cluster

    @property
    def api(self) -> Api:
        return self.cluster.api

    def pipeline(self, name: str) -> dict[str, Any] | None:
        return self.api.get(GROUP_VERSION, "pipelines", name)

    def apply_source(self, source: Source, *, annotations: dict[str, str] | None = None) -> None:
        self.ensure_namespace(source.namespace)
        body = source.manifest(annotations=annotations)
        existing = self.api.get("v1", "secrets", source.name, namespace=source.namespace)
        if existing is None:
            self.api.create(body, "secrets")
        else:
            self.api.patch("v1", "secrets", source.name, {"metadata": {"annotations": body["metadata"]["annotations"]},
                                                          "data": body["data"]}, namespace=source.namespace)

    def ensure_namespace(self, name: str) -> None:
        if self.api.get("v1", "namespaces", name) is None:
            self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "namespaces")

    def create_pipeline(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.api.create(body, "pipelines")

    def adopt(self, namespace: str, pipeline: str) -> None:
        """What a platform admin does to let ``pipeline`` use an existing namespace Shipway did not create."""
        platform = self.api.get(GROUP_VERSION, "platforms", "default")
        assert platform is not None
        adopted = [*platform["spec"].get("adoptedNamespaces", []), {"namespace": namespace, "pipeline": pipeline}]
        self.api.patch(GROUP_VERSION, "platforms", "default", {"spec": {"adoptedNamespaces": adopted}})

    def patch_pipeline(self, name: str, patch: Any) -> dict[str, Any]:
        return self.api.patch(GROUP_VERSION, "pipelines", name, patch)

    def put_pipeline(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.client.put(self.api.path(GROUP_VERSION, "pipelines", name=body["metadata"]["name"]),
                                       json=body)
        response.raise_for_status()
        return dict(response.json())

    def settled(self, name: str, *, check: Callable[[dict[str, Any]], Any] | None = None,
                timeout: float = 20.0) -> dict[str, Any]:
        """Wait until the operator has reported on ``name`` at its current generation (and ``check`` holds of
        the Pipeline), then until it stopped making requests; the Pipeline as it is then. Fails if the
        operator was refused any request so far (it runs under the shipped RBAC: a refusal is a missing right)."""

        def reported() -> dict[str, Any] | None:
            body = self.pipeline(name)
            assert body is not None
            status = body.get("status") or {}
            assert status.get("observedGeneration") == body["metadata"]["generation"], status
            if check is not None:
                assert check(body)
            return body

        try:
            self.api.eventually(reported, timeout=timeout)
        except Exception:
            self.api.assert_operator_never_denied()  # a refused request explains a report that never came
            raise
        self._controllers_caught_up(self.pipeline(name) or {}, timeout=timeout)
        self.quiet()
        self.api.assert_operator_never_denied()
        body = self.pipeline(name)
        assert body is not None
        return body

    def _controllers_caught_up(self, body: dict[str, Any], *, timeout: float) -> None:
        """As on a real cluster, a namespace's ``default`` ServiceAccount comes a while after the namespace (the
        ServiceAccount controller's lag): wait for it in each phase namespace the status names, so that what
        the operator does once it appears is part of the settled state."""
        namespaces = [p["namespace"] for p in (body.get("status") or {}).get("phases") or [] if p.get("namespace")]

        def present() -> bool:
            for namespace in namespaces:
                if self.api.get("v1", "namespaces", namespace) is None:
                    continue  # not created (refused claim) or already gone
                assert self.api.get("v1", "serviceaccounts", "default", namespace=namespace) is not None
            return True

        self.api.eventually(present, timeout=timeout)

    def quiet(self, *, period: float = 0.6, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until the operator made no request for ``period`` seconds; its write requests since the reset."""
        deadline = time.monotonic() + timeout
        count = len(self.api.operator_requests())
        while time.monotonic() < deadline:
            time.sleep(period)
            now = len(self.api.operator_requests())
            if now == count:
                return self.api.operator_writes()
            count = now
        raise TimeoutError("the operator never went quiet")

    def writes(self, *, settle: float = 0.6) -> Counter[str]:
        """The operator's writes of state since the last reset, after ``settle`` s more showed no new one.
        Events are reports about that state, counted apart (:meth:`events`)."""
        self.quiet(period=settle)
        return write_counts(self.api.operator_writes())

    def events(self, pipeline: str) -> list[dict[str, Any]]:
        """The Events (events.k8s.io/v1) about one Pipeline, oldest first."""
        found = [e for e in self.api.list("events.k8s.io/v1", "events", namespace="default")
                 if (e.get("regarding") or {}).get("name") == pipeline and (e.get("regarding") or {}).get(
                     "kind") == "Pipeline"]
        return sorted(found, key=lambda e: e.get("eventTime") or "")

    def reset(self) -> None:
        self.quiet(period=0.3)
        self.api.reset_ledger()


def write_key(record: dict[str, Any]) -> str:
    key = f"{record['verb']} {record['plural']}" + (f"/{record['subresource']}" if record["subresource"] else "")
    return key if record["status"] < 400 else f"{key} ({record['status']})"


def write_counts(records: Iterable[dict[str, Any]]) -> Counter[str]:
    """Write requests of state by ``verb plural[/subresource]`` (`` (status)`` appended to failed ones);
    Events, reports about that state, are left out (see ``Shipway.events``).

    One pair is folded, should it occur: a ``default`` ServiceAccount create answered 409 and followed by a
    patch counts as the one create it stands for. (The operator now waits for the ServiceAccount controller's
    ``default`` and patches it, so the tests expect no such pair; an unmatched 409 still shows.)
    """
    records = [r for r in records if r["plural"] != "events"]
    counts: Counter[str] = Counter()
    pending: dict[str, int] = {}  # namespace -> conflicted creates of a ServiceAccount not yet followed by a patch
    for record in records:
        ns = record["namespace"] or ""
        if record["verb"] == "create" and record["plural"] == "serviceaccounts" and record["status"] == 409:
            pending[ns] = pending.get(ns, 0) + 1
            continue
        if (record["verb"] == "patch" and record["plural"] == "serviceaccounts" and pending.get(ns)
                and record["path"].endswith("/serviceaccounts/default") and record["status"] < 400):
            pending[ns] -= 1
            counts["create serviceaccounts"] += 1
            continue
        counts[write_key(record)] += 1
    unmatched = sum(pending.values())
    if unmatched:
        counts["create serviceaccounts (409)"] += unmatched
    return counts


def touching(records: Iterable[dict[str, Any]], pipeline: str) -> list[dict[str, Any]]:
    """The requests about one pipeline: its own object, or anything in a namespace named after it."""
    def about(record: dict[str, Any]) -> bool:
        segments = [record["namespace"] or "", *record["path"].split("/")]
        return any(s == pipeline or s.startswith(f"{pipeline}-") for s in segments)

    return [r for r in records if about(r)]


def everything_labelled(api: Api, pipeline_name: str) -> dict[str, list[str]]:
    """Every object, in any namespace, labelled as belonging to the pipeline."""
    selector = f"shipway.dev/pipeline={pipeline_name}"
    out = {}
    for api_version, plural in (("v1", "namespaces"), ("v1", "secrets"), ("v1", "serviceaccounts"),
                                (RBAC, "roles"), (RBAC, "rolebindings")):
        out[plural] = sorted(f"{(o['metadata'].get('namespace') or '')}/{o['metadata']['name']}"
                             for o in api.list(api_version, plural, labels=selector))
    return out


def forbidden_strings(creds: Iterable[Cred] = ()) -> list[str]:
    """The canary, and every password and ``auth`` value of ``creds`` in clear and in base64."""
    out = [CANARY]
    for cred in creds:
        out += [cred.password, base64.b64encode(cred.password.encode()).decode(), cred.rendered()["auth"]]
    return out


def assert_no_canary(cluster: Cluster, *, outputs: Sequence[str] = (), creds: Iterable[Cred] = ()) -> None:
    """No password of any source Secret shows in any Pipeline's status, in any Event, or in operator output."""
    api = cluster.api
    statuses = json.dumps([body.get("status") for body in api.list(GROUP_VERSION, "pipelines")])
    events = json.dumps(api.list("v1", "events"))
    texts = [*outputs, *([cluster.operator.output.text] if cluster.operator is not None else [])]
    for needle in forbidden_strings([*PLATFORM.creds, *creds]):
        assert needle not in statuses, "a secret value is in a Pipeline status"
        assert needle not in events, "a secret value is in an Event"
        for text in texts:
            assert needle not in text, "a secret value is in the operator's output"


def consent(pipelines: str, usage: str = "pull,push") -> dict[str, str]:
    """The annotations by which a Secret outside a pipeline's namespaces lets ``pipelines`` use it for ``usage``
    (without ``allowed-usage`` a consenting Secret grants pull only: see tests/core/test_isolation.py)."""
    return {"shipway.dev/allowed-pipelines": pipelines, "shipway.dev/allowed-usage": usage}


def assert_delivery_writes(writes: Counter[str], objects: dict[str, int], *, phases: int) -> None:
    """The writes of a first delivery: exactly ``objects``, and a status written once when everything was in
    place at the first pass, else once more for each phase whose ``default`` ServiceAccount (made by the
    ServiceAccount controller a moment after its namespace) listed the pull secret later: Ready is False
    until then, and never a status write that changes nothing."""
    writes = Counter(writes)
    status = writes.pop("patch pipelines/status", 0)
    assert writes == objects
    assert 1 <= status <= phases + 1, status
