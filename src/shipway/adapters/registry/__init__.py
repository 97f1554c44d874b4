"""A client for container registries (Docker Registry HTTP API v2 / OCI distribution).

It answers, for a credential and optionally a repository, whether the credential is valid, may pull,
and may push, each with a reason from a fixed set on failure (for logs) and a coarse outcome (for tenants).
No Docker daemon, no ``~/.docker``.
"""

from shipway.adapters.registry.credentials import Credential
from shipway.adapters.registry.results import Check, Outcome, Reason, VerificationResult
from shipway.adapters.registry.tokens import TokenCache
from shipway.adapters.registry.verifying import RegistryClient

__all__ = ["Check", "Credential", "Outcome", "Reason", "RegistryClient", "TokenCache", "VerificationResult"]
