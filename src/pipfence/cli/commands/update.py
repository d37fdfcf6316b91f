"""`pipfence update`: re-lock from the indexes (index pins kept) and sync."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.cli.commands._options import (
    accept,
    add_category_options,
    add_extra_categories,
    add_index_options,
    add_pip_only_options,
    add_python_option,
    add_reference_options,
    python_from_args,
    tables_from_args,
)
from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

if TYPE_CHECKING:
    from pipfence.project.install import InstallResult
    from pipfence.project.outdated import OutdatedPackage, OutdatedReport
    from pipfence.project.session import Session

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help="update only these (every other locked version is kept while it fits); "
        "NAME==VERSION also writes that version into the Pipfile",
    )
    add_reference_options(
        parser,
        editable_help="a project folder to write as an editable entry (as install -e) and move",
        requirements_help="write a pip requirements file's packages into the Pipfile (as "
        "install -r) and move them",
    )
    add_category_options(parser)
    add_index_options(parser)
    parser.add_argument(
        "--outdated", action="store_true", help="list what would change, change nothing"
    )
    parser.add_argument(
        "--dry-run", dest="outdated", action="store_true", help="the same as --outdated"
    )
    parser.add_argument("--clear", action="store_true", help="clear the cache first")
    parser.add_argument(
        "--lock-only", action="store_true", help="write the lock, install nothing (as upgrade)"
    )
    parser.add_argument("--bare", action="store_true", help="print only errors (as --quiet)")
    add_extra_categories(parser)
    add_python_option(parser)
    accept(
        parser,
        "-i",
        "--index",
        metavar="NAME|URL",
        reason="update keeps each package's index pin; `pipfence install PKG --index NAME` "
        "moves one",
    )
    accept(
        parser,
        "--ignore-pipfile",
        reason="update re-locks from the Pipfile; `pipfence sync` installs the lock as it is",
    )
    add_pip_only_options(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.commands._run import client_session, report_install
    from pipfence.project.categories import check_tables, lock_categories, target_tables
    from pipfence.project.update import update

    project = project_from_args(args)

    warn_about_pipfile(project, ui)
    tables = tables_from_args(args, project.settings, project.pipfile.data)
    categories = lock_categories(project, tables, dev=args.dev)
    adding = bool(args.editable or args.requirements)
    if adding and tables:
        check_tables(project, tables, new=True)
    if adding and args.outdated:
        raise UsageError("`--outdated` lists what would change; it takes no -e or -r")
    with client_session(project, ui, "Updating", clear=args.clear, fresh=True) as (
        session,
        counter,
    ):
        if args.outdated:
            from pipfence.project.outdated import outdated

            found = outdated(session, pre=args.pre, names=_names(args.packages), on_fetch=counter)
            return _report_outdated(ui, found)
        result = update(
            session,
            categories=categories,
            pre=args.pre,
            python=python_from_args(args),
            write_only=_write_only(args),
            on_fetch=counter,
            packages=args.packages,
            on_progress=counter,
            editable=args.editable,
            requirements=Path(args.requirements) if args.requirements else None,
            tables=target_tables(tables, dev=args.dev),
        )
        held = _held_back(session, result, args)
    report_install(ui, result)
    for package in held:
        ui.warning(_stays(package))
    return 0


def _held_back(
    session: Session, result: InstallResult, args: argparse.Namespace
) -> tuple[OutdatedPackage, ...]:
    """The packages named without a version that the new lock keeps below their newest
    release (the Pipfile's entry, or another package's requirement, holds them)."""
    from pipfence.project.outdated import held_back

    plain = [name for name, argument in zip(_names(args.packages), args.packages, strict=True)
             if name == argument]  # fmt: skip
    if result.lock is None or not plain:
        return ()
    return held_back(session, result.lock.lockfile, plain, pre=args.pre)


def _stays(package: OutdatedPackage) -> str:
    if package.held_by in (None, "*"):
        why = "what the other locked packages require holds it there"
    else:
        why = f"the Pipfile asks for `{package.held_by}`"
    return f"{package.name} stays at {package.installed}: {why} ({package.available} is available)"


def _write_only(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "lock_only", False))


def _names(arguments: list[str]) -> list[str]:
    """The package names of ``update`` arguments (``six==1.11`` → ``six``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for argument in arguments:
        try:
            names.append(Requirement(argument).name)
        except InvalidRequirement:
            names.append(argument)
    return names


def _report_outdated(ui: UI, found: OutdatedReport) -> int:
    """pipenv's report: a held-back update on stderr, every outdated package on stdout
    (``Package 'six' out-of-date: '1.11.0' installed, '1.16.0' available.``); exit 1 when
    `pipfence update` would move something, 0 otherwise."""
    for package in found.held_back:
        pinned = (
            "Unpinned in Pipfile"
            if package.held_by in (None, "*")
            else f"{package.held_by} set in Pipfile"
        )
        ui.warning(
            f"Skipped Update of Package {package.name}: {package.installed} installed, "
            f"({pinned}), {package.available} available."
        )
    everything = sorted((*found.moving, *found.held_back), key=lambda p: p.name.lower())
    for package in everything:
        ui.result(
            f"Package {package.name!r} out-of-date: {package.installed!r} installed, "
            f"{package.available!r} available."
        )
    if not everything:
        ui.result("All packages are up to date!")
    return 1 if found.moving else 0
