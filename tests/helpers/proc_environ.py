"""The environment a process was started with, read from /proc (Linux): what glibc and OpenBLAS read at its start,
not its os.environ today."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

__all__ = ["child_start_environ", "start_environ"]


def start_environ(pid: int | str = "self") -> dict[str, str]:
    """The environment process ``pid`` started with; empty for a process that has already exited."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.decode().split("=", 1) for entry in raw.split(b"\0") if b"=" in entry)


def child_start_environ(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> dict[str, str]:
    """:func:`start_environ` of a child that Popen has just returned, read again until the kernel has set it.

    Popen returns once the exec has closed its close-on-exec pipe, which the kernel does before it sets up the new
    program's environment, so for a moment /proc/<pid>/environ reads empty (26 of 300 reads right after Popen on a
    2-core machine; a clean-clone .ci/run failed on it once). Empty only if the child ended first or the timeout
    passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        environ = start_environ(proc.pid)
        if environ or proc.poll() is not None or time.monotonic() > deadline:
            return environ
        time.sleep(0.01)
