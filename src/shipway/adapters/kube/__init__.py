"""The Kubernetes adapter: the only code that talks to a Kubernetes API server (through lightkube)."""
