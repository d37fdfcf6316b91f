"""`install`: with no packages, lock when the lock is missing or stale, then sync; with
packages (``PKG``, ``-e PATH``, ``-r FILE``), add them to the Pipfile, lock and sync. The
Pipfile, the lock and the environment change together or not at all (`together`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from pipfence.models.pipfile import Pipfile, lock_category
from pipfence.project.environment import check_python
from pipfence.project.sync_lock import EnvTarget, sync_lock
from pipfence.project.transaction import locked_versions, stage_with_pylock, together

if TYPE_CHECKING:
    from pipfence.installer.ahead_check import AheadCheck
    from pipfence.models.references import DirectRef
    from pipfence.project.direct_entries import DirectEntry
    from pipfence.project.edits import PipfileChange
    from pipfence.project.lock import LockReport
    from pipfence.project.session import Session
    from pipfence.project.sync import SyncReport
    from pipfence.project.sync_types import ProgressSink

__all__ = ["InstallResult", "install", "install_change", "install_items", "install_packages"]


class InstallResult(msgspec.Struct, frozen=True):
    """What an install-like command did."""

    lock: LockReport | None
    sync: SyncReport | None
    change: PipfileChange | None = None
    #: ``--skip-lock``: the resolution was installed, not written to Pipfile.lock.
    skipped_lock: bool = False
    #: Distributions taken out of the environment without a sync (`uninstall`), as
    #: ``- name==1.0`` lines.
    env_removed: tuple[str, ...] = ()


def install(
    session: Session,
    *,
    categories: Sequence[str],
    deploy: bool = False,
    pre: bool = False,
    python: str | None = None,
    on_fetch: Callable[[str], None] | None = None,
    target: EnvTarget | None = None,
    skip_lock: bool = False,
    on_progress: ProgressSink | None = None,
    ahead: AheadCheck | None = None,
) -> InstallResult:
    """`pipfence install` with no packages: lock when the lock is missing or stale (refused
    with ``deploy``), then sync. With ``skip_lock`` the Pipfile is resolved afresh, whatever
    the lock says, and installed without writing the lock (see `docs/moving-from-pipenv.md`
    for what that still checks). ``ahead``: see `sync_lock`."""
    from pipfence.project.lock import relock

    project = session.project
    target = target or EnvTarget()
    lockfile = project.read_lock()
    report = None
    if not target.system:
        check_python(project, python=python)
    if deploy:
        lockfile = project.require_current_lock()
    elif skip_lock or lockfile is None or not project.lock_state(lockfile).current:
        report = relock(session, pre=pre, on_fetch=on_fetch)
        lockfile = report.lockfile
    new_pipfile = project.pending_pipfile_text if project.is_new else None
    files = stage_with_pylock(
        session,
        pipfile_text=new_pipfile,
        lock=report.lockfile if report is not None and not skip_lock else None,
    )
    with together(files) as change:
        result = sync_lock(
            session,
            lockfile,
            categories,
            python=python,
            change=change,
            target=target,
            on_progress=on_progress,
            ahead=ahead,
        )
    return InstallResult(report, result, skipped_lock=skip_lock)


def install_items(
    session: Session, packages: Sequence[str], editable: Sequence[str]
) -> list[str | DirectEntry]:
    """The arguments of `install`: requirements as given, and each path or URL (and each
    ``-e`` folder) as the Pipfile entry pipenv writes for it."""
    from packaging.requirements import InvalidRequirement

    from pipfence.models.references import Reference, parse_install_argument
    from pipfence.project.adapters.direct import project_fetcher
    from pipfence.project.direct_entries import direct_entry, metadata_namer

    project, client = session.project, session.client
    namer = None

    def name_of(ref: DirectRef, tmp: Path) -> str:
        nonlocal namer
        if namer is None:
            from pipfence.project.adapters.fenced_builds import project_builds

            fetcher = project_fetcher(project, client)
            namer = metadata_namer(fetcher, project_builds(project, client))
        return namer(ref, tmp)

    items: list[str | DirectEntry] = []
    arguments = [(a, False) for a in packages] + [(a, True) for a in editable]
    for argument, is_editable in arguments:
        try:
            parsed = parse_install_argument(argument, editable=is_editable)
        except InvalidRequirement:
            items.append(argument)  # `add_packages` reports what does not parse
            continue
        if isinstance(parsed, Reference):
            items.append(direct_entry(parsed, project, metadata_name=name_of))
        else:
            items.append(argument)
    return items


def install_change(
    session: Session,
    packages: Sequence[str],
    editable: Sequence[str],
    *,
    tables: Sequence[str],
    index: str | None,
    requirements: Path | None,
) -> PipfileChange:
    """The Pipfile edit of `install`: the requirements file's sources and packages first
    (its named packages pinned to its ``--index-url`` where that is not the default), then
    the command line's packages (pinned to ``index`` when given)."""
    from pipfence.project.edits import PipfileChange, add_packages_to_tables
    from pipfence.project.requirements_import import (
        read_requirements,
        split_lines,
        with_requirement_sources,
    )

    project = session.project
    text = project.pipfile_text()
    notes: list[str] = []
    credentials: dict[str, str] = {}
    groups: list[tuple[list[str | DirectEntry], str | None]] = []
    if requirements is not None:
        imported = read_requirements(requirements, cwd=project.settings.cwd)
        sources = with_requirement_sources(project, text, imported)
        text = sources.text
        notes.extend(sources.notes)
        credentials.update(sources.credentials)
        named, editables = split_lines(imported.requirements)
        items = install_items(session, named, editables)
        groups.append(([i for i in items if isinstance(i, str)], sources.pin))
        groups.append(([i for i in items if not isinstance(i, str)], None))
    groups.append((install_items(session, packages, editable), index))
    names: list[str] = []
    for items, pin in groups:
        if not items:
            continue
        change = add_packages_to_tables(
            text,
            Pipfile.parse(text),
            items,
            tables=tables,
            index=pin,
            environ={**credentials, **project.settings.environ},
        )
        text = change.text
        names.extend(change.names)
        notes.extend(change.notes)
        credentials.update(change.credentials)
    return PipfileChange(text, tuple(names), tuple(notes), credentials)


