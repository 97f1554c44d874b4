"""The operator's cache (adapters.kube.cache.Store): what it keeps of an object, versions, indexes, copies."""

from __future__ import annotations

import base64
import json
from typing import Any

from shipway.adapters.kube.cache import Store, slim
from shipway.core import names
from shipway.core.desired import DATA_DIGEST, data_digest

CANARY = "canary-password-5c1f0e"


def secret(name: str, namespace: str, *, rv: str, pipeline: str | None = None, delivered: bool = False,
           data: dict[str, str] | None = None) -> dict[str, Any]:
    labels: dict[str, str] = {}
    if pipeline:
        labels[names.PIPELINE_LABEL] = pipeline
    if delivered:
        labels[names.CREDENTIAL_LABEL] = names.DELIVERED
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, "labels": labels,
                         "uid": f"uid-{namespace}-{name}", "creationTimestamp": "2026-12-01T00:00:00Z",
                         "managedFields": [{"manager": "shipway", "fieldsV1": {"f:data": {}}}],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                             {"data": data or {}}), "team": "a"}},
            "data": data or {".dockerconfigjson": base64.b64encode(CANARY.encode()).decode()}}


def test_slim_drops_server_bookkeeping_and_the_delivered_data_keeping_a_digest() -> None:
    body = secret("shipway-pull", "a-review", rv="5", pipeline="a", delivered=True)
    kept = slim("Secret", body)
    assert "managedFields" not in kept["metadata"] and "creationTimestamp" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"team": "a"}  # kubectl's copy (it may hold data) is gone
    assert "data" not in kept and kept[DATA_DIGEST] == data_digest(body["data"])
    source = slim("Secret", secret("src", "a-sources", rv="6"))
    assert source["data"] == secret("src", "a-sources", rv="6")["data"]  # a source's content is read: kept


def test_a_read_returns_a_copy_that_cannot_change_the_cache() -> None:
    store = Store()
    store.upsert("Secret", secret("s", "ns", rv="3", pipeline="p"))
    first = store.get("Secret", "s", "ns")
    assert first is not None
    first["metadata"]["labels"]["intruder"] = "x"
    first["type"] = "Opaque"
    again = store.get("Secret", "s", "ns")
    assert again is not None and "intruder" not in again["metadata"]["labels"]
    assert again["type"] == "kubernetes.io/dockerconfigjson"
    listed = next(store.list("Secret", namespace="ns"))
    assert listed == again and listed is not again


def test_versions_older_or_equal_are_ignored_and_a_deletion_is_remembered() -> None:
    store = Store()
    assert store.upsert("Secret", secret("s", "ns", rv="10", pipeline="p"))
    assert not store.upsert("Secret", secret("s", "ns", rv="10", pipeline="p"))
    assert not store.upsert("Secret", secret("s", "ns", rv="9", pipeline="q"))
    assert store.get("Secret", "s", "ns")["metadata"]["labels"][names.PIPELINE_LABEL] == "p"  # type: ignore[index]
    store.delete("Secret", secret("s", "ns", rv="12"))
    assert not store.upsert("Secret", secret("s", "ns", rv="11", pipeline="p"))  # a late event of the old one
    assert store.get("Secret", "s", "ns") is None
    assert store.upsert("Secret", secret("s", "ns", rv="13", pipeline="p"))


def test_own_writes_are_recognised_when_their_watch_echo_arrives() -> None:
    store = Store()
    store.record_write("Secret", secret("s", "ns", rv="20", pipeline="p"))
    assert store.is_own_echo("Secret", secret("s", "ns", rv="20"))
    assert not store.is_own_echo("Secret", secret("s", "ns", rv="21"))
    store.forget("Secret", "s", "ns")
    assert store.get("Secret", "s", "ns") is None and not store.is_own_echo("Secret", secret("s", "ns", rv="20"))


def test_indexes_answer_by_namespace_by_pipeline_and_by_kind() -> None:
    store = Store()
    for i, (ns, pipeline) in enumerate([("a-review", "a"), ("a-prod", "a"), ("b-review", "b"), ("b-review", None)]):
        store.upsert("Secret", secret(f"s{i}", ns, rv=str(i + 1), pipeline=pipeline))
    store.upsert("Namespace", {"metadata": {"name": "a-review", "resourceVersion": "9",
                                            "labels": {names.PIPELINE_LABEL: "a"}}})
    assert sorted(s["metadata"]["name"] for s in store.list("Secret", namespace="b-review")) == ["s2", "s3"]
    assert sorted(s["metadata"]["name"] for s in store.list("Secret", labels={names.PIPELINE_LABEL: "a"})) == [
        "s0", "s1"]
    assert [s["metadata"]["name"] for s in store.list("Secret", namespace="b-review",
                                                       labels={names.PIPELINE_LABEL: "b"})] == ["s2"]
    assert len(list(store.list("Secret"))) == 4 and store.sizes() == {"Secret": 4, "Namespace": 1}
    assert store.names("Namespace") == ["a-review"] and store.pipeline_labels("Secret") == {"a", "b"}
    # A relabel moves the object between the pipelines' indexes.
    store.upsert("Secret", secret("s0", "a-review", rv="30", pipeline="b"))
    assert sorted(s["metadata"]["name"] for s in store.list("Secret", labels={names.PIPELINE_LABEL: "b"})) == [
        "s0", "s2"]


