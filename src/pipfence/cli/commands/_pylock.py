"""Writing a PEP 751 pylock.toml from the lock: `requirements --pylock` and `pylock --generate`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipfence.cli.ui import UI, count

if TYPE_CHECKING:
    from pipfence.models.lockfile import LockedPackage, Lockfile
    from pipfence.project.project import Project

__all__ = ["write_pylock"]


def write_pylock(
    ui: UI,
    project: Project,
    lock: Lockfile,
    packages: Mapping[str, LockedPackage] | None,
    *,
    output: str | None,
    **options: Any,
) -> int:
    """Write the pylock.toml of ``packages`` (`pipfence.project.export.write_pylock`, which
    ``options`` go to) to ``output`` (``-`` for stdout; None for the project's pylock.toml)
    and say so, its notes as warnings."""
    from pipfence.project.export import write_pylock as write

    written = write(project, lock, packages, output=output, warn=ui.warning, **options)
    for note in written.notes:
        ui.warning(note)
    if written.path is None:
        ui.out.write(written.text)
        return 0
    ui.success(f"Wrote {written.path} ({count(written.packages, 'package')}, each with its index)")
    return 0
