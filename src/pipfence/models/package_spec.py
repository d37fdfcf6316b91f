"""One package entry of a Pipfile (`PackageSpec`): a version string or an inline table, its keys
checked (unknown ones named, with a guess at what was meant), its version, extras and markers
read as pipenv reads them.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from pipfence.models.names import NormalizedName, canonical_name, is_valid_name, shown

if TYPE_CHECKING:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

__all__ = [
    "ENTRY_KEYS",
    "MARKER_KEYS",
    "MAX_SPECIFIER_LENGTH",
    "PackageSpec",
    "guess",
    "unknown_keys",
]


#: PEP 508 marker variables that an entry may use as a key (``sys_platform = "== 'win32'"``).
MARKER_KEYS = frozenset(
    {
        "os_name",
        "sys_platform",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_version",
        "python_full_version",
        "implementation_name",
        "implementation_version",
    }
)

_VCS_KEYS = ("git", "hg", "svn", "bzr")

#: The keys of a package's inline table that pipenv reads (pipfence reads the same ones).
ENTRY_KEYS = frozenset(
    {"version", "index", "extras", "markers", "editable", "path", "file", "ref", "subdirectory"}
    | set(_VCS_KEYS)
    | MARKER_KEYS
)


#: The longest version specifier an entry may have: real ones are tens of characters, and a
#: bound keeps a hostile Pipfile from costing time in the specifier parsers.
MAX_SPECIFIER_LENGTH = 1000


class PackageSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a package table, e.g. ``requests = {version = ">=2", index = "pypi"}``."""

    name: str
    key: NormalizedName
    version: str = "*"
    index: str | None = None
    extras: tuple[str, ...] = ()
    markers: str | None = None
    #: The entry's marker keys as written: ``("markers", text)``, ``("sys_platform", "==
    #: 'win32'")``, …; the lock writes them as pipenv does (`pipfence.models.markers`).
    marker_parts: tuple[tuple[str, str], ...] = ()
    editable: bool = False
    path: str | None = None
    file: str | None = None
    vcs: str | None = None
    vcs_url: str | None = None
    ref: str | None = None
    subdirectory: str | None = None
    is_table: bool = False
    line: int | None = None

    @property
    def is_named(self) -> bool:
        """Whether the entry is resolved from an index (not a path, file or VCS checkout)."""
        return self.path is None and self.file is None and self.vcs is None

    @property
    def specifier(self) -> SpecifierSet:
        """The version constraint (empty for ``*``)."""
        from packaging.specifiers import SpecifierSet

        return SpecifierSet("" if self.version in ("*", "") else self.version)

    def requirement(self) -> Requirement:
        """The PEP 508 requirement this entry asks the resolver for (name, extras, version,
        markers). `from_entry` has checked that it parses."""
        from packaging.requirements import Requirement

        return Requirement(self.requirement_text())

    def requirement_text(self, *, markers: bool = True) -> str:
        """`requirement` as the Pipfile writes it (its name, extras, version and markers as
        written, not as `packaging` would print them), as pipenv's ``requirements`` prints a
        Pipfile entry; without ``markers``, no marker."""
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        version = "" if self.version == "*" else self.version
        marker = f"; {self.markers}" if self.markers and markers else ""
        return f"{self.name}{extras}{version}{marker}"

    @classmethod
    def from_entry(cls, name: str, value: Any, *, line: int | None = None) -> PackageSpec:
        """Parse one entry. Raises `ValueError` with a message that names the problem."""
        spec = cls._from_entry(name, value, line=line)
        if spec.markers is None and (spec.version == "*" or _plainly_valid(spec.version)):
            # A valid name, valid extras and such a version always make a requirement.
            return spec
        from packaging.requirements import InvalidRequirement

        try:
            spec.requirement()
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0] if str(exc) else "it does not parse"
            msg = f"the entry for `{name}` is not a valid requirement ({shown(reason)})"
            raise ValueError(msg) from None
        return spec

    @classmethod
    def _from_entry(cls, name: str, value: Any, *, line: int | None) -> PackageSpec:
        if not is_valid_name(name):
            msg = f"`{shown(name)}` is not a valid package name"
            raise ValueError(msg)
        key = canonical_name(name)
        if _is_number(value):
            value = str(value)  # `six = 1.11`: a TOML number, read as pipenv reads it
        if isinstance(value, str):
            return cls(name=name, key=key, version=_version(value, name), line=line)
        if not isinstance(value, Mapping):
            msg = f"the entry for `{name}` must be a string or an inline table"
            raise ValueError(msg)
        version = value.get("version", "*")
        if _is_number(version):
            version = str(version)
        if not isinstance(version, str):
            msg = f"`version` of `{name}` must be a string"
            raise ValueError(msg)
        index = value.get("index")
        if index is not None and not isinstance(index, str):
            msg = f"`index` of `{name}` must be a source name"
            raise ValueError(msg)
        extras = value.get("extras", [])
        if isinstance(extras, str):
            extras = [extras]
        if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
            msg = f"`extras` of `{name}` must be a list of strings"
            raise ValueError(msg)
        for extra in extras:
            if not is_valid_name(extra):
                msg = f"`{shown(extra)}` in `extras` of `{name}` is not a valid extra name"
                raise ValueError(msg)
        vcs = next((k for k in _VCS_KEYS if k in value), None)
        return cls(
            name=name,
            key=key,
            version=_version(version, name),
            index=index,
            extras=tuple(extras),
            markers=_markers(name, value),
            marker_parts=_marker_parts(value),
            editable=bool(value.get("editable", False)),
            path=_opt_str(value, "path", name),
            file=_opt_str(value, "file", name),
            vcs=vcs,
            vcs_url=_opt_str(value, vcs, name) if vcs else None,
            ref=_opt_str(value, "ref", name),
            subdirectory=_opt_str(value, "subdirectory", name),
            is_table=True,
            line=line,
        )


