"""The only code that talks to the outside world: Kubernetes and container registries."""
