"""`pipfence verify`: is Pipfile.lock current for the Pipfile?"""

from __future__ import annotations

import argparse

from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI
from pipfence.errors import LockfileError, LockfileOutdated

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace, ui: UI) -> int:
    project = project_from_args(args)
    warn_about_pipfile(project, ui)
    lock = project.read_lock()
    if lock is None:
        raise LockfileError("does not exist", hint="run `pipfence lock` to create it")
    state = project.lock_state(lock)
    if not state.current:
        ui.detail(f"Pipfile hash {state.expected_hash}, lock made for {state.lock_hash}")
        raise LockfileOutdated(
            f"out of date: {'; '.join(state.changes)}", hint="run `pipfence lock` to update it"
        )
    ui.success("Pipfile.lock is up to date.")
    return 0