def test_mark_deleting_keeps_the_version_and_says_terminating() -> None:
    store = Store()
    store.upsert("Namespace", {"metadata": {"name": "a-review", "resourceVersion": "7",
                                            "labels": {names.PIPELINE_LABEL: "a"}}})
    store.mark_deleting("Namespace", "a-review")
    held = store.get("Namespace", "a-review")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    assert not store.upsert("Namespace", {"metadata": {"name": "a-review", "resourceVersion": "7"}})
    assert [n["metadata"]["name"] for n in store.list("Namespace", labels={names.PIPELINE_LABEL: "a"})] == [
        "a-review"]


def test_a_delivered_secret_costs_its_metadata_not_its_data() -> None:
    """The bytes the cache holds for a delivered Secret do not grow with its data, and hold no secret value."""
    store = Store()
    big = {".dockerconfigjson": base64.b64encode((CANARY * 4000).encode()).decode()}
    store.upsert("Secret", secret("shipway-pull", "a-review", rv="1", pipeline="a", delivered=True, data=big))
    assert 0 < store.bytes_held() < 1024
    held = store.get("Secret", "shipway-pull", "a-review")
    assert CANARY not in json.dumps(held) and base64.b64encode(CANARY.encode()).decode()[:12] not in json.dumps(held)


def test_where_answers_from_the_entries_what_list_answers_by_decoding() -> None:
    """Keys by labels: the pipeline and managed-by labels are known without decoding; other labels, and a
    managed-by value other than Shipway's, are read from the object. Both ways agree with list()."""
    store = Store()
    mine = {names.PIPELINE_LABEL: "a", names.MANAGED_BY_LABEL: names.MANAGED_BY}
    bodies = [
        ("s0", "a-review", {**mine, "team": "x"}),
        ("s1", "a-review", {names.PIPELINE_LABEL: "a"}),  # not managed by Shipway
        ("s2", "a-prod", {**mine, names.MANAGED_BY_LABEL: "helm"}),
        ("s3", "b-review", {names.PIPELINE_LABEL: "b", names.MANAGED_BY_LABEL: names.MANAGED_BY}),
    ]
    for rv, (name, ns, labels) in enumerate(bodies, start=1):
        body = secret(name, ns, rv=str(rv))
        body["metadata"]["labels"] = labels
        store.upsert("Secret", body)
    queries = [mine, {names.PIPELINE_LABEL: "a"}, {names.MANAGED_BY_LABEL: "helm"}, {"team": "x"},
               {**mine, "team": "x"}, {names.MANAGED_BY_LABEL: names.MANAGED_BY}]
    for labels in queries:
        for namespace in (None, "a-review"):
            listed = sorted((b["metadata"]["namespace"], b["metadata"]["name"])
                            for b in store.list("Secret", namespace=namespace, labels=labels))
            assert sorted(store.where("Secret", labels=labels, namespace=namespace)) == listed, (labels, namespace)
    assert store.where("Secret", labels=mine) == [("a-review", "s0")]


def test_what_a_reconcile_does_not_read_is_not_kept_and_the_type_comes_back_on_read() -> None:
    store = Store()
    store.upsert("Namespace", {"apiVersion": "v1", "kind": "Namespace", "spec": {"finalizers": ["kubernetes"]},
                               "status": {"phase": "Active"},
                               "metadata": {"name": "a-review", "resourceVersion": "3", "generation": 1}})
    store.upsert("Pipeline", {"apiVersion": "shipway.dev/v1alpha1", "kind": "Pipeline", "spec": {"phases": []},
                              "metadata": {"name": "a", "resourceVersion": "4", "generation": 7}})
    namespace = store.get("Namespace", "a-review")
    assert namespace == {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": "a-review", "resourceVersion": "3"}}
    pipeline = store.get("Pipeline", "a")
    assert pipeline is not None and pipeline["metadata"]["generation"] == 7  # its status reports it
    assert pipeline["apiVersion"] == "shipway.dev/v1alpha1" and pipeline["kind"] == "Pipeline"
    # An object of another version than the kind's own keeps what it said.
    store.upsert("Pipeline", {"apiVersion": "shipway.dev/v1beta1", "kind": "Pipeline",
                              "metadata": {"name": "b", "resourceVersion": "5"}})
    assert store.get("Pipeline", "b")["apiVersion"] == "shipway.dev/v1beta1"  # type: ignore[index]
