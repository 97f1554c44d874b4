"""Logging for the long-running commands: one line per record on stderr, secrets masked."""

from __future__ import annotations

import logging

from shipway.core.secrets import install_redaction


def configure_logging(*, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for noisy in ("kopf", "httpx", "httpx2", "aiohttp.access", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    install_redaction()
