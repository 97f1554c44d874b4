"""The sandbox: a Kubernetes API emulator with a fidelity layer, the operator and the API on one machine."""
