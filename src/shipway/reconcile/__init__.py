"""Reconcilers: a key in, state from the cache, desired state from the core, the difference applied."""