def install_packages(
    session: Session,
    packages: Sequence[str],
    *,
    tables: Sequence[str],
    index: str | None,
    editable: Sequence[str] = (),
    requirements: Path | None = None,
    pre: bool = False,
    python: str | None = None,
    on_fetch: Callable[[str], None] | None = None,
    target: EnvTarget | None = None,
    skip_lock: bool = False,
    on_progress: ProgressSink | None = None,
) -> InstallResult:
    """`pipfence install PKG…` (and ``-e PATH``, ``-r FILE``): add to each of ``tables`` (in
    the order given, as pipenv's ``--categories "a b"``), lock, sync ``[packages]`` and those
    tables; the Pipfile, the lock and the environment change together or not at all. With
    ``skip_lock`` the lock file is left as it was (the resolution is made and checked all the
    same, and not kept)."""
    from pipfence.project.lock import relock

    project = session.project
    target = target or EnvTarget()
    change = install_change(
        session, packages, editable, tables=tables, index=index, requirements=requirements
    )
    if not target.system:
        check_python(project, python=python)
    edited = session.with_project(
        project.with_pipfile_text(change.text, extra_environ=change.credentials)
    )
    keep = {} if skip_lock else locked_versions(project, leave=change.names)
    report = relock(edited, pre=pre, on_fetch=on_fetch, keep=keep)
    categories = list(dict.fromkeys(["default", *(lock_category(t) for t in tables)]))
    files = stage_with_pylock(
        session, pipfile_text=change.text, lock=None if skip_lock else report.lockfile
    )
    with together(files) as env_change:
        result = sync_lock(
            edited,
            report.lockfile,
            categories,
            python=python,
            change=env_change,
            target=target,
            on_progress=on_progress,
        )
    return InstallResult(report, result, change, skipped_lock=skip_lock)
