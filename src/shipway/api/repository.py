"""Reading and writing Shipway objects for the API, through the Kubernetes adapter.

Updates are optimistic: read, change, write with the resourceVersion read; a concurrent change (409) is
retried a few times from a fresh read. Every credential change is recorded as an Event on the Pipeline and
a structured log line: who, what, which layer and registry, old and new fingerprint.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from shipway.adapters.kube import resources as kinds
from shipway.adapters.kube.api import KubeApi
from shipway.adapters.kube.reviews import UserInfo
from shipway.core import names
from shipway.core.documents import stored_model
from shipway.core.errors import Conflict, NotFound
from shipway.core.inputs import PipelineInputs, phase_namespaces, pipeline_inputs, secrets_read_by
from shipway.core.isolation import NamespaceView
from shipway.core.resources import Pipeline, Platform, PlatformSpec, SecretRef
from shipway.core.timestamps import kube_time

log = logging.getLogger("shipway.audit")
RETRIES = 5


async def get_pipeline(kube: KubeApi, name: str) -> tuple[Pipeline, dict[str, Any]]:
    body = await kube.get(kinds.PIPELINE, name)
    model = stored_model(Pipeline, body, where=f"Pipeline {name}")
    return model, body


async def get_platform(kube: KubeApi) -> tuple[Platform | None, dict[str, Any] | None]:
    try:
        body = await kube.get(kinds.PLATFORM, names.PLATFORM_NAME)
    except NotFound:
        return None, None
    model = stored_model(Platform, body, where="Platform default")
    return model, body


async def update_spec(kube: KubeApi, kind: kinds.Kind, name: str,
                      change: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Apply ``change`` (current body -> new spec) with optimistic concurrency, retrying on conflicts."""
    for attempt in range(RETRIES):
        body = await kube.get(kind, name)
        spec = await change(body)
        patch = {"metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}, "spec": spec}
        try:
            return await kube.patch(kind, name, patch)
        except Conflict:
            if attempt == RETRIES - 1:
                raise
    raise Conflict(f"{kind.kind} {name} kept changing; try again")


async def read_inputs(kube: KubeApi, *, pipeline: Pipeline, platform: PlatformSpec | None) -> PipelineInputs:
    """The pipeline's inputs read live, then checked exactly as the operator checks its cached copy."""
    namespaces: dict[str, NamespaceView | None] = {}
    for namespace in phase_namespaces(pipeline):
        try:
            namespaces[namespace] = NamespaceView.of(await kube.get(kinds.NAMESPACE, namespace))
        except NotFound:
            namespaces[namespace] = None
    secrets: dict[SecretRef, dict[str, Any] | None] = {}
    for ref in secrets_read_by(pipeline, platform):
        try:
            secrets[ref] = await kube.get(kinds.SECRET, ref.name, namespace=ref.namespace)
        except NotFound:
            secrets[ref] = None
    return pipeline_inputs(pipeline, platform=platform, namespaces=namespaces, secrets=secrets)


async def record_change(kube: KubeApi, *, user: UserInfo, pipeline: dict[str, Any] | None, reason: str,
                        message: str, details: dict[str, Any]) -> None:
    """The audit trail of a credential change: a structured log line and an Event on the Pipeline."""
    # One structured line: JSON of who, what, which layer and registry, old and new fingerprints (no values).
    log.info("audit %s", json.dumps({"user": user.username, "groups": list(user.groups), "reason": reason,
                                     "message": message, **details}, sort_keys=True))
    if pipeline is None:
        return
    now = kube_time(datetime.datetime.now(datetime.UTC))
    meta = pipeline["metadata"]
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": "default"},
        "involvedObject": {"apiVersion": names.API_VERSION, "kind": "Pipeline", "name": meta["name"],
                           "uid": meta.get("uid", "")},
        "reason": reason, "message": f"{message} (by {user.username})"[:1024], "type": "Normal",
        "source": {"component": "shipway-api"}, "reportingComponent": "shipway-api",
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }
    try:
        await kube.create(kinds.EVENT, event)
    except Exception as error:  # the change itself succeeded; a lost Event must not turn it into an error
        log.warning("could not record the Event for %s: %s", meta["name"], type(error).__name__)
