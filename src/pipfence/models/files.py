"""Distribution files as an index lists them (PEP 503/691), and what their names say."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import msgspec
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, parse_tag
from packaging.utils import InvalidSdistFilename, parse_sdist_filename
from packaging.version import InvalidVersion, Version

from pipfence.models.names import NormalizedName, canonical_name, is_valid_name

if TYPE_CHECKING:
    from pipfence.models.target import Target

__all__ = [
    "CoreMetadata",
    "DistFile",
    "ProjectPage",
    "Releases",
    "UploadedBefore",
    "best_first",
    "group_by_version",
    "install_rank",
    "name_and_version",
    "parse_filename",
    "parsed_requirement",
    "split_sdist_stem",
    "uploaded_before",
    "version_of",
    "version_text",
]


_NO_HASHES: Mapping[str, str] = MappingProxyType({})


class DistFile(NamedTuple):
    """One file of a project page.

    ``url`` is absolute and as the index gave it (it may carry the index's credentials only
    through the client, never here). ``hashes`` maps algorithm → hex digest. ``metadata`` is
    PEP 658/714 ``core-metadata``: False when absent, True when offered without hashes, or a
    mapping of its hashes. A named tuple rather than a dataclass: pages list hundreds of
    thousands of files, and a tuple is several times cheaper to make. Build it with keywords.
    """

    filename: str
    url: str
    hashes: Mapping[str, str] = _NO_HASHES
    requires_python: str | None = None
    yanked: bool | str = False
    metadata: bool | Mapping[str, str] = False
    size: int | None = None
    #: When the index says the file was uploaded (PEP 700 ``upload-time``, ISO 8601), as the
    #: index wrote it; None when it does not say.
    upload_time: str | None = None

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def has_metadata_file(self) -> bool:
        return bool(self.metadata)


class Releases(Mapping[str, tuple[DistFile, ...]]):
    """A project page's files grouped by the version text their names carry, each group made
    into `DistFile` tuples only when first asked for.

    A page of a long-lived project lists tens of thousands of files and a resolution looks at
    the files of a few versions, so the parser only sorts raw entries into groups and ``build``
    turns one group into files on demand (memoised). Keys are version texts as written in the
    file names, in the order the page first lists them; two keys may spell the same version
    (``1.0`` and ``1.00``). Building a group twice from two threads is harmless: both results
    are equal and the last one is kept.
    """

    __slots__ = ("_built", "build", "raw")

    def __init__(
        self, raw: Mapping[str, object], build: Callable[[object], tuple[DistFile, ...]]
    ) -> None:
        self.raw = raw
        self.build = build
        self._built: dict[str, tuple[DistFile, ...]] = {}

    def __getitem__(self, key: str) -> tuple[DistFile, ...]:
        built = self._built.get(key)
        if built is None:
            built = self.build(self.raw[key])
            self._built[key] = built
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, key: object) -> bool:
        return key in self.raw


def uploaded_before(file: DistFile, cutoff: dt.datetime) -> bool:
    """Whether ``file`` may be taken under a cool-down ending at ``cutoff`` (an aware UTC
    time): its upload time is earlier, or the index gives none (pip's ``--uploaded-prior-to``,
    which pipenv's ``cool-down-period`` sets, treats files the same way). A time that is not
    ISO 8601 counts as too recent: the setting is a safety rule, so it fails closed."""
    if file.upload_time is None:
        return True
    try:
        uploaded = dt.datetime.fromisoformat(file.upload_time.strip())
    except ValueError:
        return False
    if uploaded.tzinfo is None:
        uploaded = uploaded.replace(tzinfo=dt.UTC)
    return uploaded < cutoff


class UploadedBefore(Mapping[str, tuple[DistFile, ...]]):
    """``releases`` with the files uploaded at ``cutoff`` or later left out (see
    `uploaded_before`); a version all of whose files are that recent keeps its key with no
    files, which a resolver skips. Groups are filtered when asked for."""

    __slots__ = ("_cutoff", "_releases")

    def __init__(self, releases: Mapping[str, Sequence[DistFile]], cutoff: dt.datetime) -> None:
        self._releases = releases
        self._cutoff = cutoff

    def __getitem__(self, key: str) -> tuple[DistFile, ...]:
        return tuple(f for f in self._releases[key] if uploaded_before(f, self._cutoff))

    def __iter__(self) -> Iterator[str]:
        return iter(self._releases)

    def __len__(self) -> int:
        return len(self._releases)

    def __contains__(self, key: object) -> bool:
        return key in self._releases


def group_by_version(
    files: Iterable[DistFile], project: NormalizedName | None = None
) -> dict[str, tuple[DistFile, ...]]:
    """Ready-made files grouped by the version text of their names (files whose names carry
    none are dropped), for pages built in memory rather than parsed; ``project`` as in
    `version_text`."""
    grouped: dict[str, list[DistFile]] = {}
    for file in files:
        text = version_text(file.filename, project)
        if text is not None:
            grouped.setdefault(text, []).append(file)
    return {text: tuple(group) for text, group in grouped.items()}


def version_text(filename: str, project: NormalizedName | None = None) -> str | None:
    """The version part of a wheel's or sdist's name as written, or None. An sdist's name
    is split where ``project`` ends, when given (see `split_sdist_stem`)."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-", 2)
        return parts[1] if len(parts) == 3 else None  # noqa: PLR2004  # name, version, tags
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            split = split_sdist_stem(filename[: -len(suffix)], project)
            return split[1] if split is not None else None
    return None


