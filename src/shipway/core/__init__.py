"""Pure code, no I/O: credential parsing, kubelet matching, layered resolution, models, desired objects."""
