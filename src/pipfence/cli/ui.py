"""Output: messages to stderr, results to stdout, colour only on a terminal without NO_COLOR."""

from __future__ import annotations

import sys
from typing import TextIO

from pipfence.errors import PipfenceError, printable

__all__ = ["UI", "already_matches", "count"]

_RED = "\033[31;1m"
_YELLOW = "\033[33;1m"
_GREEN = "\033[32m"
_DIM = "\033[2m"
_RESET = "\033[0m"


class UI:
    """How pipfence talks to a person: verbosity, colour, and the shape of errors."""

    def __init__(
        self,
        *,
        verbose: bool = False,
        quiet: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.verbose = verbose
        self.quiet = quiet
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.color = self.err.isatty() and _color_wanted()

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def result(self, text: str) -> None:
        """A command's answer (stdout): printed even with ``--quiet``."""
        print(text, file=self.out)

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.err)

    def success(self, text: str) -> None:
        if not self.quiet:
            print(self._paint(_GREEN, text), file=self.err)

    def detail(self, text: str) -> None:
        if self.verbose:
            print(self._paint(_DIM, text), file=self.err)

    def warning(self, text: str) -> None:
        print(f"{self._paint(_YELLOW, 'warning:')} {printable(text)}", file=self.err)

    def error(self, error: PipfenceError) -> None:
        """One line for the error, a ``hint:`` line when there is advice, the cause chain
        and traceback only with ``--verbose``."""
        print(f"{self._paint(_RED, 'error:')} {error}", file=self.err)
        if error.hint:
            print(f"{self._paint(_YELLOW, 'hint:')} {error.hint}", file=self.err)
        if self.verbose:
            import traceback  # here: only --verbose prints one, and it costs every start

            traceback.print_exception(error, file=self.err)

    def bug(self, error: BaseException) -> None:
        """An exception no layer planned for: say it is a bug, show the trace on ``-v``."""
        kind = type(error).__name__
        print(
            f"{self._paint(_RED, 'error:')} pipfence hit an unexpected {kind}; this is a bug",
            file=self.err,
        )
        if self.verbose:
            import traceback

            traceback.print_exception(error, file=self.err)
        else:
            print(
                "hint: run again with --verbose to see the traceback, and report it", file=self.err
            )


def already_matches(kept: int) -> str:
    """What a sync that changed nothing says."""
    return f"The environment already matches the lock ({count(kept, 'package')})"


def count(number: int, noun: str) -> str:
    """``1 package``, ``2 packages``: a number with its noun in the right number."""
    return f"{number} {noun if number == 1 else noun + 's'}"


def _color_wanted() -> bool:
    # Imported here: only a terminal asks, and `pipfence run`'s start-up pays for nothing else.
    from pipfence.project.settings import color_wanted

    return color_wanted()
