"""OpenAPI v3 and v2 discovery with the CRDs' structural schemas, and what kubectl does with it: validation
without ``--validate=false`` (a typo refused naming the field) and ``kubectl explain``.

Sources: https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition (the v3
index and its per-group-version documents with ``?hash=``), kubectl's ``QueryParamVerifierV3`` (it validates
server-side when the kind's PATCH operation lists ``fieldValidation``), the apiextensions-apiserver's OpenAPI
builder (a CRD version's schema published with ``x-kubernetes-group-version-kind``, ``metadata`` as a
reference to ``ObjectMeta``, no strategic merge patch for custom resources).
"""

from __future__ import annotations

import httpx

from shipway.core.crds import custom_resource_definitions

from .support import CRDS, EXAMPLES, Kubectl

GROUP_VERSION = "apis/shipway.dev/v1alpha1"
OBJECT_META = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


async def _document(http: httpx.AsyncClient, key: str) -> dict:
    index = (await http.get("/openapi/v3")).json()["paths"]
    response = await http.get(index[key]["serverRelativeURL"])
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_v3_index_lists_every_group_version_with_a_hashed_link(admin: httpx.AsyncClient,
                                                                     shipway_crds: None) -> None:
    index = (await admin.get("/openapi/v3")).json()["paths"]
    assert {"api/v1", GROUP_VERSION, "apis/rbac.authorization.k8s.io/v1"} <= set(index)
    link = index[GROUP_VERSION]["serverRelativeURL"]
    assert link.startswith(f"/openapi/v3/{GROUP_VERSION}?hash=")
    cached = await admin.get(link)
    assert cached.headers["Cache-Control"] == "public, immutable"
    assert cached.headers["Etag"] == '"' + link.rsplit("=", 1)[1] + '"'
    stale = await admin.get(f"/openapi/v3/{GROUP_VERSION}?hash=0BSOLETE", follow_redirects=False)
    assert stale.status_code == 301 and stale.headers["Location"] == link


async def test_a_crd_version_is_published_with_its_structural_schema(admin: httpx.AsyncClient,
                                                                     shipway_crds: None) -> None:
    document = await _document(admin, GROUP_VERSION)
    schema = document["components"]["schemas"]["dev.shipway.v1alpha1.Pipeline"]
    crd = next(c for c in custom_resource_definitions() if c["spec"]["names"]["kind"] == "Pipeline")
    source = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "shipway.dev", "kind": "Pipeline", "version": "v1alpha1"}]
    assert schema["properties"]["spec"] == source["properties"]["spec"]
    assert schema["properties"]["metadata"]["allOf"] == [{"$ref": OBJECT_META}]
    assert "description" in schema["properties"]["apiVersion"]
    assert "dev.shipway.v1alpha1.PipelineList" in document["components"]["schemas"]