def split_sdist_stem(stem: str, project: NormalizedName | None = None) -> tuple[str, str] | None:
    """An sdist's name without its extension, as (project, version) texts; None when it has
    no ``-``.

    The version is what follows the last ``-`` — unless ``project`` (the normalised name the
    file was listed under) is given and ends at an earlier ``-`` that leaves a valid version:
    ``ibm-db-sa-py3-0.3.1-1`` of ``ibm-db-sa-py3`` is version ``0.3.1-1`` (0.3.1.post1), as
    pip reads it knowing the name it looks up."""
    name, dash, version = stem.rpartition("-")
    if not dash or not name:
        return None
    if project is None or _canonical(name) == project:
        return name, version
    position = stem.find("-")
    while 0 < position < len(name):
        head, tail = stem[:position], stem[position + 1 :]
        if _canonical(head) == project and version_of(tail) is not None:
            return head, tail
        position = stem.find("-", position + 1)
    return name, version


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectPage:
    """A project's page on one index: its name and files (PEP 503 / PEP 691).

    ``releases`` maps each version text to its files (see `Releases`); ``files`` lists them
    all, which builds every group — callers that want one version use `release`.
    """

    name: NormalizedName
    releases: Mapping[str, Sequence[DistFile]]
    versions: tuple[str, ...] = ()
    etag: str | None = None
    #: Since when the cache entry this page was read from has held it (revalidations that found
    #: it unchanged keep the time); None when not read from one (a folder, an unwritable cache).
    cached_at: float | None = field(default=None, compare=False)
    #: False for a page read from a cache entry still young enough, with no request sent.
    requested: bool = field(default=True, compare=False)

    @classmethod
    def of_files(
        cls, name: NormalizedName, files: Iterable[DistFile], **fields: Any
    ) -> ProjectPage:
        """A page over ready-made files (tests, sources built in memory)."""
        return cls(name=name, releases=group_by_version(files), **fields)

    @property
    def files(self) -> tuple[DistFile, ...]:
        return tuple(file for group in self.releases.values() for file in group)

    def release(self, version: Version) -> tuple[DistFile, ...]:
        """The files of ``version`` (however their names spell it)."""
        return tuple(
            file
            for text in self.releases
            if version_of(text) == version
            for file in self.releases[text]
        )


_WHEEL_PARTS = (5, 6)


