"""What a change to an environment leaves behind when its process is killed (SIGKILL, a power
cut): the files it had set aside under hidden names (`aside_name`), which neither a commit nor
a rollback got to delete or put back.

A change marks the environment while it runs (`begin`: a file at its root) and takes the mark
away when it is committed or undone (`end`). A change that finds the mark of one that never
ended sweeps the environment first (`sweep`): every set-aside name in it is deleted. The
environment itself is what the next sync reads and repairs (a package whose files were moved
aside shows as not installed, and is installed again); the set-aside copies are only debris,
which nothing else would ever remove. Commands that change one environment wait for each
other (the project lock), so a mark is never a live change's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

__all__ = ["MARK", "begin", "end", "sweep"]

#: The mark of a change under way, at the environment's root.
MARK = ".pipfence-changing"

_ASIDE_SUFFIX = ".pipfence-old"


def begin(root: Path) -> Path:
    """Mark the environment at ``root`` as being changed, sweeping first what a change that
    never ended left; the mark's path (for `end`). Best effort: an environment where the mark
    cannot be written is changed all the same."""
    mark = root / MARK
    if mark.exists():
        sweep(root)
    with contextlib.suppress(OSError):
        mark.touch()
    return mark


def end(mark: Path) -> None:
    """Take the mark of a change away (it ended: committed or undone)."""
    with contextlib.suppress(OSError):
        mark.unlink()


def sweep(root: Path) -> list[str]:
    """Delete every set-aside file and folder (``.NAME.XXXXXXXX.pipfence-old``) under
    ``root``; the paths deleted. Symbolic links are not followed."""
    removed: list[str] = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            if not (name.startswith(".") and name.endswith(_ASIDE_SUFFIX)):
                continue
            path = os.path.join(folder, name)  # noqa: PTH118 - os.walk's own strings
            if os.path.isdir(path) and not os.path.islink(path):  # noqa: PTH112,PTH114
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)  # noqa: PTH108
            removed.append(path)
        dirs[:] = [d for d in dirs if not d.endswith(_ASIDE_SUFFIX)]
    return removed
