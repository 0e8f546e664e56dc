"""A progress bar for Dask computations on stderr (rich), silent when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from dask.callbacks import Callback
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

__all__ = ["dask_progress", "stage_printer"]


class _RichCallback(Callback):
    def __init__(self, progress: Progress, label: str) -> None:
        super().__init__()
        self.progress = progress
        self.task = progress.add_task(label, total=None)

    def _start_state(self, dsk: Any, state: Any) -> None:
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self.progress.update(self.task, total=total, completed=len(state["finished"]))

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.progress.update(self.task, completed=len(state["finished"]))


@contextlib.contextmanager
def dask_progress(label: str, *, enabled: bool | None = None) -> Iterator[None]:
    """Show Dask task progress for the block (local schedulers) on stderr."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield
        return
    console = Console(stderr=True)
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress,
        _RichCallback(progress, label),
    ):
        yield


def stage_printer(stream: TextIO) -> Callable[[str], None]:
    """A progress callback printing each stage message with rich on ``stream`` when it is a terminal, and
    nothing otherwise (scheduled jobs' logs stay clean; their summary goes to stdout with --json)."""
    console = Console(file=stream, highlight=False) if stream.isatty() else None

    def emit(message: str) -> None:
        if console is not None:
            console.print(f"[dim]skywatch[/dim] {message}")

    return emit
