"""The kopf operator: thin handlers that hand keys to the reconcilers."""
