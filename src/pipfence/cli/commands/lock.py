"""`pipfence lock`: resolve the Pipfile into Pipfile.lock, each package from its one index."""

from __future__ import annotations

import argparse

from pipfence.cli.commands._options import (
    add_category_options,
    add_mirror_option,
    add_pip_only_options,
    tables_from_args,
)
from pipfence.cli.context import project_from_args, warn_about_pipfile
from pipfence.cli.ui import UI, count

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pre", action="store_true", help="allow pre-releases")
    parser.add_argument("--clear", action="store_true", help="clear the cache before locking")
    add_category_options(
        parser,
        dev_help="lock every category, [dev-packages] included (what lock always does)",
        dev_only_help="lock [dev-packages] only",
        categories_help="lock only these Pipfile tables (comma or space separated)",
    )
    add_mirror_option(parser)
    add_pip_only_options(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.progress import counting_status
    from pipfence.project.categories import check_tables
    from pipfence.project.lock import LockOptions, lock
    from pipfence.project.session import open_session

    project = project_from_args(args)

    warn_about_pipfile(project, ui)
    tables = tables_from_args(args, project.settings)
    if tables:
        check_tables(project, tables)
    # The Pipfile is read, and the lock written, with the project lock held: a lock run
    # beside `install NEW` waits for it and locks the Pipfile it wrote.
    with (
        open_session(project, clear=args.clear, warn=ui.warning) as session,
        counting_status(ui, "Locking") as counter,
    ):
        report = lock(session, LockOptions(pre=args.pre, tables=tables), on_fetch=counter)
        sent = session.client.requests_sent
    for warning in report.fence_warnings:
        ui.warning(warning)
    for warning in report.warnings:
        ui.detail(f"note: {warning}")
    if report.recalled:
        ui.detail(
            "the lock is the one last made: the Pipfile and every index page it read are "
            "unchanged (`--clear` resolves anew)"
        )
    ui.detail(
        f"{sum(sent.values())} requests"
        + (f" ({', '.join(f'{name}: {n}' for name, n in sorted(sent.items()))})" if sent else "")
    )
    sources = sorted({o.source.name for o in report.origins.values()})
    ui.success(
        f"Locked {count(report.packages, 'package')} from {', '.join(sources) or 'no source'} "
        f"in {report.seconds:.2f}s"
    )
    for change in report.changes:
        ui.info(change)
    return 0
