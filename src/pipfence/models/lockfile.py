"""Pipfile.lock as data, read and written in pipenv's exact format (pipfile-spec 6).

The format: a JSON object with ``_meta`` (``hash.sha256``, ``pipfile-spec``, ``requires``,
``sources``) and one object per category (``default``, ``develop``, custom ones), each mapping a
package name to its entry (``version`` as ``==X``, sorted ``hashes``, ``index``, ``markers``,
``extras``, or ``path``/``file``/``git``+``ref`` for non-index entries). It is written with a
4-space indent, sorted keys, ASCII escapes and a trailing newline, so a lock that pipenv wrote
comes back byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import msgspec
from packaging.markers import InvalidMarker, Marker
from packaging.version import InvalidVersion, Version

from pipfence.errors import LockfileError, UsageError
from pipfence.models.names import NormalizedName, canonical_name, is_valid_name, shown
from pipfence.models.sources import Source

__all__ = [
    "PIPFILE_SPEC",
    "UNPINNED",
    "LockedPackage",
    "Lockfile",
    "Meta",
    "check_lock_entries",
    "lock_changes",
    "package_source",
]

PIPFILE_SPEC = 6
_CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


class LockedPackage(msgspec.Struct, frozen=True, kw_only=True):
    """One package entry of a category. ``data`` keeps every key as the lock has it."""

    name: str
    data: Mapping[str, Any]

    @property
    def key(self) -> NormalizedName:
        return canonical_name(self.name)

    @property
    def version(self) -> str | None:
        """The pinned version without ``==``; None for path/VCS entries and for an entry
        left unpinned (``"*"``, as pipenv writes one whose marker no environment it
        resolved for meets)."""
        value = self.data.get("version")
        if not isinstance(value, str) or not value.startswith("=="):
            return None
        return value.removeprefix("===").removeprefix("==")

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(self.data.get("hashes", ()))

    @property
    def index(self) -> str | None:
        value = self.data.get("index")
        return value if isinstance(value, str) else None

    @property
    def markers(self) -> str | None:
        value = self.data.get("markers")
        return value if isinstance(value, str) and value else None

    @property
    def is_named(self) -> bool:
        return not any(k in self.data for k in ("path", "file", "git", "hg", "svn", "bzr"))

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any], /) -> LockedPackage:
        return cls(name=name, data=dict(data))

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.data)
        if "hashes" in data:
            data["hashes"] = sorted(data["hashes"])
        return data


class Meta(msgspec.Struct, frozen=True, kw_only=True):
    """The ``_meta`` object."""

    hash: str
    sources: tuple[Source, ...]
    requires: Mapping[str, Any] = msgspec.field(default_factory=dict)
    pipfile_spec: int = PIPFILE_SPEC
    extra: Mapping[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /) -> Meta:
        hash_value = data.get("hash", {})
        sha = hash_value.get("sha256", "") if isinstance(hash_value, Mapping) else ""
        raw_sources = data.get("sources", [])
        if not isinstance(raw_sources, list):
            msg = "`_meta.sources` must be a list"
            raise ValueError(msg)
        known = {"hash", "sources", "requires", "pipfile-spec"}
        return cls(
            hash=str(sha),
            sources=tuple(Source.from_dict(s) for s in raw_sources),
            requires=dict(data.get("requires", {})),
            pipfile_spec=int(data.get("pipfile-spec", PIPFILE_SPEC)),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "hash": {"sha256": self.hash},
            "pipfile-spec": self.pipfile_spec,
            "requires": dict(self.requires),
            "sources": [s.to_dict() for s in self.sources],
        }


class Lockfile(msgspec.Struct, frozen=True, kw_only=True):
    """A whole Pipfile.lock. ``categories`` maps a lock category to its packages."""

    meta: Meta
    categories: Mapping[str, Mapping[str, LockedPackage]]
    newline: str = "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], /, *, newline: str = "\n") -> Lockfile:
        """Build from decoded JSON. Raises `ValueError` describing what is wrong."""
        meta = data.get("_meta")
        if not isinstance(meta, Mapping):
            msg = "it has no `_meta` object"
            raise ValueError(msg)
        categories: dict[str, dict[str, LockedPackage]] = {}
        for category, packages in data.items():
            if category == "_meta":
                continue
            if not isinstance(packages, Mapping):
                msg = f"category `{shown(category)}` must be an object"
                raise ValueError(msg)
            entries: dict[str, LockedPackage] = {}
            for name, entry in packages.items():
                # A PEP 508 name, as in the Pipfile: never a path, a URL or an option (a lock
                # is data from a file a person, or an attacker, may have edited).
                if not is_valid_name(name):
                    msg = f"`{shown(name)}` in `{shown(category)}` is not a valid package name"
                    raise ValueError(msg)
                if not isinstance(entry, Mapping):
                    msg = f"entry `{shown(category)}.{name}` must be an object"
                    raise ValueError(msg)
                entries[name] = LockedPackage.from_dict(name, entry)
            categories[category] = entries
        return cls(meta=Meta.from_dict(meta), categories=categories, newline=newline)

    @classmethod
    def parse(cls, text: str, *, path: str = "Pipfile.lock") -> Lockfile:
        """Decode ``text``; `LockfileError` naming the file and line when it is not a lock."""
        hint = (
            "Pipfile.lock is corrupt: restore it from version control, or run `pipfence lock` "
            "to make a new one"
        )
        conflict = _CONFLICT.search(text)
        if conflict:
            line = text.count("\n", 0, conflict.start()) + 1
            raise LockfileError(
                "it contains merge-conflict markers", path=path, line=line, hint=hint
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LockfileError(
                f"invalid JSON: {exc.msg}", path=path, line=exc.lineno, hint=hint
            ) from None
        except RecursionError:
            # The decoder recurses once per nested array or object.
            raise LockfileError("its JSON is nested too deeply", path=path, hint=hint) from None
        if not isinstance(data, Mapping):
            raise LockfileError("it is not a JSON object", path=path, hint=hint)
        newline = "\r\n" if "\r\n" in text else "\n"
        try:
            return cls.from_dict(data, newline=newline)
        except (ValueError, TypeError, AttributeError) as exc:
            raise LockfileError(f"not a Pipfile.lock: {exc}", path=path, hint=hint) from None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"_meta": self.meta.to_dict()}
        for category, packages in self.categories.items():
            data[category] = {name: pkg.to_dict() for name, pkg in packages.items()}
        return data

    def to_json(self) -> str:
        """The file's text exactly as pipenv writes it, in this lock's newline style."""
        text = json.dumps(self.to_dict(), indent=4, separators=(",", ": "), sort_keys=True) + "\n"
        return text.replace("\n", self.newline) if self.newline != "\n" else text

    def packages(self, categories: list[str] | None = None) -> Iterator[tuple[str, LockedPackage]]:
        """(category, package) for the given categories (all when None)."""
        for category, packages in self.categories.items():
            if categories is None or category in categories:
                for package in packages.values():
                    yield category, package


def lock_changes(old: Lockfile | None, new: Lockfile) -> list[str]:
    """What moved between two locks, one line a package, as uv prints it: ``+ name==1.2``
    (added), ``- name==1.0`` (removed), ``~ name 1.0 -> 1.2`` (changed), sorted by name. A
    package's version is that of the first category holding it; path and VCS entries show no
    version."""

    def versions(lock: Lockfile | None) -> dict[NormalizedName, tuple[str, str | None]]:
        found: dict[NormalizedName, tuple[str, str | None]] = {}
        for _category, package in lock.packages() if lock is not None else ():
            found.setdefault(package.key, (package.name, package.version))
        return found

    before, after = versions(old), versions(new)
    lines: list[tuple[NormalizedName, str]] = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            name, version = after[key]
            lines.append((key, f"+ {name}" + (f"=={version}" if version else "")))
        elif key not in after:
            name, version = before[key]
            lines.append((key, f"- {name}" + (f"=={version}" if version else "")))
        elif before[key][1] != after[key][1]:
            name = after[key][0]
            lines.append((key, f"~ {name} {before[key][1] or '?'} -> {after[key][1] or '?'}"))
    return [line for _key, line in lines]


def package_source(package: LockedPackage, lock: Lockfile) -> Source:
    """The source a lock entry comes from: its ``index``, else the lock's first source."""
    sources = lock.meta.sources
    if not sources:
        raise UsageError("the lock lists no sources", hint="run `pipfence lock` again")
    if package.index is not None:
        for source in sources:
            if source.name == package.index:
                return source
        names = ", ".join(f"`{s.name}`" for s in sources)
        raise UsageError(
            f"`{package.name}` in Pipfile.lock names index `{package.index}`, "
            f"but the lock's sources are {names}",
            hint="run `pipfence lock` again",
        )
    return sources[0]


