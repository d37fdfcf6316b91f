"""Checking a wheel's own ``Requires-Dist`` against the lock it is installed from: a wheel whose
metadata needs a project the lock does not list, or a version it does not pin, was resolved
from metadata that said otherwise (a PEP 658 file, say), and is refused before anything is
installed."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pipfence.errors import IntegrityError, UsageError
from pipfence.installer.satisfies import WantedDist
from pipfence.models.files import CoreMetadata
from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import Pipfile
from pipfence.models.target import Target

if TYPE_CHECKING:
    from pipfence.project.sync_types import Choice

__all__ = ["check_key", "check_wheels_against_lock", "requested_extras", "required_names"]

# A PEP 508 requirement's name, as `Requirement` reads it (PEP 508's identifier).
_LEADING_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?=\s*(?:$|[\[(;<>=!~@\s]))")


def requested_extras(lock: Lockfile, pipfile: Pipfile) -> dict[NormalizedName, set[str]]:
    """The extras the lock's entries and the Pipfile's lines ask of each package."""
    extras: dict[NormalizedName, set[str]] = {}
    for _category, package in lock.packages():
        listed = package.data.get("extras")
        if isinstance(listed, list):
            extras.setdefault(package.key, set()).update(str(e) for e in listed)
    for _table, spec in pipfile.iter_specs():
        if spec.extras:
            extras.setdefault(spec.key, set()).update(spec.extras)
    return extras


@functools.lru_cache(maxsize=1024)
def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


@functools.lru_cache(maxsize=1024)
def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def check_key(
    wheels: Sequence[tuple[NormalizedName, str]],
    *,
    target: Target,
    lock: Lockfile,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    requested_extras: Mapping[NormalizedName, set[str]],
) -> str:
    """A digest of everything `check_wheels_against_lock` decides from, ``wheels`` being
    each wheel's name and sha256 (which fixes its METADATA): equal keys, equal answers. A
    sync keeps the keys that passed (`pipfence.project.prepare`) and does not read the same
    wheels' metadata again for the same lock on the same target."""
    inputs = {
        "check": 1,
        "wheels": sorted(wheels),
        "environment": sorted(target.environment.items()),
        "python": str(target.python_version),
        # In the lock's order: the first category to list a package gives its version.
        "lock": [[package.key, package.version] for _category, package in lock.packages()],
        "wanted": sorted([key, w.version] for key, (w, _package) in wanted.items()),
        "extras": sorted([key, sorted(extras)] for key, extras in requested_extras.items()),
    }
    return hashlib.sha256(json.dumps(inputs, separators=(",", ":")).encode()).hexdigest()


def check_wheels_against_lock(
    fetched: Sequence[tuple[Choice, Path]],
    *,
    metadata_of: Callable[[Choice, Path], CoreMetadata | None],
    target: Target,
    lock: Lockfile,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    requested_extras: Mapping[NormalizedName, set[str]],
) -> None:
    """Refuse (`IntegrityError`, exit 3) a wheel whose own METADATA requires, on ``target``
    and with the extras asked of it (by the lock, the Pipfile, or another wheel being
    installed), a project the lock does not list or a version the lock does not pin."""
    versions: dict[NormalizedName, Version | None] = {}
    for _category, package in lock.packages():
        pinned = package.version
        versions.setdefault(package.key, _version_or_none(pinned))
    for key, (w, _package) in wanted.items():
        versions[key] = _version_or_none(w.version)
    read = [(c, metadata_of(c, p)) for c, p in fetched]
    extras = {key: set(value) for key, value in requested_extras.items()}
    # Extras one wheel asks of another (`b[x]`): they widen what b must bring.
    for choice, metadata in read:
        for text in () if metadata is None else metadata.requires_dist:
            if "[" not in text:
                continue
            requirement = _requirement(text)
            if requirement is None or not requirement.extras:
                continue
            own = extras.get(choice.wanted.name, ())
            if _applies(requirement, target, own):
                extras.setdefault(canonical_name(requirement.name), set()).update(
                    requirement.extras
                )
    locked_for = _locked_for(target, lock)
    for choice, metadata in read:
        if metadata is None:
            continue  # unreadable metadata is the installer's to refuse, with its own message
        own = extras.get(choice.wanted.name, set())
        for text in metadata.requires_dist:
            problem = _unmet(text, target=target, extras=own, versions=versions)
            if problem is not None:
                elsewhere = locked_for is not None and (
                    _unmet(text, target=locked_for, extras=own, versions=versions) is None
                )
                raise _refusal(choice, problem, target, locked_for if elsewhere else None)


