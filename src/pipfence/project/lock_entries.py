"""Writing a resolution as a lock category, entry for entry as pipenv writes it: versions,
every file's sha256, ``index``, ``markers`` (propagated from each parent's and each edge's),
``extras``; path, file and git entries; and the entries whose marker is false here, resolved
for every platform or written unpinned as pipenv writes them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from packaging.requirements import Requirement

from pipfence.errors import PackageNotFound, ResolutionError
from pipfence.models.decision import Decision
from pipfence.models.listing import AllowedHashes
from pipfence.models.lockfile import LockedPackage
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
from pipfence.models.package_spec import PackageSpec
from pipfence.models.target import Target
from pipfence.project.adapters.fenced_source import FencedSource
from pipfence.project.direct_packages import DirectPackage
from pipfence.resolver.resolution import Resolution, ResolvedPackage

__all__ = ["category_entries"]


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
    name: str, direct: DirectPackage, spec: PackageSpec | None, environment: str | None
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


def _project_pythons(target: Target) -> list[str]:
    """Full versions standing for every release of the project's Python (its minor version:
    pipenv's ``python_version``), to tell markers no release of it meets."""
    version = target.python_version
    minor = f"{version.major}.{version.minor}"
    return [str(version), *(f"{minor}.{micro}" for micro in (0, 1, 99))]


def _unpinned_entry(spec: PackageSpec, direct: DirectPackage | None) -> LockedPackage:
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


def category_entries(
    resolution: Resolution,
    *,
    own: Sequence[PackageSpec],
    source: FencedSource,
    default_source: str,
    target: Target,
    resolve_anywhere: Callable[[Requirement, Target], Resolution],
    direct: Mapping[NormalizedName, DirectPackage],
    notices: list[str],
    packages: Sequence[PackageSpec] = (),
) -> dict[str, LockedPackage]:
    """The category of a table whose own entries are ``own``: what they need of
    ``resolution`` (served by ``source``), then those whose marker is false on ``target``,
    resolved by ``resolve_anywhere`` or written unpinned (said in ``notices``)."""
    category = _Category(
        specs={spec.key: spec for spec in own},
        in_packages={spec.key: spec for spec in packages},
        source=source,
        default_source=default_source,
        target=target,
        direct=direct,
    )
    category.add(resolution)
    # Entries whose marker is false here (e.g. Windows-only) are locked too, resolved without
    # their marker and with any common platform's wheels allowed, so the lock installs on the
    # platforms they are meant for. One whose marker no release of the project's Python meets,
    # or that cannot be resolved without its marker, is written as pipenv writes such entries:
    # unpinned and unhashed, with its marker (sync refuses it where its marker holds).
    pythons = _project_pythons(target)
    anywhere = target.on_every_platform()
    for requirement in resolution.skipped:
        name = canonical_name(requirement.name)
        spec = category.specs.get(name)
        if spec is None or name in category.done:
            continue
        marker = str(requirement.marker)
        unpinned = f"Could not find a matching version of {spec.name}; {marker} "
        if false_on_pythons(marker, pythons):
            notices.append(
                unpinned + f"on Python {target.python_version.major}."
                f"{target.python_version.minor}, which the project uses: it is locked "
                "unpinned, with its marker, and is not installed"
            )
            category.add_unpinned(spec)
            continue
        unmarked = Requirement(str(requirement))
        unmarked.marker = None
        try:
            found = resolve_anywhere(unmarked, anywhere)
        except (PackageNotFound, ResolutionError) as exc:
            notices.append(
                unpinned + f"for your environment ({exc}): it is locked unpinned, with its "
                "marker; an install where the marker holds will stop at it"
            )
            category.add_unpinned(spec)
            continue
        category.add(found)
    return category.entries


class _Category(msgspec.Struct, kw_only=True):
    """The entries of one category as they are added, and the names already written."""

    specs: Mapping[NormalizedName, PackageSpec]
    in_packages: Mapping[NormalizedName, PackageSpec]
    source: FencedSource
    default_source: str
    target: Target
    direct: Mapping[NormalizedName, DirectPackage]
    entries: dict[str, LockedPackage] = msgspec.field(default_factory=dict)
    done: set[NormalizedName] = msgspec.field(default_factory=set)

    def add(self, found: Resolution) -> None:
        """Write each package of ``found`` that the category's entries need (and that is
        not written yet)."""
        source, specs = self.source, self.specs
        environment = _environment_markers(
            found,
            specs,
            lambda parent: source.requires_of(parent, found.packages[parent].version),
            self.target.environment,
        )
        for name, package in found.packages.items():
            if name in self.done or not (found.roots(name) & specs.keys()):
                continue
            self.done.add(name)
            spec = specs.get(name)
            key = lock_key(spec.name if spec is not None else package.display_name)
            if name in self.direct:
                self.entries[key] = _direct_entry(name, self.direct[name], spec, environment[name])
                continue
            self.entries[key] = _entry(
                package,
                source.sha256_of(name, package.files),
                specs.get(name),
                source.origins.get(name),
                self.default_source,
                environment=environment[name],
                named_in_packages=self.in_packages.get(name),
            )

    def add_unpinned(self, spec: PackageSpec) -> None:
        self.entries[lock_key(spec.name)] = _unpinned_entry(spec, self.direct.get(spec.key))
