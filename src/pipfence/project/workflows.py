"""The commands' use cases, each all-or-nothing: install, sync, uninstall, update, clean.

Every command that writes holds the project's lock (`project_lock`: a file lock in the cache,
keyed by the project's path) so two pipfence commands on one project run one after the other.
A use case that changes the environment and the Pipfile or lock computes the new files first
and writes them beside the old ones, changes the environment, then swaps the files in; when
any step fails, the environment and both files are left as they were (`_together`).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.errors import LockfileError, LockfileMissing
from pipfence.installer.plan import PROTECTED
from pipfence.installer.satisfies import InstalledDist
from pipfence.installer.venv import VirtualEnv
from pipfence.models.lockfile import Lockfile, check_lock_entries
from pipfence.models.names import canonical_name
from pipfence.models.pipfile import Pipfile, lock_category
from pipfence.project.environment import (
    check_python,
    open_or_create_env,
    replaced_python,
    system_env,
    unpacked_cache,
)
from pipfence.project.files import FileSet
from pipfence.project.project import Project
from pipfence.project.serial import project_lock
from pipfence.project.sync import (
    ProgressSink,
    SyncOptions,
    SyncReport,
    check_lock_against_pipfile,
    sync,
    warm_unpacked_cache,
)

if TYPE_CHECKING:
    from pipfence.index.client import IndexClient
    from pipfence.installer.wheel import EnvChange
    from pipfence.project.adapters.direct import DirectRef
    from pipfence.project.edits import PipfileChange
    from pipfence.project.lock import LockReport
    from pipfence.project.references import DirectEntry


def stage_with_pylock(
    project: Project,
    client: IndexClient,
    *,
    pipfile_text: str | None = None,
    lock: Lockfile | None = None,
) -> FileSet:
    """`pipfence.project.export.stage_with_pylock`, imported when a command writes."""
    from pipfence.project.export import stage_with_pylock as stage

    return stage(project, client, pipfile_text=pipfile_text, lock=lock)


__all__ = [
    "EnvTarget",
    "InstallResult",
    "clean",
    "install",
    "install_packages",
    "project_lock",
    "sync_lock",
    "uninstall_packages",
    "update",
]


@contextlib.contextmanager
def _together(files: FileSet) -> Iterator[EnvChange]:
    """Make the environment change done in the block and the staged ``files`` take effect
    together: the files are swapped in when the block succeeds, and when that fails the
    environment change is undone; when the block fails the staged files are dropped."""
    from pipfence.installer.wheel import EnvChange

    try:
        with EnvChange() as change:
            yield change
            files.commit()
    finally:
        files.discard()


def _lock(
    project: Project,
    client: IndexClient,
    *,
    pre: bool,
    on_fetch: Callable[[str], None] | None,
    keep: Mapping[str, str] | None = None,
) -> LockReport:
    """Lock without writing, keeping the versions in ``keep`` while they fit; the resolver
    is imported only by commands that lock (a sync of a current lock never does)."""
    from pipfence.project.lock import LockOptions, lock

    options = LockOptions(pre=pre, keep=dict(keep or {}))
    return lock(project, client, options, on_fetch=on_fetch, write=False)


def _locked_versions(project: Project, *, leave: Iterable[str] = ()) -> dict[str, str]:
    """The versions the lock on disk pins (the first category's where two differ), but for
    the names in ``leave``: what an edit keeps, as pipenv keeps the other locked versions when
    one package is added, removed or updated. Empty without a readable lock."""
    try:
        current = project.read_lock()
    except LockfileError:
        return {}
    left = {canonical_name(name) for name in leave}
    kept: dict[str, str] = {}
    for _category, package in current.packages() if current is not None else ():
        if package.version is not None and package.key not in left:
            kept.setdefault(package.key, package.version)
    return kept


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvTarget:
    """Where a command installs: the project's environment (``site_packages``: pipenv's
    ``--site-packages`` / ``--no-site-packages``, None when not given) or, with ``system``,
    the interpreter on PATH (``--system``)."""

    system: bool = False
    site_packages: bool | None = None


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What an install-like command did."""

    lock: LockReport | None
    sync: SyncReport | None
    change: PipfileChange | None = None
    #: ``--skip-lock``: the resolution was installed, not written to Pipfile.lock.
    skipped_lock: bool = False
    #: Distributions taken out of the environment without a sync (`uninstall`), as
    #: ``- name==1.0`` lines.
    env_removed: tuple[str, ...] = ()


