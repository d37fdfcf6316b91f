"""`pipfence install`: add packages, lock and sync; or, with no packages, install the lock."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.cli.commands._noop import choice_of, recalled
from pipfence.cli.commands._options import (
    add_category_options,
    add_env_options,
    add_extra_categories,
    add_index_options,
    add_pip_only_options,
    add_python_option,
    add_reference_options,
    env_target_from_args,
    python_from_args,
    tables_from_args,
)
from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

if TYPE_CHECKING:
    from pipfence.cli.progress import Counter
    from pipfence.installer.ahead_check import AheadCheck
    from pipfence.project.install import InstallResult
    from pipfence.project.project import Project
    from pipfence.project.session import Session

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help="requirements, project folders, wheels, sdists or file URLs to add",
    )
    add_reference_options(
        parser,
        editable_help="a project folder to install in editable mode (PATH[extra,…])",
        requirements_help="import a pip requirements file into the Pipfile, then lock and install",
    )
    add_category_options(parser)
    add_index_options(parser)
    add_python_option(parser)
    parser.add_argument("-i", "--index", metavar="NAME|URL", help="source to pin the packages to")
    parser.add_argument("--deploy", action="store_true", help="fail when the lock is out of date")
    parser.add_argument(
        "--skip-lock",
        action="store_true",
        help="resolve the Pipfile and install the result without writing Pipfile.lock "
        "(still fenced, each file checked against the sha256 its index publishes)",
    )
    add_env_options(parser)
    parser.add_argument(
        "--ignore-pipfile",
        action="store_true",
        help="install the lock as it is, without checking it against the Pipfile (as sync)",
    )
    parser.add_argument("--clear", action="store_true", help="clear the cache first")
    add_extra_categories(parser)
    add_pip_only_options(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    if args.skip_lock and args.deploy:
        raise UsageError(
            "`--skip-lock` and `--deploy` contradict each other: --deploy installs the lock"
        )
    project = _project_or_new(args)
    choice = choice_of("install", args)
    # With no packages, no other lock wanted and nothing else to do: `sync` (below, after a
    # lock when the Pipfile changed), whose answer may be kept from the last time.
    plain = not (
        args.packages
        or args.editable
        or args.requirements
        or args.skip_lock
        or args.ignore_pipfile
        or args.index
        or project.is_new
    )
    if plain and recalled(args, ui, project, choice):
        return 0
    target = env_target_from_args(args, project.settings)
    ahead = None
    if plain and not (args.clear or target.system):
        from pipfence.project.sync_ahead import early_cache_check

        ahead = early_cache_check(project)
    try:
        return _install(args, ui, project, choice, plain=plain, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.close()


def _install(
    args: argparse.Namespace,
    ui: UI,
    project: Project,
    choice: list[object],
    *,
    plain: bool,
    ahead: AheadCheck | None,
) -> int:
    from pipfence.cli.commands._run import client_session, report_install
    from pipfence.project.categories import check_tables, lock_categories, target_tables
    from pipfence.project.install import install, install_packages
    from pipfence.project.sync_stamp import stamp_key

    target = env_target_from_args(args, project.settings)
    requirements = Path(args.requirements) if args.requirements else None
    imported = False
    if requirements is None and project.is_new and not (args.packages or args.editable):
        # As pipenv: a new project imports the requirements.txt beside it, into [packages].
        found = project.settings.cwd / "requirements.txt"
        if found.is_file():
            ui.info("Importing requirements.txt into the new Pipfile")
            requirements = Path("requirements.txt")
            imported = True
    adding = bool(args.packages or args.editable or requirements)
    warn_about_pipfile(project, ui)
    tables = tables_from_args(args, project.settings, project.pipfile.data)
    if tables:
        check_tables(project, tables, new=adding)
    if args.ignore_pipfile and adding:
        raise UsageError("`--ignore-pipfile` installs the lock; it takes no packages")
    with client_session(
        project,
        ui,
        "Installing",
        clear=args.clear,
        fresh=adding or args.skip_lock,
    ) as (
        session,
        counter,
    ):
        if args.ignore_pipfile:
            result = _install_lock(session, counter, args, tables)
        elif adding:
            dev = args.dev and not imported
            result = install_packages(
                session,
                args.packages,
                tables=target_tables(tables, dev=dev),
                index=args.index,
                editable=args.editable,
                requirements=requirements,
                pre=args.pre,
                python=python_from_args(args),
                on_fetch=counter,
                target=target,
                skip_lock=args.skip_lock,
                on_progress=counter,
            )
        else:
            if args.index:
                raise UsageError("`--index` needs packages to pin to it")
            key = stamp_key(project, choice) if plain else None
            result = install(
                session,
                categories=lock_categories(project, tables, dev=args.dev),
                deploy=args.deploy,
                pre=args.pre,
                python=python_from_args(args),
                on_fetch=counter,
                target=target,
                skip_lock=args.skip_lock,
                on_progress=counter,
                ahead=ahead,
            )
            if not target.system and python_from_args(args) is None:
                _remember(project, choice, key, result)
    report_install(ui, result)
    return 0


def _remember(
    project: Project, choice: list[object], key: str | None, result: InstallResult
) -> None:
    """After `install` with no packages synced the lock as it was (no new lock): keep the
    answer, as `sync` does."""
    from pipfence.project.sync_stamp import remember_noop

    lockfile = project.read_lock()
    if result.lock is not None or result.sync is None or lockfile is None:
        return
    remember_noop(project, choice, key=key, lockfile=lockfile, report=result.sync)


def _install_lock(
    session: Session,
    counter: Counter,
    args: argparse.Namespace,
    tables: list[str] | None,
) -> InstallResult:
    """`install --ignore-pipfile`: the lock as it is, however the Pipfile has changed (it is
    never re-locked), each file still from its fenced index and verified."""
    from pipfence.project.categories import lock_categories
    from pipfence.project.install import InstallResult
    from pipfence.project.sync_lock import sync_lock

    project = session.project
    lockfile = project.require_lock()
    categories = lock_categories(project, tables, dev=args.dev, lock=lockfile)
    report = sync_lock(
        session,
        lockfile,
        categories,
        python=python_from_args(args),
        on_progress=counter,
        target=env_target_from_args(args, project.settings),
    )
    return InstallResult(None, report)


def _project_or_new(args: argparse.Namespace) -> Project:
    """The project; with no Pipfile anywhere, a new one in the current folder (written only
    if the install succeeds), as pipenv starts one."""
    from pipfence.cli.context import settings_from_args
    from pipfence.project.bootstrap import new_project

    try:
        return project_from_args(args)
    except UsageError:
        pass
    return new_project(settings_from_args(args), python=python_from_args(args))
