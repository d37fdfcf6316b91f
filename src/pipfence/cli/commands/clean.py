"""`pipfence clean`: uninstall packages the lock does not list."""

from __future__ import annotations

import argparse

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI, count

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only list what would go")
    parser.add_argument("--bare", action="store_true", help="print only errors (as --quiet)")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.clean import clean, extraneous
    from pipfence.project.serial import project_lock

    project = project_from_args(args)
    if args.dry_run:
        for name in extraneous(project):
            ui.result(name)
        return 0
    with project_lock(project):
        removed = clean(project)
    if not removed:
        ui.success("Nothing to clean: the environment holds only what the lock lists")
        return 0
    ui.success(f"Removed {count(len(removed), 'package')} from the environment")
    # What went, one line a package, on stdout: pipenv's clean names them there.
    for dist in removed:
        ui.result(f"- {dist.name}=={dist.version}")
    return 0