def sync_lock(
    project: Project,
    client: IndexClient,
    lockfile: Lockfile,
    categories: Sequence[str],
    *,
    python: str | None = None,
    remove_extraneous: bool = False,
    on_progress: ProgressSink | None = None,
    change: EnvChange | None = None,
    target: EnvTarget | None = None,
) -> SyncReport:
    """Install ``lockfile``'s ``categories`` into the project's environment (made when
    missing; replaced first when ``--python`` asks for another Python), or into the
    interpreter ``target.system`` picks (`system_env`)."""
    target = target or EnvTarget()
    # A lock the fence refuses, or a malformed one, must not even create the environment.
    check_lock_entries(lockfile, categories)
    check_lock_against_pipfile(project.pipfile, lockfile, categories)
    cache = unpacked_cache(project)
    if target.system:
        return sync(
            project,
            client,
            lockfile,
            SyncOptions(categories=categories, remove_extraneous=remove_extraneous),
            env=system_env(project, python=python),
            created=False,
            cache=cache,
            on_progress=on_progress,
            change=change,
        )
    old_python = replaced_python(project, python)
    location = project.venv_path()
    aside = location.with_name(f"{location.name}.pipfence-replaced") if old_python else None
    if aside is not None:
        # `--python` asks for another Python: a new environment, the old one kept aside
        # until the sync has succeeded.
        shutil.rmtree(aside, ignore_errors=True)
        location.rename(aside)
    try:
        warming = None
        if not (location / "pyvenv.cfg").is_file():
            # A new environment: its interpreter's subprocess runs while a thread checks the
            # cache entries the sync is about to use.
            warming = threading.Thread(
                target=warm_unpacked_cache,
                args=(cache, lockfile, categories),
                name="pipfence-warm-cache",
                daemon=True,
            )
            warming.start()
        try:
            env, created = open_or_create_env(
                project, python=python, cache=cache, site_packages=target.site_packages
            )
        finally:
            if warming is not None:
                warming.join()
        report = sync(
            project,
            client,
            lockfile,
            SyncOptions(categories=categories, remove_extraneous=remove_extraneous),
            env=env,
            created=created,
            cache=cache,
            on_progress=on_progress,
            change=change,
        )
    except BaseException:
        if aside is not None:
            shutil.rmtree(location, ignore_errors=True)
            aside.rename(location)
        raise
    if aside is None:
        return report
    shutil.rmtree(aside, ignore_errors=True)
    note = f"replaced the environment's Python {old_python} with Python {env.python_version}"
    return replace(report, warnings=(note, *report.warnings))


def install(
    project: Project,
    client: IndexClient,
    *,
    categories: Sequence[str],
    deploy: bool = False,
    pre: bool = False,
    python: str | None = None,
    on_fetch: Callable[[str], None] | None = None,
    target: EnvTarget | None = None,
    skip_lock: bool = False,
    on_progress: ProgressSink | None = None,
) -> InstallResult:
    """`pipfence install` with no packages: lock when the lock is missing or stale (refused
    with ``deploy``), then sync. With ``skip_lock`` the Pipfile is resolved afresh, whatever
    the lock says, and installed without writing the lock (see `docs/moving-from-pipenv.md`
    for what that still checks)."""
    target = target or EnvTarget()
    lockfile = project.read_lock()
    report = None
    if not target.system:
        check_python(project, python=python)
    if deploy:
        lockfile = project.require_current_lock()
    elif skip_lock or lockfile is None or not project.lock_state(lockfile).current:
        report = _lock(project, client, pre=pre, on_fetch=on_fetch)
        lockfile = report.lockfile
    new_pipfile = project.pending_pipfile_text if project.is_new else None
    files = stage_with_pylock(
        project,
        client,
        pipfile_text=new_pipfile,
        lock=report.lockfile if report is not None and not skip_lock else None,
    )
    with _together(files) as change:
        result = sync_lock(
            project,
            client,
            lockfile,
            categories,
            python=python,
            change=change,
            target=target,
            on_progress=on_progress,
        )
    return InstallResult(report, result, skipped_lock=skip_lock)


