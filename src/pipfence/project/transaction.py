"""A use case's all-or-nothing: the new Pipfile, lock (and pylock.toml) are staged beside the
old ones, the environment is changed, and then the files are swapped in; when any step fails,
the environment and the files are left as they were (`together`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pipfence.models.lockfile import Lockfile
from pipfence.models.names import canonical_name
from pipfence.project.files import FileSet
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.installer.wheel import EnvChange
    from pipfence.project.session import Session

__all__ = ["locked_versions", "stage_with_pylock", "together"]


@contextlib.contextmanager
def together(files: FileSet) -> Iterator[EnvChange]:
    """Make the environment change done in the block and the staged ``files`` take effect
    together: the files are swapped in when the block succeeds, and when that fails the
    environment change is undone; when the block fails the staged files are dropped."""
    from pipfence._signals import deferred_interrupts
    from pipfence.installer.wheel import EnvChange

    change = EnvChange()
    try:
        try:
            yield change
        except BaseException as exc:
            change.undo(exc)
            raise
        # The point of no return: the files swapped in and the set-aside files deleted run to
        # their end. An interrupt now would report nothing changed when everything had, and
        # leave the old files behind under their hidden names; the command finishes instead.
        with deferred_interrupts(hold_after=True):
            try:
                files.commit()
            except BaseException as exc:
                change.undo(exc)
                raise
            change.commit()
    finally:
        files.discard()


def stage_with_pylock(
    session: Session, *, pipfile_text: str | None = None, lock: Lockfile | None = None
) -> FileSet:
    """`pipfence.project.export.stage_with_pylock` for the session's project, imported only
    when a command writes."""
    from pipfence.project.export import stage_with_pylock as stage

    return stage(session.project, session.client, pipfile_text=pipfile_text, lock=lock)


def locked_versions(project: Project, *, leave: Iterable[str] = ()) -> dict[str, str]:
    """The versions the lock on disk pins (the first category's where two differ), but for
    the names in ``leave``: what an edit keeps, as pipenv keeps the other locked versions when
    one package is added, removed or updated. Empty without a lock; a corrupt one raises its
    `LockfileError` (exit 2): the edit must not quietly re-lock every other package."""
    current = project.read_lock()
    left = {canonical_name(name) for name in leave}
    kept: dict[str, str] = {}
    for _category, package in current.packages() if current is not None else ():
        if package.version is not None and package.key not in left:
            kept.setdefault(package.key, package.version)
    return kept
