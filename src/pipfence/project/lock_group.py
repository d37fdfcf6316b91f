"""A lock's resolving part: one group of tables resolved under its one fence, then written as
lock entries. `lock` comes here only when the lock cannot be recalled (`LockMemo`), so a
recalled lock loads none of the resolver, builder or installer code this imports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from packaging.requirements import Requirement

from pipfence.errors import PackageNotFound, PipfenceError, ResolutionError, UsageError
from pipfence.installer.build import temp_dir
from pipfence.models.fence import Fence
from pipfence.models.files import CoreMetadata, DistFile
from pipfence.models.lockfile import LockedPackage
from pipfence.models.names import NormalizedName
from pipfence.models.package_spec import PackageSpec
from pipfence.models.pipfile import COOL_DOWN_SETTING, Pipfile
from pipfence.models.references import DirectRef
from pipfence.models.target import Target
from pipfence.models.urls import shown_url
from pipfence.project.adapters.fenced_builds import project_builds
from pipfence.project.adapters.fenced_source import FencedSource, IndexReader
from pipfence.project.concurrency import paused_gc
from pipfence.project.direct_packages import DirectPackage, direct_packages
from pipfence.project.lock_entries import category_entries
from pipfence.project.lock_memo import GroupLock, LockMemo, LockPolicy
from pipfence.project.project import Project
from pipfence.resolver.resolution import Resolution
from pipfence.resolver.resolve import resolve

__all__ = ["resolve_group_lock", "table_specs"]


def table_specs(pipfile: Pipfile, table: str) -> list[PackageSpec]:
    """The entries of one Pipfile table, in file order (none for a table it lacks)."""
    return list(pipfile.categories.get(table, {}).values())


def _requirement(spec: PackageSpec) -> Requirement:
    return spec.requirement()


def resolve_group_lock(
    project: Project,
    client: IndexReader,
    tables: Sequence[str],
    *,
    fence: Fence,
    target: Target,
    policy: LockPolicy,
    on_fetch: Callable[[str], None] | None,
    memo: LockMemo | None = None,
) -> GroupLock:
    """Resolve ``tables`` under ``fence``; then ``memo`` remembers the lock."""
    pipfile = project.pipfile
    default_specs = table_specs(pipfile, "packages")
    own_specs = {table: table_specs(pipfile, table) for table in tables}
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
        group = _group_lock(
            resolutions,
            source,
            own_specs,
            direct,
            default_specs=default_specs,
            target=target,
            policy=policy,
            fence=fence,
        )
        pages = source.pages_read() if memo is not None else None
    if memo is not None and pages is not None:
        memo.remember(group, pages)
    return group


def _group_lock(
    resolutions: Mapping[str, Resolution],
    source: FencedSource,
    own_specs: Mapping[str, Sequence[PackageSpec]],
    direct: Mapping[str, Mapping[NormalizedName, DirectPackage]],
    *,
    default_specs: Sequence[PackageSpec],
    target: Target,
    policy: LockPolicy,
    fence: Fence,
) -> GroupLock:
    """Each table's resolution as its lock entries, with what the resolutions and the fence
    had to say."""
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
    return GroupLock(
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
    policy: LockPolicy,
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
        _explain_mirror(project, exc)
        _explain_cool_down(project, exc)
        raise


def _explain_missing_python(project: Project, failure: ResolutionError) -> None:
    """When nothing resolves and the Python the Pipfile asks for is not installed here either,
    say that (exit 2) rather than only that no version matched: it is the likelier cause."""
    from pipfence.project.pythons import find_python

    requires = project.pipfile.requires
    wanted = requires.get("python_full_version") or requires.get("python_version")
    if not wanted:
        return
    try:
        find_python(str(wanted), project.settings)
    except UsageError as unusable:  # not found, or found and too old to use (Python 2)
        raise UsageError(
            f"nothing resolves for Python {wanted}, which [requires] asks for ({failure}); "
            f"nor can pipfence use that Python here: {unusable}",
            hint=f"check [requires] in the Pipfile, or install Python {wanted}",
        ) from failure


def _explain_mirror(project: Project, failure: PackageNotFound) -> None:
    """Add where the requests went when the source that lacks the package is mirrored: the
    message names the source by the URL the Pipfile writes, which was not asked."""
    sources = {s.name: s for s in project.pipfile.effective_sources}
    source = sources.get(failure.source or "")
    if source is None:
        return
    route = project.settings.routes.route(source)
    if not route.mirrored:
        return
    via = "the PyPI mirror" if route.via == "the PyPI mirror" else "its mirror"
    where = f"{via} {shown_url(route.template)}"
    if via == "its mirror":
        where += f" (from {route.via})"
    failure.message = f"{failure.message}, asked through {where}"


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
    policy: LockPolicy,
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
            [_requirement(s) for s in specs], source, target, policy, locked=pins
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
    requirements: Sequence[Requirement],
    source: FencedSource,
    target: Target,
    policy: LockPolicy,
    *,
    locked: Sequence[Requirement] = (),
) -> Resolution:
    """`resolve`, then every dependency's index checked against the final graph (the fence's
    rule 3 judged by the parents the resolution kept); ``locked`` are `[packages]`' pins."""
    resolution = resolve(
        requirements,
        source,
        target,
        allow_prereleases=policy.allow_pre,
        preferred=policy.preferred,
        locked={"[packages]": locked} if locked else None,
    )
    source.verify(resolution)
    return resolution


def _merge(first: Iterable[PackageSpec], second: Iterable[PackageSpec]) -> list[PackageSpec]:
    merged = {spec.key: spec for spec in first}
    merged.update({spec.key: spec for spec in second})
    return list(merged.values())