@functools.lru_cache(maxsize=1 << 16)
def version_of(text: str) -> Version | None:
    """``text`` as a `Version`, None when it is not one; memoised, since a project page
    repeats each version in every one of its files' names, and the pages of a 300-project
    lock hold about 11,000 distinct version texts (a smaller memo parses them over again)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def newest_first(versions: Iterable[Version]) -> list[Version]:
    """``versions`` sorted newest first. Sorting by the comparison key packaging keeps on each
    version compares tuples in C, where sorting the versions calls a Python ``__lt__`` for each
    of the n·log n comparisons (a page of thousands of versions, for each project locked)."""
    listed = list(versions)
    try:
        return sorted(listed, key=_VERSION_KEY, reverse=True)
    except (AttributeError, TypeError):  # a packaging without ``_key``: compare the versions
        return sorted(listed, reverse=True)


_VERSION_KEY = operator.attrgetter("_key")


@functools.lru_cache(maxsize=4096)
def _canonical(text: str) -> NormalizedName:
    return canonical_name(text)


def name_and_version(
    filename: str, project: NormalizedName | None = None
) -> tuple[NormalizedName, Version] | None:
    """A wheel's or sdist's project and version, read cheaply from its name (no tags, no
    other checks: `parse_filename` does the whole job); None when they cannot be read.
    ``project`` as in `split_sdist_stem`."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-", 2)
        if len(parts) < 3:  # noqa: PLR2004  # name, version, then the tags
            return None
        project_text, version = parts[0], parts[1]
    elif filename.endswith((".tar.gz", ".zip")):
        stem = filename[:-7] if filename.endswith(".tar.gz") else filename[:-4]
        split = split_sdist_stem(stem, project)
        if split is None:
            return None
        project_text, version = split
    else:
        return None
    parsed = version_of(version)
    if not project_text or parsed is None:
        return None
    return _canonical(project_text), parsed


@functools.lru_cache(maxsize=4096)
def _wheel_name(text: str) -> NormalizedName | None:
    """The normalised name a wheel's file name starts with; None when it is not a valid
    name. Memoised: every file of a page repeats it."""
    return canonical_name(text) if is_valid_name(text) else None


@functools.lru_cache(maxsize=4096)
def _tags(text: str) -> frozenset[Tag] | None:
    try:
        return parse_tag(text)
    except ValueError:  # packaging's InvalidTag, on releases that have it
        return None


def parse_filename(
    filename: str, project: NormalizedName | None = None
) -> tuple[NormalizedName, Version, frozenset[Tag] | None] | None:
    """(name, version, tags) of a wheel, (name, version, None) of an sdist, None otherwise.
    An sdist's name is split where ``project`` ends, when given (`split_sdist_stem`).

    Files whose names do not follow the wheel or sdist naming rules are skipped by callers,
    as pip and uv skip them. Project pages list thousands of files sharing a few versions
    and tag triples, so those two parses are memoised: this runs once per file per lock.
    """
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        # name-version[-build]-python-abi-platform; a build tag starts with a digit.
        if len(parts) not in _WHEEL_PARTS or (
            len(parts) > min(_WHEEL_PARTS) and not parts[2][:1].isdigit()
        ):
            return None
        version = version_of(parts[1])
        tags = _tags("-".join(parts[-3:]))
        project_name = _wheel_name(parts[0])
        if version is None or tags is None or project_name is None:
            return None
        return project_name, version, tags
    if filename.endswith((".tar.gz", ".zip")):
        if project is not None:
            found = name_and_version(filename, project)
            if found is not None and found[0] == project:
                return found[0], found[1], None
        try:
            name, version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            return None
        return canonical_name(name), version, None
    return None


def install_rank(tags: frozenset[Tag] | None, target: Target) -> int | None:
    """How well a distribution file fits ``target``, lower being better; None when it cannot
    be installed there.

    ``tags`` are a wheel's tags (`parse_filename`), None for an sdist. A wheel ranks at the
    position of its best tag among the target's supported tags, most preferred first (PEP 425);
    a wheel none of whose tags is supported has no rank. An sdist installs anywhere once built,
    so it ranks after every wheel, all sdists alike: ``len(target.tags)``.
    """
    if tags is None:
        return len(target.tags)
    return target.tag_rank(tags)


