"""The environment a resolution is for: marker values, the Python version and wheel tags.

A `Target` holds values only; nothing in it looks at the running interpreter except
`Target.current`, which is the one place that probes (through `packaging.markers` and
`packaging.tags`). Everything else — the resolver, the lock — gets a `Target` passed in, so a
test can describe any platform as plain data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, generic_tags, interpreter_name
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Target"]

_MINOR_VERSION = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What a resolution is for, as values.

    ``environment`` is the PEP 508 marker environment (``python_version``,
    ``python_full_version``, ``sys_platform``, ``platform_system``, ``platform_machine``,
    ``platform_release``, ``platform_version``, ``os_name``, ``implementation_name``,
    ``implementation_version``, ``platform_python_implementation``). It should be complete:
    `evaluate` layers it over packaging's defaults, so a missing key would silently take the
    running interpreter's value.

    ``python_version`` is what ``Requires-Python`` (PEP 345, core metadata) and the simple API's
    ``data-requires-python`` (PEP 503) are checked against.

    ``tags`` are the supported wheel tags (PEP 425), most preferred first; a wheel is
    installable when one of its tags is among them, and better the earlier that tag comes.
    """

    environment: Mapping[str, str]
    python_version: Version
    tags: tuple[Tag, ...]
    _tag_rank: Mapping[Tag, int] = field(init=False, repr=False, compare=False)
    # Memos: a lock asks about the same few tag sets and Requires-Python strings per file of
    # every project page, hundreds of thousands of times.
    _rank_memo: dict[frozenset[Tag], int | None] = field(init=False, repr=False, compare=False)
    _python_memo: dict[str, bool] = field(init=False, repr=False, compare=False)
    # A lock's entries share a few marker texts; a sync evaluates each entry's.
    _marker_memo: dict[tuple[str, tuple[str, ...]], bool] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        rank: dict[Tag, int] = {}
        for index, tag in enumerate(self.tags):
            rank.setdefault(tag, index)
        # A frozen dataclass sets derived fields through object.__setattr__.
        object.__setattr__(self, "_tag_rank", MappingProxyType(rank))
        object.__setattr__(self, "_rank_memo", {})
        object.__setattr__(self, "_python_memo", {})
        object.__setattr__(self, "_marker_memo", {})
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))

    @classmethod
    def current(
        cls,
        python_version: str | None = None,
        python_full_version: str | None = None,
        *,
        interpreter: str | None = None,
    ) -> Target:
        """The running interpreter and platform, retargeted to the project's Python.

        This is the only function that probes the machine. ``python_version`` ("3.11") and
        ``python_full_version`` ("3.11.7") are the Pipfile's ``[requires]`` values; when given,
        they replace the interpreter's Python version in the marker environment, in the
        requires-python checks and in the wheel tags (``cp311`` …), while the platform
        (``sys_platform``, ``platform_machine``, manylinux/macOS tags …) stays the current
        one — pipenv resolves for the project's Python on the current platform.

        When only ``python_version`` is given, the full version is the running interpreter's
        when its minor version matches, else ``interpreter``'s (the full version of the Python
        the environment has or will be made with) when it matches, and ``X.Y.0`` otherwise (the
        lowest release of that minor version). ``python_full_version`` alone implies
        ``python_version``, and wins when the two disagree, as in pipenv. Raises `ValueError`
        when a version is malformed.
        """
        from packaging import tags as tag_module

        environment: dict[str, str] = {
            key: value for key, value in default_environment().items() if isinstance(value, str)
        }
        running_full = Version(environment["python_full_version"])
        minor, full = _project_python(
            python_version, python_full_version, running_full, interpreter=interpreter
        )

        if (minor.major, minor.minor) == (running_full.major, running_full.minor):
            supported = tuple(tag_module.sys_tags())
        else:
            supported = _tags_for(minor, tuple(tag_module.platform_tags()))
        environment["python_version"] = f"{minor.major}.{minor.minor}"
        environment["python_full_version"] = str(full)
        if environment.get("implementation_name") == "cpython":
            # CPython's implementation_version is its Python version.
            environment["implementation_version"] = str(full)
        return cls(environment=environment, python_version=full, tags=supported)

    def on_every_platform(self) -> Target:
        """This target with the wheel tags of the common platforms added after its own
        (Windows, macOS and Linux on x86-64 and ARM, for the same Python), for an entry meant
        for another platform than this one (``sys_platform == 'win32'``): it is locked at a
        version with a file for some platform, and every file of it is hashed."""
        python = self.python_version
        extra = _tags_for(python, _COMMON_PLATFORMS, interpreter="cp")
        seen = set(self.tags)
        added = tuple(tag for tag in extra if tag not in seen)
        return Target(
            environment=self.environment, python_version=python, tags=(*self.tags, *added)
        )

    def evaluate(self, marker: str | Marker | None, extras: Iterable[str] = ()) -> bool:
        """Whether a PEP 508 marker holds for this target.

        ``extras`` are the extras requested of the package whose metadata holds the marker:
        the marker holds when it is true for at least one of them, or — with no extras — with
        ``extra`` set to the empty string, as in core metadata. ``None`` or an empty marker is
        true. Raises `packaging.markers.InvalidMarker` for a string that does not parse.
        """
        if marker is None or marker == "":
            return True
        names: list[str] = [canonicalize_name(extra) for extra in extras] or [""]
        if isinstance(marker, str):
            key = (marker, tuple(names))
            known = self._marker_memo.get(key)
            if known is None:
                known = self._evaluate(Marker(marker), names)
                self._marker_memo[key] = known
            return known
        return self._evaluate(marker, names)

    def _evaluate(self, parsed: Marker, names: list[str]) -> bool:
        environment: dict[str, str] = dict(self.environment)
        for extra in names:
            environment["extra"] = extra
            try:
                if parsed.evaluate(environment):
                    return True
            except (UndefinedComparison, UndefinedEnvironmentName) as exc:
                # e.g. `python_version ~= ""`: a marker that cannot be evaluated is invalid.
                raise InvalidMarker(str(exc)) from exc
        return False

    def allows_python(self, requires_python: str | None) -> bool:
        """Whether a ``Requires-Python`` specifier admits this target's Python.

        A pre-release Python counts as its release, as pip counts it (3.13.0rc1 as 3.13.0, so
        ``>=3.13`` admits it). A specifier that does not parse admits everything, as pip treats
        it: the metadata is wrong, not the Python.
        """
        if not requires_python or not requires_python.strip():
            return True
        known = self._python_memo.get(requires_python)
        if known is not None:
            return known
        try:
            specifier = SpecifierSet(requires_python)
        except InvalidSpecifier:
            answer = True
        else:
            python = Version(self.python_version.base_version)
            answer = specifier.contains(python, prereleases=True)
        self._python_memo[requires_python] = answer
        return answer

    def tag_rank(self, tags: Iterable[Tag]) -> int | None:
        """The position of the best of ``tags`` among the supported tags, or None when none
        of them is supported (the wheel cannot be installed here). Lower is better."""
        key = tags if isinstance(tags, frozenset) else frozenset(tags)
        if key in self._rank_memo:
            return self._rank_memo[key]
        ranks = [rank for tag in key if (rank := self._tag_rank.get(tag)) is not None]
        answer = min(ranks) if ranks else None
        self._rank_memo[key] = answer
        return answer


