"""`pipfence pylock`: PEP 751 pylock.toml files, as pipenv's ``pylock`` command manages them.

- no option: what the project's pylock.toml says (or how to make one);
- ``--generate``: write one from Pipfile.lock, [dev-packages] in the ``dev`` dependency group;
- ``--validate``: check the project's pylock.toml against PEP 751;
- ``--from-pyproject``: lock pyproject.toml's dependencies (groups and extras too), fenced as
  any lock, and write the result. pipenv writes an unresolved skeleton here, which PEP 751
  does not accept (no version, no file); pipfence resolves it, so the file installs.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipfence.cli.commands._options import add_mirror_option
from pipfence.cli.commands._pylock import write_pylock
from pipfence.cli.context import settings_from_args
from pipfence.cli.ui import UI
from pipfence.errors import PipfenceError, UsageError
from pipfence.project.project import PYLOCK

if TYPE_CHECKING:
    from pipfence.models.lockfile import Lockfile
    from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--generate", action="store_true", help="write a pylock.toml from Pipfile.lock"
    )
    action.add_argument(
        "--from-pyproject",
        action="store_true",
        help="lock pyproject.toml's dependencies and write them as a pylock.toml",
    )
    action.add_argument(
        "--validate", action="store_true", help="check the project's pylock.toml (PEP 751)"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=None,
        help=f"where to write (default: {PYLOCK}, or pylock.NAME.toml with "
        "[pipenv] pylock_name; - for stdout)",
    )
    parser.add_argument(
        "--dev-groups",
        default="dev",
        metavar="NAMES",
        help="the dependency groups [dev-packages] belong to (comma separated; default: dev)",
    )
    add_mirror_option(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.project import Project

    settings = settings_from_args(args)
    if args.from_pyproject:
        return _from_pyproject(args, ui, _project_or_folder(settings))
    if args.generate:
        return _generate(args, ui, Project.find(settings))
    # Reading a pylock.toml needs no Pipfile: pipenv validates one in any folder.
    project = _project_or_folder(settings)
    found = _existing(project.root)
    if args.validate:
        if found is None:
            raise UsageError(
                f"no pylock.toml in `{project.root}`",
                hint="write one with `pipfence pylock --generate`",
            )
        summary = _validated(found)
        ui.success(f"Valid {found.name} (version {summary['lock-version']})")
    elif found is None:
        ui.info(f"No pylock.toml in {project.root}.")
        ui.info("Use `pipfence pylock --generate` to write one from Pipfile.lock,")
        ui.info("or `pipfence pylock --from-pyproject` to lock pyproject.toml's dependencies.")
        return 0
    else:
        summary = _validated(found)
        ui.result(f"{found.name}: {found}")
    ui.result(f"  Version: {summary['lock-version']}")
    ui.result(f"  Created by: {summary['created-by']}")
    ui.result(f"  Packages: {len(summary['packages'])}")
    for key, label in (
        ("requires-python", "Requires Python"),
        ("extras", "Extras"),
        ("dependency-groups", "Dependency Groups"),
    ):
        value = summary.get(key)
        if value:
            ui.result(f"  {label}: {value if isinstance(value, str) else ', '.join(value)}")
    return 0


def _existing(folder: Path) -> Path | None:
    """pylock.toml in ``folder``, else the first pylock.NAME.toml (PEP 751's names)."""
    plain = folder / PYLOCK
    if plain.is_file():
        return plain
    named = sorted(folder.glob("pylock.*.toml"))
    return named[0] if named else None


def _validated(path: Path) -> dict[str, Any]:
    """The file's data when PEP 751 (as `packaging.pylock` reads it) accepts it; a one-line
    error naming the file and the key otherwise."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PipfenceError(f"{path.name}: cannot be read as TOML: {exc}") from exc
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError as exc:  # packaging before 25.0
        raise UsageError(
            "validating a pylock.toml needs packaging 25.0 or later",
            hint='pip install "packaging>=25"',
        ) from exc
    try:
        Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise PipfenceError(f"{path.name} is not a valid pylock file: {exc}") from exc
    return data


def _output(args: argparse.Namespace, project: Project) -> str | None:
    from pipfence.project.export import pylock_path

    return str(args.output) if args.output else str(pylock_path(project))


def _dev_groups(args: argparse.Namespace) -> list[str]:
    groups = [g.strip() for g in str(args.dev_groups).split(",") if g.strip()]
    if not groups:
        raise UsageError("--dev-groups names no group")
    return groups


def _generate(args: argparse.Namespace, ui: UI, project: Project) -> int:
    lock = project.require_lock()
    return write_pylock(
        ui, project, lock, None, output=_output(args, project), dev_groups=_dev_groups(args)
    )


def _project_or_folder(settings: Any) -> Project:
    """The project (its sources and settings apply), or a folder without a Pipfile: then
    PyPI is the one source, as for a Pipfile without [[source]]."""
    from pipfence.project.project import Project

    try:
        return Project.find(settings)
    except UsageError:
        return Project.new(Path(settings.cwd).absolute() / "Pipfile", settings)


def _from_pyproject(args: argparse.Namespace, ui: UI, project: Project) -> int:
    import tomlkit

    from pipfence.cli.commands._run import client_session
    from pipfence.models.pipfile import lock_category
    from pipfence.models.pyproject import pyproject_tables
    from pipfence.project.export import selected_packages
    from pipfence.project.lock import lock_pipfile_text

    path = project.root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no pyproject.toml in `{project.root}`") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"pyproject.toml cannot be read: {exc}") from exc
    found = pyproject_tables(data)
    document = tomlkit.document()
    if project.pipfile_path.is_file():
        existing = tomlkit.parse(project.pipfile_text())
        for key in ("source", "pipenv"):
            if key in existing:
                document[key] = existing[key]
    for table, entries in found.tables.items():
        document[table] = _toml_table(entries)
    with client_session(project, ui, "Locking") as (session, counter):
        text = tomlkit.dumps(document)
        lock: Lockfile = lock_pipfile_text(session, text, on_fetch=counter)
    labels = {
        **{t: f"'{g}' in dependency_groups" for t, g in found.groups.items()},
        **{t: f"'{e}' in extras" for t, e in found.extras.items()},
    }
    categories = [lock_category(t) for t in found.tables]
    packages = selected_packages(lock, list(reversed(categories)))  # [packages] wins
    default = set(lock.categories.get("default", {}))
    only_when: dict[str, list[str]] = {}
    for table in found.tables:
        if table == "packages":
            continue
        for name in lock.categories.get(lock_category(table), {}):
            if name not in default:
                only_when.setdefault(name, []).append(labels[table])
    return write_pylock(
        ui,
        project,
        lock,
        packages,
        output=_output(args, project),
        only_when=only_when,
        dependency_groups=list(found.groups.values()),
        extras=list(found.extras.values()),
        requires_python=found.requires_python,
    )


def _toml_table(entries: dict[str, Any]) -> Any:
    import tomlkit

    table = tomlkit.table()
    for name, entry in entries.items():
        if isinstance(entry, dict):
            inline = tomlkit.inline_table()
            inline.update(entry)
            table.add(name, inline)
        else:
            table.add(name, entry)
    return table
