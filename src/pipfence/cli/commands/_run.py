"""Runs a use case in a session (the project lock held, an index client open) with a progress
line."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pipfence.cli.progress import Counter, counting_status
from pipfence.cli.ui import UI, already_matches, count

if TYPE_CHECKING:
    from pipfence.project.install import InstallResult
    from pipfence.project.lock import LockReport
    from pipfence.project.project import Project
    from pipfence.project.session import Session
    from pipfence.project.sync import SyncReport

__all__ = ["client_session", "report_changes", "report_install"]


@contextmanager
def client_session(
    project: Project, ui: UI, label: str, *, clear: bool = False, fresh: bool = False
) -> Iterator[tuple[Session, Counter]]:
    from pipfence.project.session import open_session

    with (
        open_session(project, clear=clear, fresh=fresh, warn=ui.warning) as session,
        counting_status(ui, label) as counter,
    ):
        yield session, counter


def report_install(
    ui: UI, result: InstallResult, show: Callable[[str], None] | None = None
) -> None:
    """What an install-like command did, ending with what changed in the environment, one
    line a package (`+ name==1.2`, `- name==1.0`, `~ name 1.0 -> 1.2`). The lock's own
    changes are shown when the environment did not change with them (`upgrade`, `lock`-like
    runs), and with `--verbose` otherwise."""
    say = show or ui.success
    if result.change is not None:
        for note in result.change.notes:
            ui.info(note)
    env_changes: tuple[str, ...] = result.env_removed
    if result.sync is not None:
        env_changes = (*env_changes, *result.sync.changes)
    if result.lock is not None:
        _report_lock(
            ui,
            result.lock,
            skipped=result.skipped_lock,
            env_changed=result.sync is not None or bool(env_changes),
        )
    if result.sync is not None:
        _report_sync(ui, result.sync, say)
    elif result.env_removed:
        say(f"Removed {count(len(result.env_removed), 'package')} from the environment")
    report_changes(ui, env_changes)


def _report_lock(ui: UI, lock: LockReport, *, skipped: bool, env_changed: bool) -> None:
    """The lock step of `report_install`: its fence warnings, what it resolved (``skipped``:
    not written, ``--skip-lock``), and its own changes (as detail when the environment's
    changes are shown after them)."""
    for warning in lock.fence_warnings:
        ui.warning(warning)
    if skipped:
        ui.info(
            f"Resolved {count(lock.packages, 'package')} in "
            f"{lock.seconds:.2f}s; Pipfile.lock not written (--skip-lock)"
        )
    else:
        ui.info(f"Locked {count(lock.packages, 'package')} in {lock.seconds:.2f}s")
    for change in lock.changes:
        if env_changed:
            ui.detail(f"lock: {change}")
        else:
            ui.info(change)


def _report_sync(ui: UI, sync: SyncReport, say: Callable[[str], None]) -> None:
    """The sync step of `report_install`, up to its one-line summary."""
    if sync.created:
        ui.info(f"Created the environment at {sync.env.root}")
    for line in sync.fetched:
        ui.detail(line)
    for warning in sync.warnings:
        ui.warning(warning)
    if sync.changes:
        say(_summary(len(sync.installed), len(sync.removed), sync.seconds))
    else:
        say(already_matches(sync.kept))


def report_changes(ui: UI, changes: Sequence[str]) -> None:
    """The closing lines of a command that changed the environment, one a package."""
    for line in changes:
        ui.info(line)


def _summary(installed: int, removed: int, seconds: float) -> str:
    parts = []
    if installed:
        parts.append(f"Installed {count(installed, 'package')}")
    if removed:
        parts.append(f"{'removed' if parts else 'Removed'} {count(removed, 'package')}")
    return f"{', '.join(parts)} in {seconds:.2f}s"
