"""`pipfence uninstall PKG…`: remove packages from the Pipfile, the lock and the environment."""

from __future__ import annotations

import argparse

from pipfence.cli.commands._options import (
    add_category_options,
    add_extra_categories,
    add_mirror_option,
    add_pip_only_options,
    add_reference_options,
    tables_from_args,
)
from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI, count
from pipfence.errors import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packages", nargs="*", metavar="PACKAGE")
    add_reference_options(
        parser, editable_help="the editable project at PATH (as `install -e PATH` added it)"
    )
    add_category_options(parser)
    parser.add_argument(
        "--all", action="store_true", help="remove every package from the environment"
    )
    parser.add_argument("--all-dev", action="store_true", help="remove every [dev-packages] entry")
    add_mirror_option(parser)
    parser.add_argument("--clear", action="store_true", help="clear the cache first")
    parser.add_argument("--pre", action="store_true", help="allow pre-releases in the re-lock")
    add_extra_categories(parser, all_flag=False)
    add_pip_only_options(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.commands._run import client_session, report_install
    from pipfence.project.categories import check_tables, target_tables
    from pipfence.project.uninstall import uninstall_all, uninstall_packages

    project = project_from_args(args)

    warn_about_pipfile(project, ui)
    if args.all:
        with client_session(project, ui, "Uninstalling"):
            removed = uninstall_all(project)
        ui.success(f"Removed {count(len(removed), 'package')} from the environment")
        # What went, one line a package, on stdout, as `clean` names them (pipenv's tests read
        # the names there).
        for dist in removed:
            ui.result(f"- {dist.name}=={dist.version}")
        return 0
    chosen = tables_from_args(args, project.settings)
    if chosen:
        check_tables(project, chosen)
    tables = target_tables(chosen, dev=args.dev)
    packages = list(args.packages)
    with client_session(project, ui, "Uninstalling", clear=args.clear) as (session, counter):
        # The Pipfile is read with the project lock held.
        if args.all_dev:
            tables = ["dev-packages"]
            packages = [spec.name for _t, spec in project.pipfile.iter_specs(["dev-packages"])]
        if not packages and not args.editable:
            raise UsageError(
                "No package provided! Name the packages to uninstall, or use --all / --all-dev"
            )
        result = uninstall_packages(
            session,
            packages,
            tables=tables,
            editable=args.editable,
            pre=args.pre,
            on_fetch=counter,
        )
    if result.change is not None:
        ui.success(f"Removed {', '.join(result.change.names)} from the Pipfile")
    report_install(ui, result)
    return 0
