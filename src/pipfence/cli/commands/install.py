"""`pipfence install`: add packages, lock and sync; or, with no packages, install the lock."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.cli.commands._options import (
    add_category_options,
    add_env_options,
    add_index_options,
    add_python_option,
    env_target_from_args,
    python_from_args,
    tables_from_args,
)
from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packages", nargs="*", metavar="PACKAGE", help="requirements to add")
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


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.commands._run import client_session, report_install
    from pipfence.project.categories import check_tables
    from pipfence.project.workflows import install, install_packages, lock_categories

    target = env_target_from_args(args)
    if args.skip_lock and args.deploy:
        raise UsageError(
            "`--skip-lock` and `--deploy` contradict each other: --deploy installs the lock"
        )
    project = _project_or_new(args)
    warn_about_pipfile(project, ui)
    tables = tables_from_args(args)
    if tables:
        check_tables(project, tables, new=bool(args.packages))
    with client_session(project, ui, "Installing", fresh=bool(args.packages) or args.skip_lock) as (
        client,
        counter,
    ):
        if args.packages:
            if tables and len(tables) > 1:
                raise UsageError("add packages to one category at a time")
            table = tables[0] if tables else ("dev-packages" if args.dev else "packages")
            result = install_packages(
                project,
                client,
                args.packages,
                table=table,
                index=args.index,
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
            result = install(
                project,
                client,
                categories=lock_categories(project, dev=args.dev, tables=tables),
                deploy=args.deploy,
                pre=args.pre,
                python=python_from_args(args),
                on_fetch=counter,
                target=target,
                skip_lock=args.skip_lock,
                on_progress=counter,
            )
    report_install(ui, result)
    return 0


def _project_or_new(args: argparse.Namespace) -> Project:
    """The project; with packages to add and no Pipfile anywhere, a new one in the current
    folder (written only if the install succeeds), as pipenv starts one."""
    from pipfence.cli.context import settings_from_args
    from pipfence.project.project import Project

    try:
        return project_from_args(args)
    except UsageError:
        if not args.packages:
            raise
    settings = settings_from_args(args)
    return Project.new(settings.cwd / "Pipfile", settings)