async def test_the_patch_operation_lists_field_validation_and_no_strategic_merge_for_custom_resources(
        admin: httpx.AsyncClient, shipway_crds: None) -> None:
    document = await _document(admin, GROUP_VERSION)
    patch = document["paths"]["/apis/shipway.dev/v1alpha1/pipelines/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "shipway.dev", "kind": "Pipeline",
                                                        "version": "v1alpha1"}
    assert patch["x-kubernetes-action"] == "patch"
    parameters = {p["name"] for p in patch["parameters"] if p["in"] == "query"}
    assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= parameters
    assert list(patch["requestBody"]["content"]) == [
        "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
    status = document["paths"]["/apis/shipway.dev/v1alpha1/pipelines/{name}/status"]
    assert set(status) >= {"get", "put", "patch"}

    core = await _document(admin, "api/v1")
    configmap_patch = core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in configmap_patch["requestBody"]["content"]
    data = core["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"]["properties"]["data"]
    assert data["additionalProperties"] == {"type": "string"} and data["description"].startswith("Data contains")


async def test_a_deleted_crd_leaves_the_index(admin: httpx.AsyncClient) -> None:
    crd = custom_resource_definitions()[0]
    assert (await admin.post(CRDS, json=crd)).status_code == 201
    assert GROUP_VERSION in (await admin.get("/openapi/v3")).json()["paths"]
    assert (await admin.delete(f"{CRDS}/{crd['metadata']['name']}")).status_code == 200
    assert GROUP_VERSION not in (await admin.get("/openapi/v3")).json()["paths"]
    assert (await admin.get(f"/openapi/v3/{GROUP_VERSION}")).status_code == 404


async def test_v2_is_served_as_json_and_refuses_protobuf(admin: httpx.AsyncClient, shipway_crds: None) -> None:
    document = (await admin.get("/openapi/v2", headers={"Accept": "application/json"})).json()
    assert document["swagger"] == "2.0"
    pipeline = document["definitions"]["dev.shipway.v1alpha1.Pipeline"]
    assert pipeline["properties"]["metadata"]["$ref"] == \
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    patch = document["paths"]["/apis/shipway.dev/v1alpha1/pipelines/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["consumes"]
    assert "nullable" not in str(pipeline)  # Swagger 2.0 has no nullable (ToStructuralOpenAPIV2)
    protobuf = await admin.get("/openapi/v2",
                               headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert protobuf.status_code == 406 and protobuf.json()["reason"] == "NotAcceptable"


async def test_kubectl_applies_the_examples_with_validation_on(kube: Kubectl, shipway_crds: None) -> None:
    for example in ("sandbox/team-a.yaml", "sandbox/shop.yaml", "secrets.yaml", "platform.yaml", "pipeline.yaml"):
        applied = await kube("apply", "-f", str(EXAMPLES / example))
        assert applied.code == 0, applied.stderr
        assert "validate" not in applied.stderr, applied.stderr


async def test_kubectl_refuses_the_bad_examples_with_the_api_servers_messages(kube: Kubectl,
                                                                             shipway_crds: None) -> None:
    duplicate = await kube("apply", "-f", str(EXAMPLES / "bad" / "duplicate-phase.yaml"))
    assert duplicate.code == 1
    assert 'spec.phases[1]: Duplicate value: map[string]interface {}{"name":"stage"}' in duplicate.stderr
    unknown = await kube("apply", "-f", str(EXAMPLES / "bad" / "unknown-phase.yaml"))
    assert unknown.code == 1
    assert 'spec.phases[0].name: Unsupported value: "staging": supported values:' in unknown.stderr


async def test_kubectl_refuses_a_typo_naming_the_field(kube: Kubectl, shipway_crds: None,
                                                       admin: httpx.AsyncClient) -> None:
    typo = (EXAMPLES / "sandbox" / "shop.yaml").read_text().replace("  registry:\n", "  regsitry:\n", 1)
    refused = await kube("apply", "-f", "-", stdin=typo)
    assert refused.code == 1
    assert ('Pipeline in version "v1alpha1" cannot be handled as a Pipeline: strict decoding error: '
            'unknown field "spec.regsitry"') in refused.stderr
    assert (await admin.get("/apis/shipway.dev/v1alpha1/pipelines/shop")).status_code == 404
    warned = await kube("apply", "--validate=warn", "-f", "-", stdin=typo)
    assert warned.code == 0 and 'Warning: unknown field "spec.regsitry"' in warned.stderr


async def test_kubectl_explain_documents_the_fields_from_the_crd_schema(kube: Kubectl, shipway_crds: None) -> None:
    explained = await kube("explain", "pipeline.spec.registry")
    assert explained.code == 0, explained.stderr
    out = explained.stdout
    assert "GROUP:      shipway.dev" in out and "KIND:       Pipeline" in out
    assert "FIELD: registry <Object>" in out
    for field in ("credentials\t<[]Object>", "inherit\t<boolean>", "push\t<Object>"):
        assert field in out
    assert "Registry credentials and push target" in out  # the descriptions the CRD carries
    push = await kube("explain", "pipeline.spec.registry.push.registry")
    assert "FIELD: registry <string>" in push.stdout and "builds push to" in push.stdout
    inherit = await kube("explain", "pipeline.spec.registry.inherit")
    assert "rotated default" in " ".join(inherit.stdout.split())
    configmap = await kube("explain", "configmap.data")
    assert "Data contains the configuration data" in configmap.stdout
