"""``shipway manifests``, and the installed console script run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from shipway.core.crds import custom_resource_definitions
from tests.cli.conftest import Run
from tests.cli.helpers import CANARY, REPO, assert_clean, auths

SCRIPT = Path(sys.executable).parent / "shipway"


def test_manifests_crds_only_prints_the_two_crds_as_yaml(cli: Run) -> None:
    result = cli("manifests", "--crds-only")
    assert result.exit_code == 0 and result.stderr == ""
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["metadata"]["name"] for d in documents] == ["platforms.shipway.dev", "pipelines.shipway.dev"]
    assert all(d["kind"] == "CustomResourceDefinition" for d in documents)
    assert documents == custom_resource_definitions()


def test_the_full_install_manifests_parse_and_hold_the_two_crds(cli: Run) -> None:
    result = cli("manifests")
    assert result.exit_code == 0 and result.stderr == ""
    documents = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
    assert all(isinstance(d, dict) and d.get("kind") and d.get("metadata") for d in documents)
    shipway_crds = [d for d in documents
                    if d["kind"] == "CustomResourceDefinition" and d["spec"]["group"] == "shipway.dev"]
    assert shipway_crds == custom_resource_definitions()


def test_no_arguments_prints_help(cli: Run) -> None:
    result = cli()
    assert "manifests" in result.stdout + result.stderr
    assert "dockerconfig" in result.stdout + result.stderr


def run_script(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run([str(SCRIPT), *args], input=input.decode() if input else None, capture_output=True,
                               text=True, cwd=REPO, timeout=60, check=False)
    assert_clean(completed.stdout, completed.stderr)
    return completed


def test_the_console_script_matches_reads_stdin_and_reports_errors_in_one_line(tmp_path: Path) -> None:
    assert SCRIPT.is_file()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(auths("quay.io", "quay.io/org")))
    matched = run_script("dockerconfig", "match", "quay.io/org/app", str(config), "-",
                         input=json.dumps(auths("https://quay.io/")).encode())
    assert (matched.returncode, matched.stdout, matched.stderr) == (0, "quay.io/org\nquay.io\nhttps://quay.io/\n", "")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"auths": {"quay.io": {"identitytoken": CANARY}}}))
    failed = run_script("dockerconfig", "match", "quay.io/app", str(bad))
    assert (failed.returncode, failed.stdout) == (2, "")
    assert failed.stderr == (f"error: {bad}.auths[0].identitytoken: identitytoken is ignored by the kubelet: "
                             "the pull would fail silently; use username and password\n")




def test_the_readme_table_of_rights_is_the_one_the_manifests_install() -> None:
    from shipway.core.manifests.rbac import rbac_table

    assert rbac_table() in (REPO / "README.md").read_text()


def test_the_install_holds_the_admission_webhook_and_the_operator_fence(cli: Run) -> None:
    documents = [d for d in yaml.safe_load_all(cli("manifests").stdout) if d]
    by_kind: dict[str, list[dict[str, object]]] = {}
    for document in documents:
        by_kind.setdefault(document["kind"], []).append(document)
    (webhook,) = by_kind["ValidatingWebhookConfiguration"]
    (hook,) = webhook["webhooks"]  # type: ignore[index]
    assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
    assert hook["rules"] == [{"apiGroups": ["shipway.dev"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                              "resources": ["pipelines", "platforms"], "scope": "Cluster"}]
    assert hook["clientConfig"]["service"]["path"] == "/admission/v1/validate"
    (policy,) = by_kind["ValidatingAdmissionPolicy"]
    assert "system:serviceaccount:shipway-system:shipway-operator" in policy["spec"]["matchConditions"][0][
        "expression"]  # type: ignore[index]
    (binding,) = by_kind["ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}  # type: ignore
    # The API writes Secrets only in the system namespace, the operator holds no cluster-wide escalation.
    api_role = next(r for r in by_kind["Role"] if r["metadata"]["name"] == "shipway-api")  # type: ignore[index]
    assert api_role["metadata"]["namespace"] == "shipway-system"  # type: ignore[index]
    cluster_api = next(r for r in by_kind["ClusterRole"] if r["metadata"]["name"] == "shipway-api")  # type: ignore
    secrets = [r for r in cluster_api["rules"] if "secrets" in r["resources"]]  # type: ignore[union-attr]
    assert secrets == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    operator = next(r for r in by_kind["ClusterRole"] if r["metadata"]["name"] == "shipway-operator")  # type: ignore
    verbs = {v for r in operator["rules"] for v in r["verbs"]}  # type: ignore[union-attr]
    assert not verbs & {"escalate", "bind", "impersonate", "*"}
