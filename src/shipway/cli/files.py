"""Reading the files named on the command line (``-`` is stdin), with a size cap."""

from __future__ import annotations

import sys
from pathlib import Path

from shipway.core.dockerconfig import MAX_PAYLOAD_BYTES
from shipway.core.errors import InvalidInput, PayloadTooLarge


def read_input(name: str) -> bytes:
    """The bytes of file ``name`` (``-`` for stdin); refuse more than 1 MiB without reading it all."""
    if name == "-":
        data = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
    else:
        path = Path(name)
        if not path.is_file():
            raise InvalidInput("no such file" if not path.exists() else "not a regular file", field=name)
        with path.open("rb") as handle:
            data = handle.read(MAX_PAYLOAD_BYTES + 1)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"over the limit of {MAX_PAYLOAD_BYTES} bytes", field=name)
    return data
