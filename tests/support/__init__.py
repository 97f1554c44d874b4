"""Helpers shared by test packages: real registries, TLS material, token services, OCI images."""
