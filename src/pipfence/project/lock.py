"""`lock`: resolve the Pipfile into a Pipfile.lock, each package from its one fenced index."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from pipfence.errors import (
    LockfileError,
    PackageNotFound,
    PipfenceError,
    ResolutionError,
    UsageError,
)
from pipfence.installer.build import temp_dir
from pipfence.models.decision import Decision
from pipfence.models.files import CoreMetadata, DistFile
from pipfence.models.lockfile import LockedPackage, Lockfile, Meta, lock_changes
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.package_spec import PackageSpec
from pipfence.models.pipfile import (
    COOL_DOWN_SETTING,
    Pipfile,
    lock_category,
    pipfile_hash,
)
from pipfence.models.references import DirectRef
from pipfence.models.target import Target
from pipfence.project.adapters.fenced_builds import project_builds
from pipfence.project.adapters.fenced_source import FencedSource, IndexReader
from pipfence.project.concurrency import paused_gc
from pipfence.project.direct_packages import DirectPackage, direct_packages
from pipfence.project.environment import interpreter_version
from pipfence.project.lock_entries import category_entries
from pipfence.project.project import Project
from pipfence.resolver.resolution import Resolution
from pipfence.resolver.resolve import resolve

if TYPE_CHECKING:
    from pipfence.project.session import Session

__all__ = ["LockOptions", "LockReport", "lock", "lock_pipfile_text", "relock"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """What `pipfence lock` was asked: pre-releases, and which Pipfile tables to lock."""

    pre: bool = False
    tables: Sequence[str] | None = None
    #: Versions to keep while they still fit (name → version, from the lock an edit starts
    #: from), so that adding, removing or updating one package moves nothing it need not.
    keep: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Policy:
    """How every resolution of one lock chooses: pre-releases, and versions to keep."""

    allow_pre: bool
    preferred: Mapping[NormalizedName, Version]
    #: ``[pipenv] cool-down-period``: files uploaded at this time or later are not taken.
    uploaded_before: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LockReport:
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


def _requirement(spec: PackageSpec) -> Requirement:
    return spec.requirement()


def _table_specs(pipfile: Pipfile, table: str) -> list[PackageSpec]:
    return list(pipfile.categories.get(table, {}).values())


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
    for name in ("default", "develop"):
        found.categories.setdefault(name, {})
    lockfile = Lockfile(
        meta=Meta(
            hash=pipfile_hash(pipfile.data),
            sources=pipfile.effective_sources,
            requires=pipfile.requires,
        ),
        categories=found.categories,
        newline=previous.newline if previous else _newline_of(project),
    )
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


def _policy(pipfile: Pipfile, options: LockOptions) -> _Policy:
    cool_down = pipfile.cool_down
    return _Policy(
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _GroupLock:
    """The lock entries of tables that share one fence, and what their resolution said."""

    entries: dict[str, dict[str, LockedPackage]]
    origins: Mapping[NormalizedName, Decision]
    warnings: list[str]
    fence_warnings: list[str]


@dataclass(slots=True)
class _Found:
    """What the groups of one lock found, gathered: categories, names, origins, warnings."""

    categories: dict[str, dict[str, LockedPackage]] = field(default_factory=dict)
    total: set[NormalizedName] = field(default_factory=set)
    origins: dict[NormalizedName, Decision] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    fence_warnings: list[str] = field(default_factory=list)

    def add(self, group: _GroupLock) -> None:
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
    policy: _Policy,
    on_fetch: Callable[[str], None] | None,
) -> _GroupLock:
    """Resolve ``tables`` (with ``[packages]`` alongside) under their one fence."""
    pipfile = project.pipfile
    fence = pipfile.fence(tables)
    default_specs = _table_specs(pipfile, "packages")
    own_specs = {table: _table_specs(pipfile, table) for table in tables}
    builds = project_builds(project, client, tables=tables, uploaded_before=policy.uploaded_before)
    with contextlib.ExitStack() as stack:
        stack.enter_context(paused_gc())
        tmp = Path(stack.enter_context(temp_dir(project.settings.cache_dir / "tmp", "lock-")))
        direct = direct_packages(
            project, {"packages": default_specs, **own_specs}, client, builds, tmp
        )
        source = stack.enter_context(
            FencedSource(
                client,
                fence,
                project.settings.routes,
                target,
                on_fetch=on_fetch,
                sdist_metadata=builds.sdist_metadata,
                direct=_stand_ins(direct),
                uploaded_before=policy.uploaded_before,
            )
        )
        resolutions = _resolve_group(
            project, own_specs, default_specs, source=source, target=target, policy=policy
        )
        warnings: list[str] = []
        notices: list[str] = []
        entries: dict[str, dict[str, LockedPackage]] = {}
        for table, resolution in resolutions.items():
            warnings.extend(w for w in resolution.warnings if w not in warnings)
            entries[table] = category_entries(
                resolution,
                own=own_specs[table],
                source=source,
                default_source=fence.default.name,
                target=target,
                resolve_anywhere=lambda r, t: _fenced_resolve([r], source, t, policy),
                direct={**direct["packages"], **direct[table]},
                notices=notices,
                packages=default_specs,
            )
        return _GroupLock(
            entries=entries,
            origins=dict(source.origins),
            warnings=warnings,
            fence_warnings=[*source.warnings(), *dict.fromkeys(notices)],
        )


def _stand_ins(
    direct: Mapping[str, Mapping[NormalizedName, DirectPackage]],
) -> dict[NormalizedName, tuple[DistFile, CoreMetadata]]:
    """What the resolver sees of each path, file and git entry: a stand-in file and the
    metadata built from it (the first table's, where two tables have one name)."""
    stand_ins: dict[NormalizedName, tuple[DistFile, CoreMetadata]] = {}
    for by_name in direct.values():
        for name, found in by_name.items():
            stand_ins.setdefault(name, (found.file, found.metadata))
    return stand_ins


def _resolve_group(
    project: Project,
    own_specs: Mapping[str, Sequence[PackageSpec]],
    default_specs: Sequence[PackageSpec],
    *,
    source: FencedSource,
    target: Target,
    policy: _Policy,
) -> dict[str, Resolution]:
    """`_resolve_tables`, every top-level page asked for first, and a failure explained."""
    # Every top-level page is fetched at once; the workers then walk each one's
    # dependencies (see FencedSource) while the resolver starts on the first.
    top = [*default_specs, *(s for specs in own_specs.values() for s in specs)]
    source.prefetch_pages(list(dict.fromkeys(s.key for s in top if s.is_named)))
    try:
        return _resolve_tables(own_specs, default_specs, source, target, policy)
    except ResolutionError as exc:
        _explain_missing_python(project, exc)
        _explain_cool_down(project, exc)
        raise
    except PackageNotFound as exc:
        _explain_cool_down(project, exc)
        raise


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


def _explain_missing_python(project: Project, failure: ResolutionError) -> None:
    """When nothing resolves and the Python the Pipfile asks for is not installed here either,
    say that (exit 2) rather than only that no version matched: it is the likelier cause."""
    from pipfence.project.environment import find_python

    requires = project.pipfile.requires
    wanted = requires.get("python_full_version") or requires.get("python_version")
    if not wanted:
        return
    try:
        find_python(str(wanted), project.settings)
    except UsageError:
        raise UsageError(
            f"nothing resolves for Python {wanted}, which [requires] asks for and which is not "
            f"installed here ({failure})",
            hint=f"check [requires] in the Pipfile, or install Python {wanted}",
        ) from failure


def _explain_cool_down(project: Project, failure: PipfenceError) -> None:
    """Add to a failure that a ``cool-down-period`` is set: the versions it holds back may
    be the ones that were needed."""
    cool_down = project.pipfile.cool_down
    if cool_down is None:
        return
    why = (
        f'[pipenv] {COOL_DOWN_SETTING} = "{cool_down.days}d" leaves out the files uploaded '
        f"in the last {cool_down.days} days"
    )
    failure.hint = why if failure.hint is None else f"{why}; else: {failure.hint}"


def _resolve_tables(
    own_specs: Mapping[str, Sequence[PackageSpec]],
    default_specs: Sequence[PackageSpec],
    source: FencedSource,
    target: Target,
    policy: _Policy,
) -> dict[str, Resolution]:
    """One resolution per table, with ``[packages]`` alongside every other table.

    All tables are first resolved together, which gives every category the same versions and
    costs one pass; only when they conflict is each table resolved on its own (with
    ``[packages]``), as pipenv does.
    """
    merged: dict[NormalizedName, PackageSpec] = {spec.key: spec for spec in default_specs}
    clash = False
    for specs in own_specs.values():
        for spec in specs:
            if spec.key in merged and _differ(merged[spec.key], spec):
                clash = True
            merged.setdefault(spec.key, spec)
    if not clash:
        try:
            together = _fenced_resolve(
                [_requirement(s) for s in merged.values()], source, target, policy
            )
        except ResolutionError:
            pass
        else:
            return dict.fromkeys(own_specs, together)
    # Each table on its own: [packages] first, and every other table resolved with
    # [packages]' requirements and its pinned versions as constraints, as pipenv constrains
    # dev packages by the default ones (so `six = "*"` in [dev-packages] beside
    # `six = "==1.16.0"` in [packages] locks 1.16.0 in both).
    default = (
        _fenced_resolve([_requirement(s) for s in default_specs], source, target, policy)
        if default_specs
        else None
    )
    pins = [
        Requirement(f"{package.name}=={package.version}")
        for package in (default.packages.values() if default is not None else ())
    ]
    resolutions: dict[str, Resolution] = {}
    for table, own in own_specs.items():
        if table == "packages" and default is not None:
            resolutions[table] = default
            continue
        specs = own if table == "packages" else _merge(default_specs, own)
        resolutions[table] = _fenced_resolve(
            [*(_requirement(s) for s in specs), *pins], source, target, policy
        )
    return resolutions


def _differ(first: PackageSpec, second: PackageSpec) -> bool:
    """Whether two tables' entries for one name ask for something different (a version,
    extras, markers, or another path or checkout), so they cannot share one resolution."""
    if first.is_named and second.is_named:
        return first.version != second.version or first.extras != second.extras
    return first.is_named != second.is_named or (
        DirectRef.from_spec(first) != DirectRef.from_spec(second)
    )


def _fenced_resolve(
    requirements: Sequence[Requirement], source: FencedSource, target: Target, policy: _Policy
) -> Resolution:
    """`resolve`, then every dependency's index checked against the final graph (the fence's
    rule 3 judged by the parents the resolution kept)."""
    resolution = resolve(
        requirements,
        source,
        target,
        allow_prereleases=policy.allow_pre,
        preferred=policy.preferred,
    )
    source.verify(resolution)
    return resolution


def _preferred(keep: Mapping[str, str]) -> dict[NormalizedName, Version]:
    preferred: dict[NormalizedName, Version] = {}
    for name, text in keep.items():
        try:
            preferred[canonical_name(name)] = Version(text.removeprefix("=="))
        except InvalidVersion:
            continue
    return preferred


def _merge(first: Iterable[PackageSpec], second: Iterable[PackageSpec]) -> list[PackageSpec]:
    merged = {spec.key: spec for spec in first}
    merged.update({spec.key: spec for spec in second})
    return list(merged.values())
