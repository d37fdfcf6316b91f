"""`pipfence requirements`: the lock as a requirements file, or as a PEP 751 pylock.toml."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import LockfileError, UsageError
from pipfence.project.project import PYLOCK

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--dev", action="store_true", help="add [dev-packages]")
    parser.add_argument("--dev-only", action="store_true", help="[dev-packages] only")
    parser.add_argument(
        "--categories", default=None, help="only these categories (comma or space separated)"
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
    parser.add_argument("--pypi-mirror", metavar="URL", help="send PyPI's requests to this mirror")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.models.urls import without_secrets
    from pipfence.project.export import (
        index_lines,
        lock_categories_for,
        requirement_lines,
        routing_lost,
        selected_packages,
    )

    project = project_from_args(args)
    if args.no_lock:
        return _pipfile_requirements(args, ui, project)
    lock = project.read_lock()
    if lock is None:
        raise LockfileError("does not exist", hint="run `pipfence lock` to create it")
    categories = lock_categories_for(
        dev=args.dev, dev_only=args.dev_only, categories=args.categories
    )
    if args.categories:
        from pipfence.project.categories import check_tables

        check_tables(project, categories, lock=lock)
    packages = selected_packages(
        lock, categories, named_in=project.pipfile if args.from_pipfile else None
    )
    if args.format == "pylock":
        from pipfence.cli.commands._pylock import write_pylock

        return write_pylock(ui, project, lock, packages, output=args.output)
    if args.output not in (None, "-"):
        raise UsageError("--output is for --format pylock; redirect stdout for requirements")
    lines = (
        [] if args.exclude_index else index_lines(lock, pypi_mirror=project.settings.pypi_mirror)
    )
    lines += requirement_lines(packages, hashes=args.hash, markers=not args.exclude_markers)
    for line in lines:
        ui.result(line)
    mirror = project.settings.pypi_mirror
    if mirror and not args.exclude_index and without_secrets(mirror)[1]:
        ui.warning(
            "the PyPI mirror's credentials were left out of the `-i` line: "
            "pip takes them from .netrc or keyring, or write them as ${VARIABLES}"
        )
    lost = routing_lost(lock, packages) if not args.exclude_index else {}
    if len(lock.meta.sources) > 1 and not args.exclude_index:
        shown = ", ".join(f"`{n}` from `{s}`" for n, s in sorted(lost.items())[:5])
        more = f" ({shown}{', …' if len(lost) > 5 else ''})" if lost else ""  # noqa: PLR2004
        ui.warning(
            f"this file lists {len(lock.meta.sources)} indexes and pip looks for every package "
            f"on all of them: the lock's one-index-per-package routing{more} is lost, and a "
            "package published under the same name on another index could be installed "
            "instead (dependency confusion)"
        )
        ui.info(
            "hint: install with `pipfence sync`, or export with `pipfence requirements "
            "--pylock`, which records each package's index"
        )
    return 0


def _pipfile_requirements(args: argparse.Namespace, ui: UI, project: Project) -> int:
    """`requirements --no-lock`: the Pipfile's own lines (version ranges, extras, markers),
    no lock needed; a path, file or VCS entry is left out (its lock entry says what to write)."""
    from pipfence.project.export import source_lines

    if args.categories:
        names = [c for c in args.categories.replace(",", " ").split() if c]
        aliases = {"default": "packages", "develop": "dev-packages"}
        tables = [aliases.get(n, n) for n in names]
    elif args.dev_only:
        tables = ["dev-packages"]
    else:
        tables = ["packages", "dev-packages"] if args.dev else ["packages"]
    pipfile = project.pipfile
    lines = (
        []
        if args.exclude_index
        else source_lines(pipfile.effective_sources, pypi_mirror=project.settings.pypi_mirror)
    )
    seen: set[str] = set()
    for _table, spec in pipfile.iter_specs(tables):
        if spec.key in seen:
            continue
        seen.add(spec.key)
        if not spec.is_named:
            ui.warning(f"`{spec.name}` is a path, file or VCS entry: left out without the lock")
            continue
        requirement = spec.requirement()
        if args.exclude_markers:
            requirement.marker = None
        lines.append(str(requirement))
    for line in lines:
        ui.result(line)
    return 0
