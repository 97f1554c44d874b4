"""What a fresh sandbox cluster gets before the operator starts: the CRDs, the system namespace, a demo
default credential (a random password, never printed) and the Platform ``default`` that uses it.
"""

from __future__ import annotations

import contextlib
import json
import secrets

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.client import KubeClient
from shipway.core import names
from shipway.core.crds import custom_resource_definitions
from shipway.core.dockerconfig import AuthEntry, render_dockerconfigjson
from shipway.core.errors import Conflict
from shipway.core.registry_keys import parse_key
from shipway.core.secrets import Secret

SYSTEM_NAMESPACE = "shipway-system"
DEMO_SECRET = "default-registry"
DEMO_REGISTRY = "registry.shipway.test"


def demo_credential() -> dict[str, object]:
    entry = AuthEntry(key=DEMO_REGISTRY, registry=parse_key(DEMO_REGISTRY), username="shipway-demo",
                      password=Secret(secrets.token_urlsafe(24)))
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": DEMO_SECRET, "namespace": SYSTEM_NAMESPACE, "labels": {names.CREDENTIAL_LABEL: "true"}},
        "stringData": {".dockerconfigjson": render_dockerconfigjson([entry]).decode()},
    }


def demo_platform() -> dict[str, object]:
    return {
        "apiVersion": names.API_VERSION, "kind": "Platform", "metadata": {"name": names.PLATFORM_NAME},
        "spec": {
            "systemNamespace": SYSTEM_NAMESPACE,
            "registry": {
                "credentials": [{"secretRef": {"namespace": SYSTEM_NAMESPACE, "name": DEMO_SECRET},
                                 "usage": ["pull", "push"]}],
                "push": {"registry": DEMO_REGISTRY, "repositoryPrefix": "apps"},
            },
        },
    }


async def _create(client: KubeClient, kind: kinds.Kind, obj: dict[str, object]) -> None:
    with contextlib.suppress(Conflict):  # already there: keep it as it is
        await client.create(kind, obj)


async def bootstrap(client: KubeClient) -> None:
    for crd in custom_resource_definitions():
        await _create(client, kinds.CRD, crd)
    await _create(client, kinds.NAMESPACE, {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": SYSTEM_NAMESPACE}})
    await _create(client, kinds.SECRET, demo_credential())
    await _create(client, kinds.PLATFORM, demo_platform())


def describe() -> str:
    return json.dumps({"platform": demo_platform()["spec"]}, indent=2)
