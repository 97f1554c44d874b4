"""One sandbox per state directory: a lock file held (``flock``) while a sandbox runs there.

A second ``shipway sandbox up`` on the same directory is refused at once with a clear message, before it
touches anything, and the first one is left alone. The lock goes with the process, however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from shipway.core.errors import Conflict


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "sandbox.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise Conflict(f"a sandbox is already running in {state_dir} (pid {holder}); stop it, or give "
                           "another --state-dir", field="--state-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