#: The version pipenv writes for an entry it did not resolve (its marker false there).
UNPINNED = "*"


_HASH = re.compile(r"^sha256:[0-9a-fA-F]{64}$")


def _is_pin(version: object) -> bool:
    if not isinstance(version, str) or not version.startswith("=="):
        return False
    try:
        Version(version.lstrip("="))
    except InvalidVersion:
        return False
    return True


def check_lock_entries(lock: Lockfile, categories: Sequence[str]) -> None:
    """Refuse malformed entries in the categories to install (`LockfileError`, exit 2) before
    anything is created: hashes that are not a list of ``sha256:<hex>``, versions that are not
    ``==<version>`` (or pipenv's `UNPINNED`), markers that do not parse."""
    for category, package in lock.packages(list(categories)):
        where = f"`{package.name}` in `{category}`"
        hashes = package.data.get("hashes", [])
        if not isinstance(hashes, list) or not all(
            isinstance(h, str) and _HASH.match(h) for h in hashes
        ):
            raise LockfileError(
                f"{where} has hashes that are not a list of `sha256:<hex>` strings",
                hint="run `pipfence lock` to make a new lock",
            )
        version = package.data.get("version")
        # pipenv writes `"version": "*"` (no hashes) for an entry whose own marker is false
        # where it locked; a sync skips it where the marker is false here too.
        if version is not None and version != UNPINNED and not _is_pin(version):
            raise LockfileError(
                f"{where} has version {version!r}; a lock pins `==<version>`",
                hint="run `pipfence lock` to make a new lock",
            )
        markers = package.data.get("markers")
        if markers:
            try:
                Marker(str(markers))
            except InvalidMarker:
                raise LockfileError(
                    f"{where} has an invalid marker: {markers}",
                    hint="run `pipfence lock` to make a new lock",
                ) from None
