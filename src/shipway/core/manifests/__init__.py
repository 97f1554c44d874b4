"""The install manifests, built as plain objects: RBAC (:mod:`.rbac`), admission (:mod:`.admission`) and the
workloads (:mod:`.workloads`); :func:`shipway.core.install.install_manifests` puts them together."""
