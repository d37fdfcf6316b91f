"""`pipfence remove`: delete the project's environment (pipenv's ``remove``; ``--rm`` before)."""

from __future__ import annotations

import argparse

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.environment import remove_environment

    removed = remove_environment(project_from_args(args))
    ui.result(f"Removed the environment at {removed}")
    return 0
