"""Progress on long work: a rich status line on a terminal, nothing otherwise."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from pipfence.cli.ui import UI

__all__ = ["Counter", "counting_status"]


class Counter:
    """A thread-safe count that updates a status line."""

    def __init__(self, status: Any | None, label: str) -> None:
        self._status = status
        self._label = label
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, _item: str) -> None:
        with self._lock:
            self._count += 1
            count = self._count
        if self._status is not None:
            self._status.update(f"{self._label} ({count} projects looked up)")


@contextlib.contextmanager
def counting_status(ui: UI, label: str) -> Iterator[Counter]:
    """A spinner with ``label`` and a live count, shown only on an interactive terminal."""
    if ui.quiet or not ui.err.isatty():
        yield Counter(None, label)
        return
    from rich.console import Console

    console = Console(file=ui.err, no_color=not ui.color)
    with console.status(label) as status:
        yield Counter(status, label)
