"""A no-op `sync` or `install` answered from what the last one kept in the environment
(`pipfence.project.sync_stamp`), before anything else of theirs is loaded."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.cli.commands._options import python_from_args, site_packages_from_args
from pipfence.cli.ui import UI, already_matches

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = ["choice_of", "recalled"]


def choice_of(command: str, args: argparse.Namespace) -> list[object]:
    """What, besides the files, the answer of ``command`` depends on among its options."""
    return [
        command,
        args.dev,
        args.categories,
        args.extras,
        args.all_categories,
        getattr(args, "clean", False),
        getattr(args, "deploy", False),
        site_packages_from_args(args),
    ]


def recalled(args: argparse.Namespace, ui: UI, project: Project, choice: list[object]) -> bool:
    """Print the kept answer and say True when there is one for these files, options and this
    unchanged environment. Never when the command is asked to change something besides
    packages (another Python, the system's interpreter, a cleared cache) or to show detail."""
    settings = project.settings
    if (
        args.verbose
        or settings.verbose
        or args.clear
        or python_from_args(args)
        or getattr(args, "system", False)
        or settings.use_system
        or site_packages_from_args(args) is not None
    ):
        return False
    from pipfence.project.sync_stamp import noop_answer

    answer = noop_answer(project, choice)
    if answer is None:
        return False
    for warning in answer.warnings:
        ui.warning(warning)
    ui.success(already_matches(answer.kept))
    return True
