"""Shipway: a self-hosted PaaS control plane for Kubernetes with layered registry credentials."""

__version__ = "0.1.0"
