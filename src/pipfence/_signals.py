"""Interrupts around the steps that must not be cut in two: `deferred_interrupts` holds
Ctrl-C and SIGTERM back while a step completes; `terminate_as_interrupt` makes SIGTERM (what
`timeout`, `docker stop` and a cancelled CI job send) end a command the way Ctrl-C does, its
changes undone."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

__all__ = [
    "Terminated",
    "deferred_interrupts",
    "restored_signals",
    "terminate_as_interrupt",
]

_HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's `KeyboardInterrupt` would be: every rollback that
    undoes an interrupted change undoes a terminated one."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise Terminated


def terminate_as_interrupt() -> None:
    """From now on SIGTERM raises `Terminated` in the main thread (unless it is ignored).
    Called from another thread it changes nothing (`signal.signal` refuses)."""
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
            signal.signal(signal.SIGTERM, _raise_terminated)


@contextlib.contextmanager
def deferred_interrupts(*, hold_after: bool = False) -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM that arrive during the block are held back: the block runs to its
    end, then the signals received are in the yielded list (the caller decides; the step
    completed, so most callers finish). With ``hold_after``, a block that ends without an
    error was a change's point of no return: the signals are let go by for the rest of the
    command too (what is left is telling what was done; a command whose change was made
    never exits as interrupted), until `restored_signals` puts the handlers back. Outside the
    main thread (where no signal handler runs) it changes nothing."""
    import threading  # here: a launcher's start-up imports this module, and no thread

    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        del frame
        received.append(signum)

    previous = {signum: signal.getsignal(signum) for signum in _HELD}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, hold)
    completed = False
    try:
        yield received
        completed = True
    finally:
        for signum, handler in previous.items():
            if handler is None or handler is signal.SIG_IGN:
                continue
            signal.signal(signum, _ignore if completed and hold_after else handler)


def _ignore(signum: int, frame: FrameType | None) -> None:
    del signum, frame


@contextlib.contextmanager
def restored_signals() -> Iterator[None]:
    """The Ctrl-C and SIGTERM handlers as they were before the block, put back after it (a
    command run in-process, by a test, leaves its process as it found it)."""
    previous = {signum: signal.getsignal(signum) for signum in _HELD}
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, OSError):
            for signum, handler in previous.items():
                if handler is not None:
                    signal.signal(signum, handler)
