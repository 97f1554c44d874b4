"""Reconciling the Platform's own status: its credentials' sources and their ``Verified`` outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.adapters.kube import resources as kinds
from shipway.core import names
from shipway.core.dockerconfig import DockerConfig
from shipway.core.documents import source_of_secret
from shipway.core.isolation import SecretView, platform_grant
from shipway.core.layers import Grant, Grants, Layer, SourceProblem, entries_of_layer
from shipway.core.names import Reason
from shipway.core.resources import PlatformStatus, SecretRef, VerificationStatus
from shipway.core.status import condition
from shipway.core.verification import verified_entries
from shipway.reconcile.apply import Applier
from shipway.reconcile.gather import platform_spec
from shipway.reconcile.queue import Outcome

if TYPE_CHECKING:
    from shipway.reconcile.pipelines import Reconciler

PLATFORM_KEY = "Platform/default"  # a queue key no pipeline can have (pipeline names are DNS labels)


async def reconcile_platform(reconciler: Reconciler, applier: Applier) -> Outcome:
    store = reconciler.store
    body = store.get("Platform", names.PLATFORM_NAME)
    spec = platform_spec(store)
    if body is None or spec is None:
        return Outcome()
    sources: dict[SecretRef, DockerConfig | SourceProblem] = {}
    granted: dict[SecretRef, Grant] = {}
    for credential in spec.registry.credentials:
        ref = credential.secret_ref
        secret = store.get("Secret", ref.name, ref.namespace)
        granted[ref] = platform_grant(ref=ref, secret=None if secret is None else SecretView.of(ref, secret),
                                      system_namespace=spec.system_namespace)
        if secret is not None:
            sources[ref] = source_of_secret(secret, ref=ref)
    entries, findings = entries_of_layer(Layer.PLATFORM, spec.registry.credentials, sources,
                                         grants=Grants(tenant={}, platform=granted))
    verifications = None
    verifier = reconciler.verifier
    if verifier is not None and verifier.enabled:
        verifier.insecure = frozenset(spec.registry.insecure_registries)
        verifier.trusted_realms = frozenset(spec.registry.trusted_token_realms)
        verifier.want(entries)
        reconciler.track(PLATFORM_KEY, {e.fingerprint for e in entries})
        verifications = verified_entries(entries, verifier.records)
    generation = (body.get("metadata") or {}).get("generation")
    previous = (body.get("status") or {}).get("conditions") or []
    problems = "; ".join(f.message for f in findings)
    ready = condition("Ready", not findings, findings[0].reason if findings else Reason.READY,
                      problems or "every platform credential source is readable", generation=generation,
                      previous=previous, now=reconciler.clock())
    status = PlatformStatus(
        observed_generation=generation, conditions=[ready],
        verifications=None if verifications is None else [VerificationStatus.model_validate(v) for v in verifications],
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    if body.get("status") != status:
        applier.writes += 1
        patched = await reconciler.client.patch(kinds.PLATFORM, names.PLATFORM_NAME, {"status": status}, status=True)
        store.record_write("Platform", patched)
        reconciler.announce(patched, old=body.get("status"), new=status)
    return Outcome()