def unknown_keys(value: Mapping[str, Any], name: str, table: str, where: str) -> list[str]:
    return [
        f"{where}: `{shown(key)}` in the entry for `{name}` in [{shown(table)}] is not read "
        "by pipenv or pipfence" + guess(key, sorted(ENTRY_KEYS))
        for key in value
        if key not in ENTRY_KEYS
    ]


def guess(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _opt_str(value: Mapping[str, Any], key: str, name: str) -> str | None:
    item = value.get(key)
    if item is None:
        return None
    if not isinstance(item, str):
        msg = f"`{key}` of `{name}` must be a string"
        raise ValueError(msg)
    return item


# The version specifiers most Pipfiles hold (`>=2.1`, `==1.4.*`, `~=3.0,!=3.0.2`): a clause
# this accepts is one packaging accepts. Anything else (epochs, local versions, `===`, other
# spellings) is checked by packaging itself. Reading a Pipfile so needs no packaging import:
# `pipfence run` and `pipfence --where` are faster by the parsers' import time.
_RELEASE = r"[0-9]+(?:\.[0-9]+)*"
_SUFFIXES = r"(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"


@functools.cache
def _plain_clause() -> re.Pattern[str]:
    return re.compile(
        rf"[ \t]*(?:(?:==|!=)[ \t]*{_RELEASE}(?:{_SUFFIXES}|\.\*)"
        rf"|(?:<=|>=|<|>)[ \t]*{_RELEASE}{_SUFFIXES}"
        rf"|~=[ \t]*[0-9]+(?:\.[0-9]+)+{_SUFFIXES})[ \t]*",
        re.ASCII,
    )


def _plainly_valid(text: str) -> bool:
    """Whether ``text`` is a specifier set of the common shapes `_plain_clause` knows."""
    plain = _plain_clause()
    return all(plain.fullmatch(clause) for clause in text.split(","))


def _is_version_pattern(text: str) -> bool:
    """Whether ``text`` is a version or a wildcard (``1.11``, ``1.*``): what ``==`` may take."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not text[:1].isdigit():
        return False
    try:
        SpecifierSet(f"=={text}")
    except InvalidSpecifier:
        return False
    return True


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _version(text: str, name: str) -> str:
    text = text.strip()
    if text in ("", "*"):
        return "*"
    if len(text) > MAX_SPECIFIER_LENGTH:
        msg = (
            f"the version specifier is {len(text)} characters long (at most {MAX_SPECIFIER_LENGTH})"
        )
        raise ValueError(msg)
    # SpecifierSet skips empty clauses (`>=1,,`); a PEP 508 requirement does not.
    if any(not clause.strip() for clause in text.split(",")):
        msg = (
            f"`{shown(text)}` is not a valid version specifier for `{name}` "
            "(an empty clause between commas)"
        )
        raise ValueError(msg)
    if _plainly_valid(text):
        return text
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        # pipenv reads a bare version (`1.11`) or wildcard (`1.*`, in pipenv's own Pipfile) as
        # an exact pin; anything else (`=>2`) is no version.
        if not _is_version_pattern(text):
            msg = f"`{shown(text)}` is not a valid version specifier for `{name}`"
            raise ValueError(msg) from None
        return f"=={text}"
    return text


def _marker_parts(value: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The marker keys of an entry `_markers` has checked, ``markers`` first."""
    keys = [key for key in ("markers",) if isinstance(value.get(key), str)]
    keys += sorted(MARKER_KEYS & value.keys())
    return tuple((key, str(value[key])) for key in keys)


def _markers(name: str, value: Mapping[str, Any]) -> str | None:
    parts: list[str] = []
    markers = value.get("markers")
    if markers is not None:
        if not isinstance(markers, str):
            msg = f"`markers` of `{name}` must be a string"
            raise ValueError(msg)
        parts.append(markers)
    for key in sorted(MARKER_KEYS & value.keys()):
        shorthand = value[key]
        if not isinstance(shorthand, str):
            msg = f"`{key}` of `{name}` must be a string such as \"== 'win32'\""
            raise ValueError(msg)
        parts.append(f"{key} {shorthand}")
    if not parts:
        return None
    combined = " and ".join(f"({p})" if len(parts) > 1 else p for p in parts)
    from packaging.markers import InvalidMarker, Marker

    try:
        Marker(combined)
    except InvalidMarker:
        msg = f"`{combined}` is not a valid environment marker for `{name}`"
        raise ValueError(msg) from None
    return combined
