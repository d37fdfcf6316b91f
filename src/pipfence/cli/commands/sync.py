"""`pipfence sync`: install exactly what Pipfile.lock lists."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.cli.commands._noop import choice_of, recalled
from pipfence.cli.commands._options import (
    accept,
    add_category_options,
    add_env_options,
    add_extra_categories,
    add_mirror_option,
    add_pip_only_options,
    add_python_option,
    env_target_from_args,
    python_from_args,
    tables_from_args,
)
from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI

if TYPE_CHECKING:
    from pipfence.installer.ahead_check import AheadCheck
    from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_category_options(parser)
    add_python_option(parser)
    add_env_options(parser)
    add_mirror_option(parser)
    parser.add_argument(
        "--clean",
        action="store_true",
        help="also uninstall what no category of the lock lists (pip and setuptools stay), "
        "in the same all-or-nothing step",
    )
    parser.add_argument("--clear", action="store_true", help="clear the cache first")
    parser.add_argument("--bare", action="store_true", help="print only errors (as --quiet)")
    add_extra_categories(parser)
    accept(parser, "--pre", reason="sync installs the versions the lock pins; it resolves nothing")
    add_pip_only_options(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    project = project_from_args(args)
    choice = choice_of("sync", args)
    if recalled(args, ui, project, choice):
        return 0
    return _sync(args, ui, project, choice)


def _sync(args: argparse.Namespace, ui: UI, project: Project, choice: list[object]) -> int:
    """The full sync; into a new environment, with the cache's check started first."""
    from pipfence.project.sync_ahead import early_cache_check

    system = getattr(args, "system", False) or project.settings.use_system
    ahead = None if args.clear or system else early_cache_check(project)
    try:
        return _sync_checked(args, ui, project, choice, ahead)
    finally:
        if ahead is not None:
            ahead.close()


def _sync_checked(
    args: argparse.Namespace,
    ui: UI,
    project: Project,
    choice: list[object],
    ahead: AheadCheck | None,
) -> int:
    from pipfence.cli.commands._run import client_session, report_install
    from pipfence.project.categories import lock_categories
    from pipfence.project.install import InstallResult
    from pipfence.project.sync_lock import sync_lock
    from pipfence.project.sync_stamp import remember_noop, stamp_key

    warn_about_pipfile(project, ui)
    with client_session(project, ui, "Installing", clear=args.clear) as (session, counter):
        key = stamp_key(project, choice)
        # Read with the project lock held.
        lockfile = project.require_lock(hint="run `pipfence lock` first, or `pipfence install`")
        tables = tables_from_args(args, project.settings, project.pipfile.data)
        categories = lock_categories(project, tables, dev=args.dev, lock=lockfile)
        target = env_target_from_args(args, project.settings)
        report = sync_lock(
            session,
            lockfile,
            categories,
            python=python_from_args(args),
            remove_extraneous=args.clean,
            on_progress=counter,
            target=target,
            ahead=ahead,
        )
        if not target.system and python_from_args(args) is None:
            remember_noop(project, choice, key=key, lockfile=lockfile, report=report)
    report_install(ui, InstallResult(None, report))
    return 0
