"""`pipfence requirements`: the lock as a requirements file, or as a PEP 751 pylock.toml."""

from __future__ import annotations

import argparse

from pipfence.cli.commands._options import add_category_options, add_mirror_option, tables_from_args
from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import UsageError
from pipfence.project.project import PYLOCK

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_category_options(
        parser,
        dev_help="add [dev-packages]",
        dev_only_help="[dev-packages] only",
        categories_help="only these categories (comma or space separated)",
    )
    parser.add_argument(
        "--from-pipfile",
        action="store_true",
        help="only the packages the Pipfile names (their locked versions), not what they need",
    )
    parser.add_argument(
        "--no-lock",
        action="store_true",
        help="the Pipfile's own requirements (its version ranges), without a lock",
    )
    parser.add_argument("--hash", action="store_true", help="add each file's --hash")
    parser.add_argument("--exclude-markers", action="store_true", help="leave markers out")
    parser.add_argument("--exclude-index", action="store_true", help="leave -i lines out")
    parser.add_argument(
        "--format",
        choices=("requirements", "pylock"),
        default="requirements",
        help="requirements.txt lines (default), or a PEP 751 pylock.toml that keeps each "
        "package's index",
    )
    parser.add_argument(
        "--pylock", dest="format", action="store_const", const="pylock", help="--format pylock"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=None,
        help=f"where to write a pylock (default: {PYLOCK} beside the Pipfile; - for stdout)",
    )
    add_mirror_option(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.categories import lock_categories, pipfile_tables
    from pipfence.project.export import (
        lock_requirements,
        pipfile_requirements,
        selected_packages,
    )

    project = project_from_args(args)
    project.pipfile  # noqa: B018 - a Pipfile that does not parse stops this as every command
    tables = tables_from_args(args, None)
    if args.no_lock:
        export = pipfile_requirements(
            project,
            pipfile_tables(tables, dev=args.dev),
            markers=not args.exclude_markers,
            index=not args.exclude_index,
        )
    else:
        lock = project.require_lock()
        categories = lock_categories(project, tables, dev=args.dev, lock=lock, default_last=True)
        packages = selected_packages(
            lock, categories, named_in=project.pipfile if args.from_pipfile else None
        )
        if args.format == "pylock":
            from pipfence.cli.commands._pylock import write_pylock

            return write_pylock(ui, project, lock, packages, output=args.output)
        if args.output not in (None, "-"):
            raise UsageError("--output is for --format pylock; redirect stdout for requirements")
        export = lock_requirements(
            project,
            lock,
            packages,
            hashes=args.hash,
            markers=not args.exclude_markers,
            index=not args.exclude_index,
        )
    for line in export.lines:
        ui.result(line)
    for warning in export.warnings:
        ui.warning(warning)
    for hint in export.hints:
        ui.info(hint)
    return 0
