"""What the resolver handles (resolvelib's *requirements* and *candidates*): `Dependency`,
`Candidate`, a version's files (`Release`) and the identifiers that name them.

Identifiers are strings: a project's normalised name (``"requests"``), ``"name[a,b]"`` for the
same project with extras, and `PYTHON` for the target interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipfence.models.files import (
    CoreMetadata,
    DistFile,
    best_first,
    parsed_requirement,
)
from pipfence.models.names import NormalizedName, canonical_name

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pipfence.models.target import Target

__all__ = [
    "PYTHON",
    "Candidate",
    "Dependency",
    "Release",
    "identifier_of",
    "pinned",
    "python_specifier",
    "requires_dist",
    "split_identifier",
]


PYTHON = NormalizedName("<python>")
"""Identifier of the target Python; a version's ``Requires-Python`` becomes a dependency on it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependency:
    """A requirement as the resolver sees it (resolvelib's *requirement*).

    ``text`` is the requirement as written (``"b>=2; python_version < '3.12'"``), ``marker`` its
    marker alone, ``display_name`` the project name as written there. ``synthetic`` marks the
    pin an extras candidate puts on its own project; it is not a requirement anyone wrote.
    ``locked_by`` names the lock a direct requirement pins a version of (``[packages]``, whose
    versions another table is resolved with), for a conflict's message.
    """

    name: NormalizedName
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = field(default_factory=SpecifierSet, compare=False)
    # Compared and hashed instead of the SpecifierSet, whose hash is recomputed on every call.
    specifier_text: str = field(init=False, repr=False)
    # Versions this requirement pins exactly with ``==`` or ``===`` (no wildcards); the
    # resolver asks on every round, so it is worked out once.
    pins: frozenset[str] = field(init=False, repr=False, compare=False)
    text: str = field(default="", compare=False)
    marker: str | None = field(default=None, compare=False)
    display_name: str = field(default="", compare=False)
    synthetic: bool = field(default=False, compare=False)
    locked_by: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "specifier_text", str(self.specifier))
        pins = frozenset(
            spec.version
            for spec in self.specifier
            if spec.operator in {"==", "==="} and not spec.version.endswith(".*")
        )
        object.__setattr__(self, "pins", pins)

    @classmethod
    def from_requirement(
        cls, requirement: Requirement, text: str | None = None, *, locked_by: str | None = None
    ) -> Dependency:
        """From a parsed PEP 508 requirement; the caller has checked it has no URL."""
        return cls(
            locked_by=locked_by,
            name=canonical_name(requirement.name),
            extras=frozenset(canonicalize_name(extra) for extra in requirement.extras),
            specifier=requirement.specifier,
            text=text if text is not None else str(requirement),
            marker=str(requirement.marker) if requirement.marker is not None else None,
            display_name=requirement.name,
        )

    @property
    def identifier(self) -> str:
        return identifier_of(self.name, self.extras)

    @property
    def short(self) -> str:
        """``name[extras]specifier`` without the marker, for messages."""
        if self.name == PYTHON:
            return f"Python{self.specifier}"
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.display_name or self.name}{extras}{self.specifier}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One version of a project, maybe with extras (resolvelib's *candidate*).

    ``files`` are the files this resolution could install, best first (the wheel with the
    most preferred tag first, the sdist last); ``all_files`` every file of the version on the
    index, yanked and foreign-platform ones included, for the lock's hashes. Candidates
    compare by name, version and extras.
    """

    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()
    files: tuple[DistFile, ...] = field(default=(), compare=False)
    all_files: tuple[DistFile, ...] = field(default=(), compare=False)

    @property
    def identifier(self) -> str:
        return identifier_of(self.name, self.extras)


class Release:
    """A version's files: all of them, and those installable on the target, best first.

    Both are worked out on first use: a project page lists every version, and the resolver
    looks at a few of them (the source may not even have made the others' files yet).
    """

    __slots__ = ("_all", "_groups", "_installable", "_keys", "_target")

    def __init__(
        self, groups: Mapping[str, Sequence[DistFile]], keys: list[str], target: Target
    ) -> None:
        self._groups = groups
        self._keys = keys
        self._target = target
        self._all: tuple[DistFile, ...] | None = None
        self._installable: tuple[DistFile, ...] | None = None

    @property
    def all_files(self) -> tuple[DistFile, ...]:
        if self._all is None:
            self._all = tuple(file for key in self._keys for file in self._groups[key])
        return self._all

    @property
    def installable(self) -> tuple[DistFile, ...]:
        if self._installable is None:
            target = self._target
            self._installable = best_first(
                (f for f in self.all_files if target.allows_python(f.requires_python)), target
            )
        return self._installable

    def usable(self, *, allow_yanked: bool) -> tuple[DistFile, ...]:
        if allow_yanked:
            return self.installable
        return tuple(file for file in self.installable if not file.yanked)

    def unusable_reason(self, version: Version, *, allow_pre: bool, pins: set[str]) -> str | None:
        """Why this version is not offered, for error hints; None when it is usable."""
        if not self.installable:
            if any(not self._target.allows_python(f.requires_python) for f in self.all_files):
                wanted = next(f.requires_python for f in self.all_files if f.requires_python)
                return f"requires Python {wanted} (target: {self._target.python_version})"
            return "has no wheel for this platform and no sdist"
        if not self.usable(allow_yanked=pinned(version, pins)):
            return "is yanked (pin it with `==` to use it)"
        if version.is_prerelease and not allow_pre:
            return "is a pre-release (pre-releases are not allowed)"
        return None


def identifier_of(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def split_identifier(identifier: str) -> tuple[NormalizedName, frozenset[str]]:
    name, _bracket, rest = identifier.partition("[")
    extras = frozenset(rest.rstrip("]").split(",")) if rest else frozenset[str]()
    return NormalizedName(name), extras


def pinned(version: Version, pins: set[str] | frozenset[str]) -> bool:
    for pin in pins:
        try:
            if Version(pin) == version:
                return True
        except InvalidVersion:
            if pin == str(version):  # `===` compares strings
                return True
    return False


def python_specifier(requires_python: str | None) -> SpecifierSet:
    # Only called when allows_python() said no, so the specifier parsed there.
    return SpecifierSet(requires_python or "")


def requires_dist(
    candidate: Candidate, metadata: CoreMetadata, target: Target, warn: Callable[[str], None]
) -> list[Dependency]:
    """The candidate's ``Requires-Dist`` entries that hold on ``target`` (with its extras),
    as dependencies. An extras candidate takes only the entries its extras add. Entries that
    cannot be used (unparsable, a marker that cannot be evaluated, a direct reference) and
    extras the version does not provide are passed to ``warn``, one sentence each."""

    def applies(requirement: Requirement, extras: tuple[str, ...]) -> bool:
        return requirement.marker is None or target.evaluate(requirement.marker, extras)

    dependencies: list[Dependency] = []
    extras_used: set[str] = set()
    where = f"`{candidate.name}` {candidate.version}"
    for text in metadata.requires_dist:
        requirement = parsed_requirement(text)
        if requirement is None:
            warn(f"{where}: ignored invalid requirement {text!r}")
            continue
        try:
            if candidate.extras:
                needed = [e for e in candidate.extras if applies(requirement, (e,))]
                if not needed or applies(requirement, ()):
                    continue  # the plain project's candidate already depends on it
                extras_used.update(needed)
            elif not applies(requirement, ()):
                continue
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
            warn(f"{where}: ignored requirement {text!r} ({exc})")
            continue
        if requirement.url:
            warn(f"{where}: ignored direct reference {requirement.name!r}")
            continue
        dependencies.append(Dependency.from_requirement(requirement, text))
    declared = {canonicalize_name(extra) for extra in metadata.provides_extra}
    for extra in sorted(candidate.extras - extras_used - declared):
        warn(f"{where} does not provide the extra `{extra}`")
    return dependencies
