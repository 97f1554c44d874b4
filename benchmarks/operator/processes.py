"""Child processes of the benchmark (emulators, operators, registries): their logs, memory, CPU, and their end.

Every child gets SIGTERM when the benchmark dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``), and
:func:`stop_all_children` stops those still running on any exit of the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime
import os
import signal
import subprocess
import time
from pathlib import Path

from benchmarks.operator.common import REPO, BenchmarkError, Deadline

_CHILDREN: list[Child] = []


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the benchmark dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def log_time(line: str) -> float | None:
    """The wall-clock time (``time.time()`` scale) of a Python logging line ``YYYY-MM-DD HH:MM:SS,mmm ...``."""
    try:
        return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


class Child:
    """A process of ours, its output in a log file. ``started_wall``/``started`` are taken just before the
    fork (``time.time()`` and ``time.monotonic()``): figures "from process start" count from there."""

    def __init__(self, name: str, argv: list[str], log_path: Path, *, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._read_offset = 0
        self._lines: list[str] = []
        self._partial = ""
        self.started_wall = time.time()
        self.started = time.monotonic()
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent, cwd=REPO,
                                        env=None if env is None else {**os.environ, **env})
        _CHILDREN.append(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def lines(self) -> list[str]:
        """Every complete line of the log so far (read incrementally)."""
        with contextlib.suppress(OSError), self.log_path.open("rb") as handle:
            handle.seek(self._read_offset)
            chunk = handle.read()
            self._read_offset += len(chunk)
            text = self._partial + chunk.decode("utf-8", errors="replace")
            *complete, self._partial = text.split("\n")
            self._lines.extend(complete)
        return self._lines

    def tail(self, characters: int = 3000) -> str:
        return "\n".join(self.lines())[-characters:]

    def find(self, needle: str, *, start: int = 0) -> str | None:
        return next((line for line in self.lines()[start:] if needle in line), None)

    def count(self, needle: str) -> int:
        return sum(1 for line in self.lines() if needle in line)

    async def wait_for(self, needle: str, *, timeout: float, deadline: Deadline) -> str:
        """Wait for a log line containing ``needle``; return that line."""
        limit = time.monotonic() + min(timeout, max(0.0, deadline.remaining()))
        while time.monotonic() < limit:
            line = self.find(needle)
            if line is not None:
                return line
            if not self.running():
                raise BenchmarkError(f"{self.name} exited ({self.process.returncode}) before {needle!r}:\n"
                                     f"{self.tail()}")
            await asyncio.sleep(0.02)
        raise BenchmarkError(f"{self.name}: {needle!r} not seen within {timeout:.0f}s:\n{self.tail()}")

    def seconds_since_start(self, line: str) -> float:
        """When a logged line was written, in seconds from this process's start (its own timestamp, to the
        millisecond; the time it was found when the line has none)."""
        stamp = log_time(line)
        if stamp is None:
            return round(time.monotonic() - self.started, 3)
        return round(stamp - self.started_wall, 3)

    def memory(self) -> dict[str, float]:
        """VmHWM (peak resident set) and VmRSS in MiB, from /proc."""
        out: dict[str, float] = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = round(int(value.split()[0]) / 1024, 1)
        return out

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far, from /proc."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)

    def stop(self, *, timeout: float = 10.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        if self in _CHILDREN:
            _CHILDREN.remove(self)
        return self.process.returncode


def stop_all_children() -> None:
    for child in reversed(list(_CHILDREN)):  # the last started (operators) before the emulator
        with contextlib.suppress(Exception):
            child.stop()