def best_first(
    files: Iterable[DistFile], target: Target, *, project: NormalizedName | None = None
) -> tuple[DistFile, ...]:
    """``files`` that can be installed on ``target``, best first (`install_rank`); files of
    equal rank keep their order. A file whose name is not a wheel's or an sdist's is left out,
    and so, when ``project`` is given, is a file of another project (its name read as in
    `parse_filename`). Nothing else is checked: callers filter on requires-python, yanked
    files or hashes as their rule needs."""
    ranked: list[tuple[int, DistFile]] = []
    for file in files:
        parsed = parse_filename(file.filename, project)
        if parsed is None or (project is not None and parsed[0] != project):
            continue
        rank = install_rank(parsed[2], target)
        if rank is not None:
            ranked.append((rank, file))
    ranked.sort(key=lambda entry: entry[0])
    return tuple(file for _rank, file in ranked)


@functools.lru_cache(maxsize=16384)
def parsed_requirement(text: str) -> Requirement | None:
    """``Requirement(text)`` (a ``Requires-Dist`` line), or None when it does not parse.

    Each line is read by the prefetcher, the fence's parent bookkeeping and the resolver, and
    packaging's parser is slow: one parse per distinct text serves them all. The result is
    shared, so it must not be changed."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _header_block(data: bytes) -> bytes:
    """``data`` up to the empty line that ends an RFC 822 header block (all of it when it has
    none): what a headers-only parse reads, since that stops at the same line."""
    ends = [i for i in (data.find(b"\n\n"), data.find(b"\n\r\n")) if i >= 0]
    return data[: min(ends) + 1] if ends else data


class _Headers(Protocol):
    def get(self, name: str) -> object: ...

    def get_all(self, name: str) -> Sequence[object] | None: ...


class _SimpleHeaders:
    """Header fields by lower-cased name, as `email.message.Message` answers `get`/`get_all`."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str) -> str | None:
        found = self._fields.get(name.lower())
        return found[0] if found else None

    def get_all(self, name: str) -> list[str] | None:
        return self._fields.get(name.lower())


#: A header line the email parser reads as one field on one line: a name of printable ASCII
#: without a colon, then the colon.
_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+")
_LINE_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85")


def _simple_headers(block: bytes) -> _SimpleHeaders | None:
    """The header block read the way the email parser reads it, for the common block alone:
    ASCII, ``\n`` line ends, one field a line. None for anything else (a folded field, a
    Unix ``From`` line, a line that is no field, another line break), which the email
    parser then reads: a METADATA file of a wheel is nearly always the common kind, and this
    is several times faster."""
    if not block.isascii():
        return None
    text = block.decode("ascii")
    if not _LINE_BREAKS.isdisjoint(text):
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the block's last line end
    fields: dict[str, list[str]] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not _FIELD_NAME.fullmatch(name) or name.startswith("From "):
            return None
        fields.setdefault(name.lower(), []).append(value.lstrip(" \t"))
    return _SimpleHeaders(fields)


def _email_headers(block: bytes) -> _Headers:
    from email.parser import BytesParser

    # compat32 (the default), without email.policy's imports. Only the header block is
    # read: the body (often a long README) would otherwise be split into lines for nothing.
    return BytesParser().parsebytes(block, headersonly=True)


class CoreMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """What resolution needs from a distribution's core metadata (METADATA / PKG-INFO)."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> CoreMetadata:
        """Parse METADATA bytes (an RFC 822 message). Raises `ValueError` when Name or
        Version is missing or invalid."""
        block = _header_block(data)
        message: _Headers = _simple_headers(block) or _email_headers(block)
        name = message.get("Name")
        version = message.get("Version")
        if not name or not version:
            msg = "core metadata lacks Name or Version"
            raise ValueError(msg)
        try:
            parsed_version = Version(str(version).strip())
        except InvalidVersion as exc:
            raise ValueError(str(exc)) from None
        requires_python = message.get("Requires-Python")
        return cls(
            name=canonical_name(str(name).strip()),
            version=parsed_version,
            requires_dist=tuple(str(r).strip() for r in message.get_all("Requires-Dist") or ()),
            requires_python=str(requires_python).strip() if requires_python else None,
            provides_extra=tuple(str(e).strip() for e in message.get_all("Provides-Extra") or ()),
        )