def _install_items(
    project: Project,
    client: IndexClient,
    packages: Sequence[str],
    editable: Sequence[str],
) -> list[str | DirectEntry]:
    """The arguments of `install`: requirements as given, and each path or URL (and each
    ``-e`` folder) as the Pipfile entry pipenv writes for it."""
    from packaging.requirements import InvalidRequirement

    from pipfence.models.references import Reference, parse_install_argument
    from pipfence.project.adapters.direct import project_fetcher
    from pipfence.project.references import direct_entry, metadata_namer

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


def _install_change(
    project: Project,
    client: IndexClient,
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
        items = _install_items(project, client, named, editables)
        groups.append(([i for i in items if isinstance(i, str)], sources.pin))
        groups.append(([i for i in items if not isinstance(i, str)], None))
    groups.append((_install_items(project, client, packages, editable), index))
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
    project: Project,
    client: IndexClient,
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
    target = target or EnvTarget()
    change = _install_change(
        project,
        client,
        packages,
        editable,
        tables=tables,
        index=index,
        requirements=requirements,
    )
    if not target.system:
        check_python(project, python=python)
    edited = project.with_pipfile_text(change.text, extra_environ=change.credentials)
    keep = {} if skip_lock else _locked_versions(project, leave=change.names)
    report = _lock(edited, client, pre=pre, on_fetch=on_fetch, keep=keep)
    categories = list(dict.fromkeys(["default", *(lock_category(t) for t in tables)]))
    files = stage_with_pylock(
        project, client, pipfile_text=change.text, lock=None if skip_lock else report.lockfile
    )
    with _together(files) as env_change:
        result = sync_lock(
            edited,
            client,
            report.lockfile,
            categories,
            python=python,
            change=env_change,
            target=target,
            on_progress=on_progress,
        )
    return InstallResult(report, result, change, skipped_lock=skip_lock)


def uninstall_packages(
    project: Project,
    client: IndexClient,
    packages: Sequence[str],
    *,
    tables: Sequence[str],
    editable: Sequence[str] = (),
    pre: bool = False,
    on_fetch: Callable[[str], None] | None = None,
) -> InstallResult:
    """`pipfence uninstall PKG…` (and ``-e PATH``, named by the project at PATH, as the
    entry `install -e PATH` wrote): remove from the Pipfile and the environment, re-lock;
    all three change together or not at all."""
    names = list(packages)
    names += [
        item.name
        for item in _install_items(project, client, (), editable)
        if not isinstance(item, str)
    ]
    from pipfence.project.edits import remove_packages

    change = remove_packages(project.pipfile_text(), project.pipfile, names, tables=list(tables))
    edited = project.with_pipfile_text(change.text)
    kept = _locked_versions(project, leave=change.names)
    report = _lock(edited, client, pre=pre, on_fetch=on_fetch, keep=kept)
    env_path = project.venv_path()
    files = stage_with_pylock(project, client, pipfile_text=change.text, lock=report.lockfile)
    removed: list[str] = []
    with _together(files) as env_change:
        if (env_path / "pyvenv.cfg").is_file():
            env = VirtualEnv.open(env_path)
            keep = {canonical_name(p.name) for _c, p in report.lockfile.packages()}
            installed = env.installed()
            for name in change.names:
                dist = installed.get(canonical_name(name))
                if dist is not None and dist.name not in keep:
                    env_change.set_aside(dist, env)
                    removed.append(f"- {dist.name}=={dist.version}")
    return InstallResult(report, None, change, env_removed=tuple(sorted(removed)))


def update(
    project: Project,
    client: IndexClient,
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
    edit: PipfileChange | None = None
    keep: dict[str, str] = {}
    edited = project
    if packages or editable or requirements is not None:
        edit = _update_change(
            project, client, packages, editable, requirements=requirements, tables=tables
        )
        keep = _locked_versions(project, leave=edit.names)
        if edit.text != project.pipfile_text():
            edited = project.with_pipfile_text(edit.text, extra_environ=edit.credentials)
    report = _lock(edited, client, pre=pre, on_fetch=on_fetch, keep=keep)
    result = None
    pipfile_text = edit.text if edit is not None and edited is not project else None
    files = stage_with_pylock(project, client, pipfile_text=pipfile_text, lock=report.lockfile)
    with _together(files) as change:
        if not write_only:
            result = sync_lock(
                edited,
                client,
                report.lockfile,
                categories,
                python=python,
                change=change,
                on_progress=on_progress,
            )
    return InstallResult(report, result, edit)


def _update_change(
    project: Project,
    client: IndexClient,
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

    added = PipfileChange(project.pipfile_text(), (), (), {})
    if editable or requirements is not None:
        added = _install_change(
            project, client, (), editable, tables=tables, index=None, requirements=requirements
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


def _existing_env(project: Project) -> VirtualEnv:
    from pipfence.project.installed import require_env

    return require_env(project)


def extraneous(project: Project) -> list[str]:
    """Installed distributions that no category of the lock lists (pip and friends aside).
    Without a lock, an environment holding nothing else has nothing extraneous (pipenv's
    `clean` of a fresh environment succeeds); one holding packages is refused, since
    nothing says which of them to keep."""
    lockfile = project.read_lock()
    if not (project.venv_path() / "pyvenv.cfg").is_file():
        return []  # no environment: nothing is installed, so nothing is extraneous
    installed = _existing_env(project).installed()
    if lockfile is None:
        if all(name in PROTECTED for name in installed):
            return []
        raise LockfileMissing(hint="run `pipfence lock` first")
    wanted = {canonical_name(p.name) for _c, p in lockfile.packages()}
    return sorted(n for n in installed if n not in wanted and n not in PROTECTED)


def clean(project: Project) -> tuple[InstalledDist, ...]:
    """`pipfence clean`: uninstall what no category of the lock lists (pip, setuptools and
    wheel stay, as pipenv keeps them); return what was removed (nothing, and nothing
    created, when the project has no environment)."""
    names = extraneous(project)
    if not names:
        return ()
    env = _existing_env(project)
    installed = env.installed()
    removed = tuple(installed[canonical_name(name)] for name in names)
    from pipfence.installer.wheel import EnvChange

    with EnvChange() as change:
        for dist in removed:
            change.set_aside(dist, env)
    return removed


def uninstall_all(project: Project) -> tuple[InstalledDist, ...]:
    """`pipfence uninstall --all`: empty the environment (pip and friends stay); the Pipfile
    and the lock are left alone, as pipenv leaves them. Returns what was removed."""
    env = _existing_env(project)
    removed: list[InstalledDist] = []
    from pipfence.installer.wheel import EnvChange

    with EnvChange() as change:
        for name, dist in sorted(env.installed().items()):
            if name not in PROTECTED:
                change.set_aside(dist, env)
                removed.append(dist)
    return tuple(removed)


def lock_pipfile_text(
    project: Project,
    client: IndexClient,
    text: str,
    *,
    on_fetch: Callable[[str], None] | None = None,
) -> Lockfile:
    """The lock ``text`` would get as the project's Pipfile, fenced as any lock; nothing is
    written (`pylock --from-pyproject` locks a pyproject.toml's dependencies this way)."""
    return _lock(project.with_pipfile_text(text), client, pre=False, on_fetch=on_fetch).lockfile
