"""The sandbox's tiny OCI image and skopeo helpers, re-exported for the tests (one home: shipway_sandbox.images)."""

from shipway_sandbox.images import OCI_MANIFEST, skopeo_copy, skopeo_inspect, write_oci_layout

__all__ = ["OCI_MANIFEST", "skopeo_copy", "skopeo_inspect", "write_oci_layout"]
