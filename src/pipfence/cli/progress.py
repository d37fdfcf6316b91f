"""Progress on long work: a rich progress bar on a terminal, nothing otherwise."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from pipfence.cli.ui import UI

__all__ = ["Counter", "counting_status"]


class Counter:
    """A thread-safe count of items done, shown as a bar once the total is known (`expect`)
    and as a pulsing bar with a count before; silent without a terminal."""

    def __init__(self, progress: Any | None, task: Any | None, label: str) -> None:
        self._progress = progress
        self._task = task
        self._label = label
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, _item: str) -> None:
        with self._lock:
            self._count += 1
            count = self._count
        if self._progress is not None:
            self._progress.update(self._task, completed=count)

    def expect(self, total: int, label: str) -> None:
        """Start a new stage of ``total`` items (``Downloading``, …)."""
        with self._lock:
            self._count = 0
            self._label = label
        if self._progress is not None:
            self._progress.update(self._task, description=label, total=total, completed=0)


@contextlib.contextmanager
def counting_status(ui: UI, label: str) -> Iterator[Counter]:
    """A progress display for ``label``, shown only on an interactive terminal."""
    if ui.quiet or not ui.err.isatty():
        yield Counter(None, None, label)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(file=ui.err, no_color=not ui.color)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield Counter(progress, task, label)
