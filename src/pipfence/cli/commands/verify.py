"""`pipfence verify`: is Pipfile.lock current for the Pipfile?

Worded and exiting as pipenv's: ``Pipfile.lock is up-to-date.`` on stdout (exit 0); a stale
or missing lock, and a missing Pipfile, exit 1.
"""

from __future__ import annotations

import argparse

from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI
from pipfence.errors import PipfenceError, UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace, ui: UI) -> int:
    try:
        project = project_from_args(args)
    except UsageError as exc:
        raise PipfenceError(f"No Pipfile present at project home. ({exc})") from exc
    warn_about_pipfile(project, ui)
    project.pipfile  # noqa: B018 - a Pipfile that does not parse is the answer, lock or none
    lock = project.read_lock()
    if lock is None:
        raise PipfenceError(
            "Pipfile.lock is out-of-date. There is no lock yet.",
            hint="run `pipfence lock` to create it",
        )
    state = project.lock_state(lock)
    if not state.current:
        ui.detail(f"Pipfile hash {state.expected_hash}, lock made for {state.lock_hash}")
        raise PipfenceError(
            f"Pipfile.lock is out-of-date. {'; '.join(state.changes)}",
            hint="run `pipfence lock` to update it",
        )
    ui.result("Pipfile.lock is up-to-date.")
    return 0
