"""Runs a use case with an index client, a progress line and the project lock held."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pipfence.cli.progress import Counter, counting_status
from pipfence.cli.ui import UI, count

if TYPE_CHECKING:
    from pipfence.index.client import IndexClient
    from pipfence.project.project import Project
    from pipfence.project.workflows import InstallResult

__all__ = ["client_session", "report_install"]


@contextmanager
def client_session(
    project: Project, ui: UI, label: str, *, clear: bool = False, fresh: bool = False
) -> Iterator[tuple[IndexClient, Counter]]:
    from pipfence.project.client import open_client
    from pipfence.project.workflows import project_lock

    with (
        project_lock(project),
        open_client(
            project.settings, project.pipfile, clear=clear, fresh=fresh, warn=ui.warning
        ) as client,
        counting_status(ui, label) as counter,
    ):
        yield client, counter


def report_install(
    ui: UI, result: InstallResult, show: Callable[[str], None] | None = None
) -> None:
    say = show or ui.success
    if result.change is not None:
        for note in result.change.notes:
            ui.info(note)
    if result.lock is not None:
        for warning in result.lock.fence_warnings:
            ui.warning(warning)
        if result.skipped_lock:
            ui.info(
                f"Resolved {count(result.lock.packages, 'package')} in "
                f"{result.lock.seconds:.2f}s; Pipfile.lock not written (--skip-lock)"
            )
        else:
            ui.info(
                f"Locked {count(result.lock.packages, 'package')} in {result.lock.seconds:.2f}s"
            )
            for change in result.lock.changes:
                ui.info(change)
    if result.sync is not None:
        sync = result.sync
        if sync.created:
            ui.info(f"Created the environment at {sync.env.root}")
        if sync.installed:
            say(f"Installed {count(len(sync.installed), 'package')} in {sync.seconds:.2f}s")
            for item in sync.installed:
                ui.detail(f"  + {item}")
        elif not sync.removed:
            say(f"The environment already matches the lock ({count(sync.kept, 'package')})")
        if sync.removed:
            say(f"Removed {count(len(sync.removed), 'package')} the lock does not list")
            for name in sync.removed:
                ui.detail(f"  - {name}")
        for warning in sync.warnings:
            ui.warning(warning)
