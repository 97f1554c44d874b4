"""The sandbox's tiny OCI image and skopeo helpers, re-exported for the tests (one home: shipway.sandbox.images)."""

from shipway.sandbox.images import OCI_MANIFEST, skopeo_copy, skopeo_inspect, write_oci_layout

__all__ = ["OCI_MANIFEST", "skopeo_copy", "skopeo_inspect", "write_oci_layout"]
