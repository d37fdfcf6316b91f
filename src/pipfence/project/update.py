"""`update` and `upgrade`: re-lock from the indexes (keeping every ``index`` pin, which comes
from the Pipfile), moving only the packages named when some are, then sync (`update`) or not
(`upgrade`). The Pipfile, the lock and the environment change together or not at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.models.pipfile import Pipfile
from pipfence.project.install import InstallResult, install_change
from pipfence.project.sync_lock import sync_lock
from pipfence.project.transaction import locked_versions, stage_with_pylock, together

if TYPE_CHECKING:
    from pipfence.project.edits import PipfileChange
    from pipfence.project.session import Session
    from pipfence.project.sync_types import ProgressSink

__all__ = ["update"]


def update(
    session: Session,
    *,
    categories: Sequence[str],
    pre: bool = False,
    python: str | None = None,
    write_only: bool = False,
    on_fetch: Callable[[str], None] | None = None,
    packages: Sequence[str] = (),
    on_progress: ProgressSink | None = None,
    editable: Sequence[str] = (),
    requirements: Path | None = None,
    tables: Sequence[str] = ("packages",),
) -> InstallResult:
    """`pipfence update`: re-lock from the indexes (keeping every ``index`` pin, which comes
    from the Pipfile), then sync unless ``write_only`` (`upgrade`).

    With ``packages``, only those move: every other locked version is kept while it fits, and
    an argument with a version (``requests==2.28.0``) edits the Pipfile entry too. ``-e PATH``
    and ``-r FILE`` are written into ``tables`` as `install` writes them, and move as named
    packages do. The Pipfile, the lock and the environment change together or not at all."""
    from pipfence.project.lock import relock

    project = session.project
    edit: PipfileChange | None = None
    keep: dict[str, str] = {}
    edited = session
    if packages or editable or requirements is not None:
        edit = _update_change(session, packages, editable, requirements=requirements, tables=tables)
        keep = locked_versions(project, leave=edit.names)
        if edit.text != project.pipfile_text():
            edited = session.with_project(
                project.with_pipfile_text(edit.text, extra_environ=edit.credentials)
            )
    report = relock(edited, pre=pre, on_fetch=on_fetch, keep=keep)
    result = None
    pipfile_text = edit.text if edit is not None and edited is not session else None
    files = stage_with_pylock(session, pipfile_text=pipfile_text, lock=report.lockfile)
    with together(files) as change:
        if not write_only:
            result = sync_lock(
                edited,
                report.lockfile,
                categories,
                python=python,
                change=change,
                on_progress=on_progress,
            )
    return InstallResult(report, result, edit)


def _update_change(
    session: Session,
    packages: Sequence[str],
    editable: Sequence[str],
    *,
    requirements: Path | None,
    tables: Sequence[str],
) -> PipfileChange:
    """The Pipfile edit of `update`/`upgrade`: the ``-e`` folders and the requirements
    file's packages added (or replaced) as `install` adds them, then each named package's
    new version, if it gives one."""
    from pipfence.project.edits import PipfileChange, update_packages

    project = session.project
    added = PipfileChange(project.pipfile_text(), (), (), {})
    if editable or requirements is not None:
        added = install_change(
            session, (), editable, tables=tables, index=None, requirements=requirements
        )
    if not packages:
        return added
    current = project.read_lock()
    locked = [p.name for _c, p in current.packages()] if current is not None else None
    moved = update_packages(added.text, Pipfile.parse(added.text), list(packages), locked=locked)
    return PipfileChange(
        moved.text,
        (*added.names, *moved.names),
        (*added.notes, *moved.notes),
        {**added.credentials, **moved.credentials},
    )