def _refusal(
    choice: Choice, problem: str, target: Target, locked_for: Target | None
) -> UsageError | IntegrityError:
    """The error for a wheel that requires ``problem``: the environment's Python's doing when
    the lock, resolved for another one (``locked_for``), is enough there; else the metadata
    the lock was resolved from lied (exit 3)."""
    if locked_for is not None:
        return UsageError(
            f"`{choice.file.filename}` requires {problem} on the environment's Python "
            f"{target.environment['python_full_version']}; Pipfile.lock was resolved for "
            f"Python {locked_for.environment['python_version']} ([requires])",
            hint="`pipfence remove`, then `pipfence sync`, makes the environment with that "
            "Python; or change [requires] and run `pipfence lock`",
        )
    return IntegrityError(
        f"`{choice.file.filename}` from source `{choice.source.name}` requires "
        f"{problem}: the metadata the lock was resolved from does not match the wheel itself",
        hint="run `pipfence lock --clear` to resolve from the wheel itself; if that "
        "changes nothing, the index serves inconsistent metadata",
    )


def _locked_for(target: Target, lock: Lockfile) -> Target | None:
    """``target`` with the Python the lock's ``[requires]`` names, when that is another one
    than ``target``'s (its markers only: the platform and the wheel tags stay); else None."""
    requires = lock.meta.requires
    full = requires.get("python_full_version")
    minor = requires.get("python_version")
    if not isinstance(full, str) or not full:
        full = f"{minor}.0" if isinstance(minor, str) and minor else None
    version = _version_or_none(full)
    if version is None or version.release[:2] == target.python_version.release[:2]:
        return None
    environment = {
        **target.environment,
        "python_version": f"{version.major}.{version.minor}",
        "python_full_version": str(version),
    }
    return dataclasses.replace(target, environment=environment, python_version=version)


def _version_or_none(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _applies(requirement: Requirement, target: Target, extras: Collection[str]) -> bool:
    try:
        return requirement.marker is None or target.evaluate(requirement.marker, extras)
    except InvalidMarker:
        return False


def _unmet(
    text: str,
    *,
    target: Target,
    extras: Collection[str],
    versions: Mapping[NormalizedName, Version | None],
) -> str | None:
    """What the lock lacks for one Requires-Dist line (a phrase for the message), or None.

    Most lines name a locked project with at most a version specifier: the leading name and
    a cached `SpecifierSet` settle those, and the full PEP 508 parse (the costly part) is
    left for lines with markers, extras, URLs or unlocked names."""
    lead = _LEADING_NAME.match(text)
    if lead is not None:
        name = canonical_name(lead.group(0))
        rest = text[lead.end() :].strip()
        if name in versions and not any(c in rest for c in ";[@"):
            if rest.startswith("(") and rest.endswith(")"):
                rest = rest[1:-1].strip()
            specifier = _specifier(rest) if rest else SpecifierSet()
            if specifier is not None:
                return _version_unmet(text, name, specifier, versions[name])
    requirement = _requirement(text)
    if requirement is None or not _applies(requirement, target, extras):
        return None
    name = canonical_name(requirement.name)
    if name not in versions:
        return f"`{requirement}`, which Pipfile.lock does not list"
    return _version_unmet(text, name, requirement.specifier, versions[name])


def _version_unmet(
    text: str, name: NormalizedName, specifier: SpecifierSet, locked: Version | None
) -> str | None:
    if locked is None or not specifier or specifier.contains(locked, prereleases=True):
        return None
    return f"`{text.strip()}`, but Pipfile.lock pins `{name}` to {locked}"


def required_names(requires_dist: Iterable[str]) -> set[NormalizedName]:
    """The project names ``Requires-Dist`` lines name (their leading PEP 508 identifiers),
    whatever their markers: a cheap read of a package's edges."""
    return {
        canonical_name(lead.group(0))
        for text in requires_dist
        if (lead := _LEADING_NAME.match(text)) is not None
    }
