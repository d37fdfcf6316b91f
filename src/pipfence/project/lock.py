"""`lock`: resolve the Pipfile into a Pipfile.lock, each package from its one fenced index."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import msgspec
from packaging.version import InvalidVersion, Version

from pipfence.errors import LockfileError, UsageError
from pipfence.models.decision import Decision
from pipfence.models.lockfile import LockedPackage, Lockfile, Meta, lock_changes
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import Pipfile, lock_category, pipfile_hash
from pipfence.models.target import Target
from pipfence.project.environment import interpreter_version
from pipfence.project.lock_memo import GroupLock, LockMemo, LockPolicy, MemoStore
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.models.fence import Fence
    from pipfence.project.adapters.fenced_source import IndexReader
    from pipfence.project.session import Session

__all__ = ["LockOptions", "LockReport", "lock", "lock_pipfile_text", "relock"]


class LockOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What `pipfence lock` was asked: pre-releases, and which Pipfile tables to lock."""

    pre: bool = False
    tables: Sequence[str] | None = None
    #: Versions to keep while they still fit (name → version, from the lock an edit starts
    #: from), so that adding, removing or updating one package moves nothing it need not.
    keep: Mapping[str, str] = msgspec.field(default_factory=dict)


class LockReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a lock did, for the CLI to tell."""

    lockfile: Lockfile
    packages: int
    seconds: float
    origins: Mapping[NormalizedName, Decision]
    warnings: tuple[str, ...] = ()
    #: Always shown: what the fence let through only because its confusion check is off, and
    #: entries locked unpinned because they cannot be resolved where their marker holds.
    fence_warnings: tuple[str, ...] = ()
    #: What moved against the lock on disk, one line a package (`lock_changes`).
    changes: tuple[str, ...] = ()
    #: Whether every group's lock was recalled unchanged (`LockMemo`) rather than resolved.
    recalled: bool = False


def lock(
    session: Session,
    options: LockOptions,
    *,
    on_fetch: Callable[[str], None] | None = None,
    write: bool = True,
) -> LockReport:
    """Resolve ``project``'s Pipfile and, when ``write``, write Pipfile.lock atomically.

    Each table is resolved with ``[packages]``' requirements alongside, so shared packages get
    the same version in every category, and only what the table's own entries need is
    written to its category. Tables not being locked keep their entries from the existing
    lock. Raises `PipfileError`, `UsageError`, `FenceError`, `PackageNotFound`,
    `IndexServerError`, `ResolutionError`; nothing is written then.
    """
    started = time.monotonic()
    project, client = session.project, session.client
    before = _current_lock(project)
    pipfile = project.pipfile
    target = Target.current(
        pipfile.requires.get("python_version"),
        pipfile.requires.get("python_full_version"),
        interpreter=interpreter_version(project),
    )
    policy = _policy(pipfile, options)
    tables = _tables_to_lock(pipfile, options)
    previous = project.read_lock() if options.tables else None
    found = _Found()
    if previous is not None:
        found.categories.update({k: dict(v) for k, v in previous.categories.items()})
    # Tables that pin one package to different sources are resolved apart, each under its
    # own fence; usually this is one group holding every table.
    for group in pipfile.fence_groups(tables):
        found.add(
            _lock_group(project, client, group, target=target, policy=policy, on_fetch=on_fetch)
        )
    lockfile = _lockfile(project, found, previous)
    if write:
        from pipfence.project.export import stage_with_pylock

        stage_with_pylock(project, client, lock=lockfile).commit()
    return LockReport(
        lockfile=lockfile,
        packages=len(found.total),
        seconds=time.monotonic() - started,
        origins=found.origins,
        warnings=tuple(found.warnings),
        fence_warnings=tuple(found.fence_warnings),
        changes=tuple(lock_changes(before, lockfile)),
        recalled=bool(found.recalled) and all(found.recalled),
    )


def _lockfile(project: Project, found: _Found, previous: Lockfile | None) -> Lockfile:
    """The lock of what ``found`` holds, with its ``_meta`` from the Pipfile."""
    pipfile = project.pipfile
    for name in ("default", "develop"):
        found.categories.setdefault(name, {})
    return Lockfile(
        meta=Meta(
            hash=pipfile_hash(pipfile.data),
            sources=pipfile.effective_sources,
            requires=pipfile.requires,
        ),
        categories=found.categories,
        newline=previous.newline if previous else _newline_of(project),
    )


def relock(
    session: Session,
    *,
    pre: bool,
    on_fetch: Callable[[str], None] | None,
    keep: Mapping[str, str] | None = None,
) -> LockReport:
    """Lock without writing, keeping the versions in ``keep`` while they fit: what a command
    that edits the Pipfile or installs stages, to write it with the rest (`together`)."""
    options = LockOptions(pre=pre, keep=dict(keep or {}))
    return lock(session, options, on_fetch=on_fetch, write=False)


def lock_pipfile_text(
    session: Session, text: str, *, on_fetch: Callable[[str], None] | None = None
) -> Lockfile:
    """The lock ``text`` would get as the project's Pipfile, fenced as any lock; nothing is
    written (`pylock --from-pyproject` locks a pyproject.toml's dependencies this way)."""
    edited = session.with_project(session.project.with_pipfile_text(text))
    return relock(edited, pre=False, on_fetch=on_fetch).lockfile


def _policy(pipfile: Pipfile, options: LockOptions) -> LockPolicy:
    cool_down = pipfile.cool_down
    return LockPolicy(
        options.pre or pipfile.setting("allow_prereleases"),
        _preferred(options.keep),
        uploaded_before=None if cool_down is None else dt.datetime.now(dt.UTC) - cool_down,
    )


def _tables_to_lock(pipfile: Pipfile, options: LockOptions) -> list[str]:
    """The tables ``options`` names (each one the Pipfile must have, but for the two
    standard ones), or every table of the Pipfile."""
    tables = list(options.tables) if options.tables else list(pipfile.categories)
    for table in tables:
        if table not in pipfile.categories and table not in ("packages", "dev-packages"):
            raise UsageError(f"the Pipfile has no [{table}] table to lock")
    return tables


class _Found(msgspec.Struct):
    """What the groups of one lock found, gathered: categories, names, origins, warnings."""

    categories: dict[str, dict[str, LockedPackage]] = msgspec.field(default_factory=dict)
    total: set[NormalizedName] = msgspec.field(default_factory=set)
    origins: dict[NormalizedName, Decision] = msgspec.field(default_factory=dict)
    warnings: list[str] = msgspec.field(default_factory=list)
    fence_warnings: list[str] = msgspec.field(default_factory=list)
    recalled: list[bool] = msgspec.field(default_factory=list)

    def add(self, group: GroupLock) -> None:
        self.recalled.append(group.recalled)
        for table, entries in group.entries.items():
            self.categories[lock_category(table)] = entries
            self.total.update(NormalizedName(n) for n in entries)
        self.warnings.extend(w for w in group.warnings if w not in self.warnings)
        self.fence_warnings.extend(w for w in group.fence_warnings if w not in self.fence_warnings)
        self.origins.update(group.origins)


def _lock_group(
    project: Project,
    client: IndexReader,
    tables: Sequence[str],
    *,
    target: Target,
    policy: LockPolicy,
    on_fetch: Callable[[str], None] | None,
) -> GroupLock:
    """Resolve ``tables`` (with ``[packages]`` alongside) under their one fence; or, when
    nothing it is made of has changed since the last time, recall that lock (`LockMemo`)."""
    fence = project.pipfile.fence(tables)
    memo = _memo(project, client, fence=fence, tables=tables, target=target, policy=policy)
    recalled = memo.recall() if memo is not None else None
    if recalled is not None:
        return recalled
    from pipfence.project.lock_group import resolve_group_lock

    return resolve_group_lock(
        project,
        client,
        tables,
        fence=fence,
        target=target,
        policy=policy,
        on_fetch=on_fetch,
        memo=memo,
    )


def _memo(
    project: Project,
    client: IndexReader,
    *,
    fence: Fence,
    tables: Sequence[str],
    target: Target,
    policy: LockPolicy,
) -> LockMemo | None:
    if not isinstance(client, MemoStore):
        return None
    pipfile = project.pipfile
    return LockMemo.of(
        client,
        pipfile_path=project.pipfile_path,
        pipfile_data=pipfile.data,
        fence=fence,
        routes=project.settings.routes,
        tables=tables,
        specs=[s for t in ("packages", *tables) for s in pipfile.categories.get(t, {}).values()],
        target=target,
        policy=policy,
    )


def _current_lock(project: Project) -> Lockfile | None:
    """The lock on disk, to tell what moved; None when there is none or it cannot be read
    (a lock is being made to replace it)."""
    try:
        return project.read_lock()
    except LockfileError:
        return None


def _newline_of(project: Project) -> str:
    try:
        existing = project.lock_path.read_bytes()
    except FileNotFoundError:
        return "\n"
    return "\r\n" if b"\r\n" in existing else "\n"


def _preferred(keep: Mapping[str, str]) -> dict[NormalizedName, Version]:
    preferred: dict[NormalizedName, Version] = {}
    for name, text in keep.items():
        try:
            preferred[canonical_name(name)] = Version(text.removeprefix("=="))
        except InvalidVersion:
            continue
    return preferred
