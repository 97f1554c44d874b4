"""The Shipway REST API (FastAPI), one router per resource."""
