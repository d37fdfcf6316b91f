"""Writing a PEP 751 pylock.toml from the lock: `requirements --pylock` and `pylock --generate`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.cli.ui import UI, count

if TYPE_CHECKING:
    from pipfence.models.lockfile import LockedPackage, Lockfile
    from pipfence.project.export import PylockExport
    from pipfence.project.project import Project

__all__ = ["write_export", "write_pylock"]


def write_pylock(
    ui: UI,
    project: Project,
    lock: Lockfile,
    packages: Mapping[str, LockedPackage],
    *,
    output: str | None,
    only_when: Mapping[str, Sequence[str]] | None = None,
    dependency_groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    requires_python: str | None = None,
) -> int:
    """Fetch each package's project page from its own source, build the document, and write
    it to ``output`` (``-`` for stdout; None for pylock.toml beside the Pipfile). The
    other arguments are `pylock_document`'s."""
    from pipfence.project.client import open_client
    from pipfence.project.export import fetched_pylock

    with open_client(project.settings, project.pipfile, warn=ui.warning) as client:
        export = fetched_pylock(
            project,
            client,
            lock,
            packages,
            only_when=only_when,
            dependency_groups=dependency_groups,
            extras=extras,
            requires_python=requires_python,
        )
    return write_export(ui, project, export, output=output)


def write_export(ui: UI, project: Project, export: PylockExport, *, output: str | None) -> int:
    """Write ``export`` to ``output`` (``-`` for stdout; None for the project's
    pylock.toml), its notes as warnings."""
    from pipfence.project.export import pylock_path, pylock_toml
    from pipfence.project.files import atomic_write

    for note in export.notes:
        ui.warning(note)
    text = pylock_toml(export.document)
    if output == "-":
        ui.out.write(text)
        return 0
    path = Path(output) if output else pylock_path(project)
    atomic_write(path, text.encode("utf-8"), display=str(path))
    written = count(len(export.document["packages"]), "package")
    ui.success(f"Wrote {path} ({written}, each with its index)")
    return 0
