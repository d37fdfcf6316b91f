"""`lock`: resolve the Pipfile into a Pipfile.lock, each package from its one fenced index."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from pipfence.models.fence import AllowedHashes, Decision
from pipfence.models.files import CoreMetadata, DistFile
from pipfence.models.lockfile import LockedPackage, Lockfile, Meta, lock_changes
from pipfence.models.markers import (
    all_of,
    any_of,
    edge_marker,
    false_on_pythons,
    lock_marker,
    pipfile_marker,
    quoted,
)
from pipfence.models.names import NormalizedName, canonical_name, lock_key
from pipfence.models.pipfile import (
    COOL_DOWN_SETTING,
    PackageSpec,
    Pipfile,
    lock_category,
    pipfile_hash,
)
from pipfence.models.target import Target
from pipfence.models.urls import shown_url
from pipfence.project.adapters.direct import DirectRef, project_fetcher
from pipfence.project.adapters.fenced_builds import Builds, check_built, project_builds
from pipfence.project.adapters.fenced_source import FencedSource, IndexReader
from pipfence.project.concurrency import paused_gc, worker_pool
from pipfence.project.environment import interpreter_version
from pipfence.project.project import Project
from pipfence.resolver.resolution import Resolution, ResolvedPackage
from pipfence.resolver.resolve import resolve

__all__ = ["LockOptions", "LockReport", "lock"]


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


def _direct_packages(
    project: Project,
    table_specs: Mapping[str, Iterable[PackageSpec]],
    client: IndexReader,
    builds: Builds,
    tmp: Path,
) -> dict[str, dict[NormalizedName, _Direct]]:
    """Fetch and build the metadata of every path, file and git entry (concurrently): table
    → name → what its entry there gives. The same reference in two tables is fetched once;
    two entries that differ in their options (``editable``, ``extras``, …) stay apart, so
    each table's lock entry keeps its own."""
    fetcher = project_fetcher(project, client)
    refs = {
        table: {spec.key: DirectRef.from_spec(spec) for spec in specs if not spec.is_named}
        for table, specs in table_specs.items()
    }
    unique = list(dict.fromkeys(ref for by_name in refs.values() for ref in by_name.values()))

    def one(position: int, ref: DirectRef) -> _Direct:
        fetched = fetcher.fetch(ref, tmp / f"{ref.key}-{position}")
        what = f"`{ref.name}` ({shown_url(ref.location)})"
        if fetched.archive is not None and fetched.sha256 is not None:
            metadata = builds.archive_metadata(fetched.archive, fetched.sha256, name=ref.name)
        elif fetched.tree is not None:
            metadata = builds.tree_metadata(fetched.tree, name=ref.name, key=fetched.cache_key)
        else:  # pragma: no cover - fetch always gives one of the two
            raise UsageError(f"{what} could not be fetched")
        check_built(metadata, ref.key, what)
        stand_in = DistFile(
            filename=f"{ref.key.replace('-', '_')}-{metadata.version}.tar.gz",
            url=str(fetched.direct_url["url"]),
            requires_python=metadata.requires_python,
        )
        return _Direct(ref=ref, data=ref.lock_data(fetched), file=stand_in, metadata=metadata)

    if not unique:
        return {table: {} for table in refs}
    with worker_pool("pipfence-direct", 8) as pool:
        done = dict(zip(unique, pool.map(one, range(len(unique)), unique), strict=True))
    return {
        table: {name: done[ref] for name, ref in by_name.items()} for table, by_name in refs.items()
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class _Direct:
    ref: DirectRef
    data: dict[str, Any]
    file: DistFile
    metadata: CoreMetadata


def _environment_markers(
    resolution: Resolution,
    specs: Mapping[NormalizedName, PackageSpec],
    requires_of: Callable[[NormalizedName], Sequence[str] | None] = lambda _name: None,
    environment: Mapping[str, str] | None = None,
) -> dict[NormalizedName, str | None]:
    """Where each package is needed: a direct entry's own markers, a dependency's the union
    over the edges into it of (the edge's marker and the parent's), as pipenv propagates them.
    ``requires_of`` gives a parent's ``Requires-Dist`` (see `edge_marker`), ``environment``
    the target's marker environment. None means everywhere."""
    memo: dict[NormalizedName, str | None] = {}
    visiting: set[NormalizedName] = set()

    def of(name: NormalizedName) -> str | None:
        if name in memo:
            return memo[name]
        if name in visiting:
            return None
        visiting.add(name)
        spec = specs.get(name)
        if spec is not None:
            result = quoted(spec.markers) if spec.markers else None
        else:
            alternatives: list[str | None] = []
            for edge in resolution.packages[name].required_by:
                if edge.parent is None:
                    alternatives.append(None)
                    continue
                marker = edge_marker(edge.marker, name, requires_of(edge.parent), environment or {})
                alternatives.append(all_of(quoted(marker) if marker else None, of(edge.parent)))
            if not alternatives or any(a is None for a in alternatives):
                result = None
            else:
                result = any_of([a for a in alternatives if a is not None])
        visiting.discard(name)
        memo[name] = result
        return result

    return {name: of(name) for name in resolution.packages}


def _markers(
    package: ResolvedPackage, spec: PackageSpec | None, environment: str | None
) -> str | None:
    """The entry's ``markers`` as pipenv writes them (`lock_marker`): a Pipfile entry's own,
    a dependency's ``environment`` (see `_environment_markers`), with its Requires-Python."""
    requires = {f.requires_python for f in package.files if f.requires_python}
    python = requires.pop() if len(requires) == 1 else None
    if spec is not None:
        own, os_name = pipfile_marker(spec.marker_parts)
        return lock_marker(own, python, direct=True, os_name=os_name)
    return lock_marker(environment, python, direct=False)


def _entry(
    package: ResolvedPackage,
    hashes: Mapping[str, str],
    /,
    spec: PackageSpec | None,
    origin: Decision | None,
    default_source: str,
    *,
    environment: str | None = None,
    named_in_packages: PackageSpec | None = None,
) -> LockedPackage:
    data: dict[str, Any] = {
        "hashes": AllowedHashes.of(hashes.values()).to_lock(),
        "version": f"=={package.version}",
    }
    source = origin.source.name if origin else default_source
    # pipenv writes `index` for string entries (the default source) and for tables that name
    # one, but not for a string entry whose name has a dot (`"zope.event" = "*"`: its lookup
    # by normalised name misses); in another category, a package the category does not name
    # takes what its [packages] entry gives (`named_in_packages`), as pipenv copies it there.
    # pipfence adds it wherever the package came from a non-default source.
    named = spec if spec is not None else named_in_packages
    string_entry = named is not None and not named.is_table and "." not in named.name
    if (named is not None and named.index is not None) or string_entry or source != default_source:
        data["index"] = source
    markers = _markers(package, spec, environment)
    if markers:
        data["markers"] = markers
    # A Pipfile entry's own extras; a dependency the Pipfile does not name gets the extras
    # its parents require of it (`coverage[toml]`), as pipenv writes them.
    extras = spec.extras if spec is not None else package.extras
    if extras:
        data["extras"] = sorted(extras)
    return LockedPackage(name=package.name, data=data)


def _direct_entry(
    name: str, direct: _Direct, spec: PackageSpec | None, environment: str | None
) -> LockedPackage:
    """A path, file or git entry as pipenv writes it: no version, no index."""
    data = dict(direct.data)
    if spec is not None:
        own, os_name = pipfile_marker(spec.marker_parts)
        environment = lock_marker(own, None, direct=True, os_name=os_name)
    if environment:
        data["markers"] = environment
    if direct.ref.extras:
        data["extras"] = sorted(direct.ref.extras)
    return LockedPackage(name=name, data=data)


def lock(
    project: Project,
    client: IndexReader,
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
    before = _current_lock(project)
    pipfile = project.pipfile
    target = Target.current(
        pipfile.requires.get("python_version"),
        pipfile.requires.get("python_full_version"),
        interpreter=interpreter_version(project),
    )
    cool_down = pipfile.cool_down
    policy = _Policy(
        options.pre or pipfile.setting("allow_prereleases"),
        _preferred(options.keep),
        uploaded_before=None if cool_down is None else dt.datetime.now(dt.UTC) - cool_down,
    )
    tables = list(options.tables) if options.tables else list(pipfile.categories)
    for table in tables:
        if table not in pipfile.categories and table not in ("packages", "dev-packages"):
            raise UsageError(f"the Pipfile has no [{table}] table to lock")
    previous = project.read_lock() if options.tables else None

    default_specs = _table_specs(pipfile, "packages")
    categories: dict[str, dict[str, LockedPackage]] = {}
    if previous is not None:
        categories.update({k: dict(v) for k, v in previous.categories.items()})
    warnings: list[str] = []
    fence_warnings: list[str] = []
    total: set[NormalizedName] = set()
    origins: dict[NormalizedName, Decision] = {}
    # Tables that pin one package to different sources are resolved apart, each under its
    # own fence; usually this is one group holding every table.
    for group in pipfile.fence_groups(tables):
        found = _lock_group(
            project,
            client,
            group,
            default_specs=default_specs,
            target=target,
            policy=policy,
            on_fetch=on_fetch,
        )
        for table, entries in found.entries.items():
            categories[lock_category(table)] = entries
            total.update(NormalizedName(n) for n in entries)
        warnings.extend(w for w in found.warnings if w not in warnings)
        fence_warnings.extend(w for w in found.fence_warnings if w not in fence_warnings)
        origins.update(found.origins)

    meta = Meta(
        hash=pipfile_hash(pipfile.data),
        sources=pipfile.effective_sources,
        requires=pipfile.requires,
    )
    for name in ("default", "develop"):
        categories.setdefault(name, {})
    lockfile = Lockfile(
        meta=meta,
        categories=categories,
        newline=previous.newline if previous else _newline_of(project),
    )
    if write:
        from pipfence.project.export import stage_with_pylock

        stage_with_pylock(project, client, lock=lockfile).commit()
    return LockReport(
        lockfile=lockfile,
        packages=len(total),
        seconds=time.monotonic() - started,
        origins=origins,
        warnings=tuple(warnings),
        fence_warnings=tuple(fence_warnings),
        changes=tuple(lock_changes(before, lockfile)),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _GroupLock:
    """The lock entries of tables that share one fence, and what their resolution said."""

    entries: dict[str, dict[str, LockedPackage]]
    origins: Mapping[NormalizedName, Decision]
    warnings: list[str]
    fence_warnings: list[str]


def _lock_group(
    project: Project,
    client: IndexReader,
    tables: Sequence[str],
    *,
    default_specs: Sequence[PackageSpec],
    target: Target,
    policy: _Policy,
    on_fetch: Callable[[str], None] | None,
) -> _GroupLock:
    """Resolve ``tables`` (with ``[packages]`` alongside) under their one fence."""
    pipfile = project.pipfile
    fence = pipfile.fence(tables)
    own_specs = {table: _table_specs(pipfile, table) for table in tables}
    warnings: list[str] = []
    entries: dict[str, dict[str, LockedPackage]] = {}
    builds = project_builds(project, client, tables=tables, uploaded_before=policy.uploaded_before)
    with contextlib.ExitStack() as stack:
        stack.enter_context(paused_gc())
        tmp = Path(stack.enter_context(temp_dir(project.settings.cache_dir / "tmp", "lock-")))
        direct = _direct_packages(
            project,
            {"packages": default_specs, **own_specs},
            client,
            builds,
            tmp,
        )
        stand_ins: dict[NormalizedName, tuple[DistFile, CoreMetadata]] = {}
        for by_name in direct.values():
            for name, found in by_name.items():
                stand_ins.setdefault(name, (found.file, found.metadata))
        source = stack.enter_context(
            FencedSource(
                client,
                fence,
                project.settings.routes,
                target,
                on_fetch=on_fetch,
                sdist_metadata=builds.sdist_metadata,
                direct=stand_ins,
                uploaded_before=policy.uploaded_before,
            )
        )
        # Every top-level page is fetched at once; the workers then walk each one's
        # dependencies (see FencedSource) while the resolver starts on the first.
        top = [*default_specs, *(s for specs in own_specs.values() for s in specs)]
        source.prefetch_pages(list(dict.fromkeys(s.key for s in top if s.is_named)))
        try:
            resolutions = _resolve_tables(own_specs, default_specs, source, target, policy)
        except ResolutionError as exc:
            _explain_missing_python(project, exc)
            _explain_cool_down(project, exc)
            raise
        except PackageNotFound as exc:
            _explain_cool_down(project, exc)
            raise
        notices: list[str] = []
        for table, resolution in resolutions.items():
            warnings.extend(w for w in resolution.warnings if w not in warnings)
            entries[table] = _category(
                resolution,
                own=own_specs[table],
                source=source,
                default_source=fence.default.name,
                target=target,
                policy=policy,
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


def _category(
    resolution: Resolution,
    *,
    own: Sequence[PackageSpec],
    source: FencedSource,
    default_source: str,
    target: Target,
    policy: _Policy,
    direct: Mapping[NormalizedName, _Direct],
    notices: list[str],
    packages: Sequence[PackageSpec] = (),
) -> dict[str, LockedPackage]:
    specs = {spec.key: spec for spec in own}
    in_packages = {spec.key: spec for spec in packages}
    entries: dict[str, LockedPackage] = {}
    done: set[NormalizedName] = set()

    def add(found: Resolution) -> None:
        environment = _environment_markers(
            found,
            specs,
            lambda parent: source.requires_of(parent, found.packages[parent].version),
            target.environment,
        )
        for name, package in found.packages.items():
            if name in done or not (found.roots(name) & specs.keys()):
                continue
            done.add(name)
            spec = specs.get(name)
            key = lock_key(spec.name if spec is not None else package.display_name)
            if name in direct:
                entries[key] = _direct_entry(name, direct[name], spec, environment[name])
                continue
            entries[key] = _entry(
                package,
                source.sha256_of(name, package.files),
                specs.get(name),
                source.origins.get(name),
                default_source,
                environment=environment[name],
                named_in_packages=in_packages.get(name),
            )

    add(resolution)
    # Entries whose marker is false here (e.g. Windows-only) are locked too, resolved without
    # their marker and with any common platform's wheels allowed, so the lock installs on the
    # platforms they are meant for. One whose marker no release of the project's Python meets,
    # or that cannot be resolved without its marker, is written as pipenv writes such entries:
    # unpinned and unhashed, with its marker (sync refuses it where its marker holds).
    pythons = _project_pythons(target)
    anywhere = target.on_every_platform()
    for requirement in resolution.skipped:
        name = canonical_name(requirement.name)
        spec = specs.get(name)
        if spec is None or name in done:
            continue
        marker = str(requirement.marker)
        unpinned = f"Could not find a matching version of {spec.name}; {marker} "
        if false_on_pythons(marker, pythons):
            notices.append(
                unpinned + f"on Python {target.python_version.major}."
                f"{target.python_version.minor}, which the project uses: it is locked "
                "unpinned, with its marker, and is not installed"
            )
            entries[lock_key(spec.name)] = _unpinned_entry(spec, direct.get(name))
            continue
        unmarked = Requirement(str(requirement))
        unmarked.marker = None
        try:
            found = _fenced_resolve([unmarked], source, anywhere, policy)
        except (PackageNotFound, ResolutionError) as exc:
            notices.append(
                unpinned + f"for your environment ({exc}): it is locked unpinned, with its "
                "marker; an install where the marker holds will stop at it"
            )
            entries[lock_key(spec.name)] = _unpinned_entry(spec, direct.get(name))
            continue
        add(found)
    return entries


def _project_pythons(target: Target) -> list[str]:
    """Full versions standing for every release of the project's Python (its minor version:
    pipenv's ``python_version``), to tell markers no release of it meets."""
    version = target.python_version
    minor = f"{version.major}.{version.minor}"
    return [str(version), *(f"{minor}.{micro}" for micro in (0, 1, 99))]


def _unpinned_entry(spec: PackageSpec, direct: _Direct | None) -> LockedPackage:
    """An entry that is never resolved, as pipenv writes it: its marker, and its version as
    the Pipfile gives it (``*``), or its path, file or git reference."""
    own, os_name = pipfile_marker(spec.marker_parts)
    markers = lock_marker(own, None, direct=True, os_name=os_name)
    if direct is not None:
        return _direct_entry(spec.key, direct, spec, None)
    data: dict[str, Any] = {"version": spec.version}
    if markers:
        data["markers"] = markers
    if spec.index is not None:
        data["index"] = spec.index
    if spec.extras:
        data["extras"] = sorted(spec.extras)
    return LockedPackage(name=spec.key, data=data)
