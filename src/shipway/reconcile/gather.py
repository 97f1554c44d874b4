"""Gathering a pipeline's inputs from the cache: its spec, the platform, its namespaces and source Secrets.

Nothing here reads the API. The cache holds the Shipway objects, the namespaces Shipway labelled, and the
Secrets labelled ``shipway.dev/credential``; a namespace that exists but is not Shipway's is known, with its
labels, from a failed create and one read (``foreign``). The checks themselves are the core's
(:mod:`shipway.core.inputs`), the same the REST API and the admission webhook run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipway.adapters.kube.cache import Store
from shipway.core import names
from shipway.core.documents import stored_model
from shipway.core.errors import InvalidInput
from shipway.core.inputs import PipelineInputs, phase_namespaces, pipeline_inputs, secrets_read_by
from shipway.core.isolation import NamespaceView
from shipway.core.resources import Pipeline, Platform, PlatformSpec


@dataclass(frozen=True, slots=True)
class Gathered:
    inputs: PipelineInputs
    body: dict[str, Any]


def platform_spec(store: Store) -> PlatformSpec | None:
    body = store.get("Platform", names.PLATFORM_NAME)
    if body is None:
        return None
    try:
        return stored_model(Platform, body, where="Platform default").spec
    except InvalidInput:
        return None


def namespace_view(store: Store, name: str, *, foreign: Mapping[str, Mapping[str, str]]) -> NamespaceView | None:
    """A namespace as the claim rules see it: Shipway's (cached), known to exist with its labels (foreign:
    learnt once, by a failed create and a read), or not known to exist."""
    body = store.get("Namespace", name)
    if body is not None:
        return NamespaceView.of(body)
    labels = foreign.get(name)
    return NamespaceView(name=name, labels=dict(labels)) if labels is not None else None


def gather(store: Store, name: str, *, foreign: Mapping[str, Mapping[str, str]] | None = None
           ) -> Gathered | InvalidInput | None:
    """The inputs of pipeline ``name``; None when it is gone; InvalidInput when its spec is not valid."""
    body = store.get("Pipeline", name)
    if body is None:
        return None
    try:
        pipeline = stored_model(Pipeline, body, where=f"Pipeline {name}")
    except InvalidInput as error:
        return error
    platform = platform_spec(store)
    namespaces = {ns: namespace_view(store, ns, foreign=foreign or {}) for ns in phase_namespaces(pipeline)}
    secrets = {ref: store.get("Secret", ref.name, ref.namespace) for ref in secrets_read_by(pipeline, platform)}
    return Gathered(inputs=pipeline_inputs(pipeline, platform=platform, namespaces=namespaces, secrets=secrets),
                    body=body)
