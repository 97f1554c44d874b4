"""The hardened install as `shipway manifests` prints it: apply order, Pod Security "restricted", probes on
served ports, requests and limits, disruption budgets, network policies, TLS, and the cert-manager choice."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shipway.cli.main import build_app
from shipway.core.errors import InvalidInput
from shipway.core.install import install_manifests

from .helpers import DEPLOY, by_kind, identities, manifests, one

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
WORKLOADS = ("shipway-api", "shipway-operator")


def _position(documents: list[dict[str, Any]], kind: str) -> list[int]:
    return [i for i, d in enumerate(documents) if d["kind"] == kind]


def test_a_first_apply_meets_every_object_after_what_it_refers_to() -> None:
    documents = manifests()
    kinds = [d["kind"] for d in documents]
    assert kinds[:3] == ["CustomResourceDefinition", "CustomResourceDefinition", "Namespace"]
    assert kinds[-3:] == ["ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
                          "ValidatingAdmissionPolicyBinding"]
    first_pod = min(_position(documents, "Deployment"))
    for before in ("ServiceAccount", "ClusterRoleBinding", "RoleBinding", "Issuer", "Certificate"):
        assert max(_position(documents, before)) < first_pod, before
    order = identities(documents)
    for name in WORKLOADS:  # a pod is never up without its NetworkPolicy
        assert order.index(("NetworkPolicy", "shipway-system", name)) < order.index(
            ("Deployment", "shipway-system", name))
    # Nothing needs creating by hand first: every namespace an object lives in is created before it, or is
    # one every cluster has.
    made = {d["metadata"]["name"] for d in by_kind(documents, "Namespace")}
    for index, document in enumerate(documents):
        namespace = document["metadata"].get("namespace")
        if namespace and namespace != "default":
            assert namespace in made and min(_position(documents, "Namespace")) < index, identities([document])
    # Not in the manifests: the Platform (its CRD must be established first: `shipway platform init`), and no
    # kopf peering object (leader election is on a coordination.k8s.io Lease the operator creates itself).
    assert not by_kind(documents, "Platform") and not by_kind(documents, "Lease")
    assert not [d for d in documents if "kopf" in d["apiVersion"]]


def test_the_system_namespace_enforces_pod_security_restricted() -> None:
    labels = one(manifests(), "Namespace", "shipway-system")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_pod_meets_pod_security_restricted(name: str) -> None:
    pod = one(manifests(), "Deployment", name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is True  # both talk to the API server as their ServiceAccount
    assert "hostNetwork" not in pod and "hostPID" not in pod and "hostIPC" not in pod
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all(set(v) - {"name"} <= {"emptyDir", "secret"} for v in volumes.values())  # no hostPath
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/tmp"}
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_service_accounts_mount_no_token_unless_a_pod_asks() -> None:
    for account in by_kind(manifests(), "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", WORKLOADS)
def test_probes_ask_a_port_the_container_serves(name: str) -> None:
    documents = manifests()
    (container,) = one(documents, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    ready, alive = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
    assert (ready["path"], alive["path"]) == ("/readyz", "/healthz")
    assert ready["port"] in ports and alive["port"] in ports
    args = container["args"]
    if name == "shipway-api":
        assert ready["scheme"] == alive["scheme"] == "HTTPS"  # the REST listener serves TLS
        assert "--serve-tls" in args and args[args.index("--port") + 1] == str(ports[ready["port"]])
    else:
        assert ready["scheme"] == "HTTP"
        assert args[args.index("--metrics-port") + 1] == str(ports[ready["port"]])
        assert "--standalone" not in args  # replicas elect a leader on a Lease


@pytest.mark.parametrize("name", WORKLOADS)
def test_each_deployment_has_a_disruption_budget_and_ingress_only_to_its_ports(name: str) -> None:
    documents = manifests()
    deployment = one(documents, "Deployment", name)
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert deployment["spec"]["replicas"] >= 2
    budget = one(documents, "PodDisruptionBudget", name)
    assert budget["spec"] == {"minAvailable": 1, "selector": {"matchLabels": selector}}
    policy = one(documents, "NetworkPolicy", name)["spec"]
    assert policy["podSelector"] == {"matchLabels": selector} and policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert sorted(p["port"] for p in rule["ports"]) == sorted(p["containerPort"] for p in container["ports"])


def test_the_webhook_and_the_rest_api_are_reached_over_tls_with_the_certificate_cert_manager_issues() -> None:
    documents = manifests()
    pod = one(documents, "Deployment", "shipway-api")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    certificate = one(documents, "Certificate", "shipway-webhook")
    secret = certificate["spec"]["secretName"]
    assert {"name": "tls", "secret": {"secretName": secret, "defaultMode": 0o440}} in pod["volumes"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "tls")["mountPath"]
    args = container["args"]
    assert args[args.index("--tls-cert-file") + 1] == f"{mount}/tls.crt"
    service = one(documents, "Service", "shipway-api")
    webhook = one(documents, "ValidatingWebhookConfiguration", "shipway")
    target = webhook["webhooks"][0]["clientConfig"]["service"]
    port = next(p for p in service["spec"]["ports"] if p["port"] == target["port"])
    assert port["targetPort"] == "webhook" and any(p["name"] == "webhook" for p in container["ports"])
    assert f"{target['name']}.{target['namespace']}.svc" in certificate["spec"]["dnsNames"]
    assert webhook["metadata"]["annotations"] == {"cert-manager.io/inject-ca-from": "shipway-system/shipway-webhook"}


def test_without_cert_manager_the_ca_is_given_and_nothing_of_cert_manager_is_installed() -> None:
    documents = manifests(cert_manager=False, webhook_ca_bundle=CA)
    assert not [d for d in documents if d["apiVersion"].startswith("cert-manager.io/")]
    webhook = one(documents, "ValidatingWebhookConfiguration", "shipway")
    assert "annotations" not in webhook["metadata"]
    assert base64.b64decode(webhook["webhooks"][0]["clientConfig"]["caBundle"]) == CA
    with pytest.raises(InvalidInput, match="CA"):
        install_manifests(cert_manager=False)


def test_the_cli_offers_the_choice_and_refuses_a_ca_with_cert_manager(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(CA)
    runner, app = CliRunner(), build_app()
    done = runner.invoke(app, ["manifests", "--no-cert-manager", "--webhook-ca-bundle", str(ca)])
    assert done.exit_code == 0, done.output
    assert [d for d in yaml.safe_load_all(done.stdout) if d] == manifests(cert_manager=False, webhook_ca_bundle=CA)
    for args in (["--no-cert-manager"], ["--webhook-ca-bundle", str(ca)]):
        refused = runner.invoke(app, ["manifests", *args])
        assert refused.exit_code == 2 and refused.stderr.startswith("error: --webhook-ca-bundle: "), refused.stderr
    ca.write_text("not a certificate")
    refused = runner.invoke(app, ["manifests", "--no-cert-manager", "--webhook-ca-bundle", str(ca)])
    assert refused.exit_code == 2 and "no PEM certificate" in refused.stderr


def test_deploy_base_is_what_manifests_split_writes_today(tmp_path: Path) -> None:
    """deploy/base is generated (`shipway manifests --split deploy/base`): it must be regenerated with the code."""
    result = CliRunner().invoke(build_app(), ["manifests", "--split", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in (DEPLOY / "base").iterdir())
    for name in written:
        assert (DEPLOY / "base" / name).read_text() == (tmp_path / name).read_text(), (
            f"deploy/base/{name} is stale: run `shipway manifests --split deploy/base`")
