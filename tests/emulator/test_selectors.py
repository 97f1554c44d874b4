"""Label and field selectors with the semantics of the Kubernetes labels/fields packages."""

from __future__ import annotations

import httpx
import pytest

from shipway_sandbox.emulator import selectors
from shipway_sandbox.emulator.errors import BadRequest

LABELS = {"app": "web", "tier": "front", "env": "prod"}


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", True),
    ("app==web", True),
    ("app=db", False),
    ("app!=db", True),
    ("missing!=x", True),  # != matches objects without the label, as in Kubernetes
    ("app in (web,db)", True),
    ("app in (db)", False),
    ("env notin (dev, test)", True),
    ("missing notin (x)", True),
    ("tier", True),
    ("!tier", False),
    ("!missing", True),
    ("app=web,tier in (front),!missing", True),
    ("app=web,tier=back", False),
    ("", True),
])
def test_label_selector_matches_like_kubernetes(selector: str, expected: bool) -> None:
    match = selectors.compile_selector(label_selector=selector, field_selector=None, group="", plural="configmaps")
    assert match({"metadata": {"labels": LABELS}}) is expected


def test_malformed_label_selector_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        selectors.parse_labels("app in web")


def test_unsupported_field_label_is_a_bad_request_as_in_kubernetes() -> None:
    with pytest.raises(BadRequest):
        selectors.parse_fields("spec.size=1", group="", plural="configmaps")
    assert selectors.parse_fields("type=Opaque", group="", plural="secrets") == [("type", True, "Opaque")]


async def test_list_filters_by_label_and_field_selectors(http: httpx.AsyncClient) -> None:
    url = "/api/v1/namespaces/default/secrets"
    for name, labels in (("s1", {"app": "a"}), ("s2", {"app": "b"}), ("s3", {})):
        await http.post(url, json={"metadata": {"name": name, "labels": labels}, "type": "Opaque"})

    async def names(**params: str) -> list[str]:
        response = await http.get(url, params=params)
        assert response.status_code == 200, response.text
        return [i["metadata"]["name"] for i in response.json()["items"]]

    assert await names(labelSelector="app=a") == ["s1"]
    assert await names(labelSelector="app") == ["s1", "s2"]
    assert await names(labelSelector="app notin (a)") == ["s2", "s3"]
    assert await names(fieldSelector="metadata.name=s2") == ["s2"]
    assert await names(fieldSelector="metadata.name!=s2,metadata.namespace=default") == ["s1", "s3"]
    assert await names(fieldSelector="type=Opaque", labelSelector="!app") == ["s3"]
    assert (await http.get(url, params={"fieldSelector": "spec.x=1"})).status_code == 400


async def test_cluster_wide_list_spans_namespaces_and_field_selector_picks_one(http: httpx.AsyncClient) -> None:
    for ns in ("default", "kube-system"):
        await http.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "same"}})
    all_items = (await http.get("/api/v1/configmaps")).json()["items"]
    assert sorted(i["metadata"]["namespace"] for i in all_items) == ["default", "kube-system"]
    one = (await http.get("/api/v1/configmaps", params={"fieldSelector": "metadata.namespace=kube-system"})).json()
    assert [i["metadata"]["namespace"] for i in one["items"]] == ["kube-system"]