def _project_python(
    python_version: str | None,
    python_full_version: str | None,
    running_full: Version,
    *,
    interpreter: str | None = None,
) -> tuple[Version, Version]:
    """(major.minor, full version) of the Python to resolve for."""
    full: Version | None = None
    if python_full_version:
        try:
            full = Version(python_full_version.strip())
        except InvalidVersion as exc:
            msg = f"python_full_version {python_full_version!r} is not a version"
            raise ValueError(msg) from exc
    minor: Version | None = None
    if python_version:
        text = python_version.strip()
        try:
            parsed = Version(text)
        except InvalidVersion as exc:
            msg = f"python_version {python_version!r} is not a version"
            raise ValueError(msg) from exc
        if parsed.release == (parsed.major,) and full is None:
            # "3": any Python 3, as pipenv takes it: the environment's, else this one.
            return _any_of_major(parsed.major, running_full, interpreter)
        if not _MINOR_VERSION.match(text):
            # "3.11.7" in python_version: take it as the full version, pipenv does the same.
            full = full or parsed
        minor = Version(f"{parsed.major}.{parsed.minor}")
    if full is not None:
        # python_full_version wins over a disagreeing python_version (the Pipfile warns).
        return Version(f"{full.major}.{full.minor}"), full
    if minor is None:
        return Version(f"{running_full.major}.{running_full.minor}"), running_full
    if (minor.major, minor.minor) == (running_full.major, running_full.minor):
        return minor, running_full
    try:
        found = Version(interpreter) if interpreter else None
    except InvalidVersion:
        found = None
    if found is not None and (found.major, found.minor) == (minor.major, minor.minor):
        return minor, found
    return minor, Version(f"{minor.major}.{minor.minor}.0")


def _any_of_major(
    major: int, running_full: Version, interpreter: str | None
) -> tuple[Version, Version]:
    """(major.minor, full version) for ``python_version = "3"``: the environment's Python
    (``interpreter``) when it is of that major version, else the running one when it is,
    else the lowest release (``3.0.0``)."""
    try:
        found = Version(interpreter) if interpreter else None
    except InvalidVersion:
        found = None
    for candidate in (found, running_full):
        if candidate is not None and candidate.major == major:
            return Version(f"{candidate.major}.{candidate.minor}"), candidate
    return Version(f"{major}.0"), Version(f"{major}.0.0")


#: Platform tags of `Target.on_every_platform`: Windows, macOS (from 10.9 on) and glibc/musl
#: Linux, on x86-64 and ARM.
_COMMON_PLATFORMS = (
    "win_amd64",
    "win32",
    "win_arm64",
    *(
        f"macosx_{major}_{minor}_{arch}"
        for major, minors in ((15, 1), (14, 1), (13, 1), (12, 1), (11, 1), (10, 17))
        for minor in range(minors - 1, -1, -1)
        if (major, minor) >= (10, 9)
        for arch in ("arm64", "x86_64", "universal2", "intel")
    ),
    *(
        f"{libc}_{arch}"
        for arch in ("x86_64", "aarch64")
        for libc in (
            *(f"manylinux_2_{glibc}" for glibc in range(40, 4, -1)),
            "manylinux2014",
            "manylinux2010",
            "manylinux1",
            *(f"musllinux_1_{musl}" for musl in (2, 1)),
        )
        if not (arch == "aarch64" and libc in {"manylinux2010", "manylinux1"})
    ),
)


def _tags_for(
    python: Version, platforms: tuple[str, ...], *, interpreter: str | None = None
) -> tuple[Tag, ...]:
    """Wheel tags for another Python version on ``platforms`` (the running platform's, by
    default for the running interpreter), most preferred first."""
    version = (python.major, python.minor)
    interpreter = interpreter or interpreter_name()
    if interpreter == "cp":
        specific = list(cpython_tags(version, platforms=platforms))
    else:
        specific = list(
            generic_tags(f"{interpreter}{python.major}{python.minor}", platforms=platforms)
        )
    compatible = compatible_tags(version, f"{interpreter}{python.major}{python.minor}", platforms)
    return tuple(specific + list(compatible))
