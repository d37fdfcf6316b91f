"""Safety checks on a wheel archive, made before a single byte of it is written.

A wheel is refused (`ArchiveError`) when any entry name is absolute, has a drive, a backslash,
a NUL, or an empty, ``.`` or ``..`` component; when a name appears twice; when it does not have
exactly one top-level ``.dist-info`` directory whose name and version match the filename (PEP
427 §File name convention, PEP 440 equality) and whose METADATA says the same; when WHEEL or
RECORD is missing; or when an entry point script name would leave the scripts folder. RECORD
hashes are checked while files are unpacked (`record_table`, `check_hash`), not here.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import re
import zipfile
from typing import Any

import msgspec
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pipfence.errors import ArchiveError
from pipfence.models.names import NormalizedName

__all__ = [
    "GENERATED_METADATA",
    "WheelInfo",
    "check_entry_point_name",
    "check_hash",
    "check_member_name",
    "check_wheel",
    "is_signature",
    "new_hasher",
    "plainly_safe",
    "record_table",
]

# dist-info files the installer writes itself; a wheel's own copies are not installed.
GENERATED_METADATA = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"})
_SIGNATURES = frozenset({"RECORD.jws", "RECORD.p7s"})
_DRIVE = re.compile(r"^[A-Za-z]:")
# Wheel RECORD hashes must be sha256 or stronger (binary distribution format §The .dist-info
# directory); the shake variants need a length and are not used for RECORD.
_RECORD_HASHES = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)


class WheelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the checks established about a wheel: its identity and its dist-info folder."""

    filename: str
    name: NormalizedName
    distribution: str
    version: str
    dist_info: str

    @property
    def data_dir(self) -> str:
        """The ``.data`` folder beside the dist-info folder (same stem)."""
        return self.dist_info.removesuffix(".dist-info") + ".data"


def check_member_name(name: str, *, filename: str) -> None:
    """Refuse an entry name that could escape the folder it is extracted into."""
    body = name.removesuffix("/")
    parts = body.split("/")
    if (
        not body
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or _DRIVE.match(name)
        or any(part in {"", ".", ".."} for part in parts)
    ):
        raise ArchiveError(
            f"Wheel `{filename}` has an unsafe entry `{name}`: it could be written outside "
            "the environment"
        )


#: A path that starts with a drive letter, in paths joined by line breaks.
_DRIVE = re.compile(r"^[A-Za-z]:", re.MULTILINE)


def plainly_safe(path: str) -> bool:
    """Whether ``path`` passes `check_member_name` for sure, in a few substring searches (a
    manifest lists thousands of paths): a relative path of non-empty parts, none ``.`` or
    ``..``, no backslash, NUL or drive letter. False leaves the answer to that check."""
    framed = f"/{path}/"
    return not (
        "//" in framed
        or "/./" in framed
        or "/../" in framed
        or "\\" in path
        or "\x00" in path
        or (path[1:2] == ":" and path[:1].isascii() and path[:1].isalpha())
    )


def all_plainly_safe(paths: list[str]) -> bool:
    """Whether every path of ``paths`` is `plainly_safe`, found by a few searches over them
    all joined (a cache manifest lists up to thousands). False leaves the answer to the
    path-by-path check, as does a path holding a line break (which would blur where one
    path ends)."""
    joined = "\n".join(paths)
    if joined.count("\n") != len(paths) - 1:
        return False
    framed = "/" + "/\n/".join(paths) + "/"
    return not (
        "//" in framed
        or "/./" in framed
        or "/../" in framed
        or "\\" in joined
        or "\x00" in joined
        or (":" in joined and _DRIVE.search(joined) is not None)
    )


def check_entry_point_name(name: str, *, filename: str) -> None:
    """Refuse a console/GUI script name that is not a plain file name."""
    if not name or name in {".", ".."} or ".." in name or any(c in name for c in "/\\\x00:"):
        raise ArchiveError(
            f"Wheel `{filename}` declares an unsafe entry point script name `{name}`"
        )


def _metadata_identity(data: bytes) -> tuple[str, str] | None:
    name = version = None
    for raw in data.splitlines():
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "name" and name is None:
            name = value.strip()
        elif sep and key.strip().lower() == "version" and version is None:
            version = value.strip()
    if name is None or version is None:
        return None
    return name, version


def _same_version(inside: str, filename: str) -> bool:
    """Whether the version a wheel states inside (dist-info, METADATA) is the one in its file
    name. A local label in the file name only (``six-1.11.0+mkl-…whl`` holding
    ``six-1.11.0.dist-info``) counts as the same: rebuilt wheels are renamed so, and pip
    installs them."""
    try:
        stated, named = Version(inside), Version(filename)
    except InvalidVersion:
        return inside == filename
    return stated == named or (stated.local is None and stated == Version(named.public))


def check_wheel(zf: zipfile.ZipFile, filename: str) -> WheelInfo:
    """Run every pre-write check on an open wheel named ``filename``; return its `WheelInfo`."""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise ArchiveError(f"`{filename}` is not a valid wheel filename: {exc}") from exc
    names = zf.namelist()
    seen: set[str] = set()
    for member in names:
        check_member_name(member, filename=filename)
        if member in seen:
            raise ArchiveError(f"Wheel `{filename}` has the entry `{member}` twice")
        seen.add(member)
    dist_infos = {m.split("/", 1)[0] for m in names if m.split("/", 1)[0].endswith(".dist-info")}
    if len(dist_infos) != 1:
        raise ArchiveError(
            f"Wheel `{filename}` must have exactly one .dist-info folder, has "
            f"{len(dist_infos)}: {', '.join(sorted(dist_infos)) or 'none'}"
        )
    (dist_info,) = dist_infos
    stem = dist_info.removesuffix(".dist-info")
    di_name, sep, di_version = stem.rpartition("-")
    if not sep or canonicalize_name(di_name) != name or not _same_version(di_version, str(version)):
        raise ArchiveError(
            f"Wheel `{filename}` holds `{dist_info}`, which does not match its filename"
        )
    for required in ("METADATA", "WHEEL", "RECORD"):
        if f"{dist_info}/{required}" not in seen:
            raise ArchiveError(f"Wheel `{filename}` has no {dist_info}/{required}")
    identity = _metadata_identity(zf.read(f"{dist_info}/METADATA"))
    if identity is None:
        raise ArchiveError(f"Wheel `{filename}` has METADATA without Name or Version")
    if canonicalize_name(identity[0]) != name or not _same_version(identity[1], str(version)):
        raise ArchiveError(
            f"Wheel `{filename}` says it is `{identity[0]} {identity[1]}` in METADATA, "
            "which does not match its filename"
        )
    entry_points = f"{dist_info}/entry_points.txt"
    if entry_points in seen:
        for script in _script_names(zf.read(entry_points), filename):
            check_entry_point_name(script, filename=filename)
    return WheelInfo(
        filename=filename,
        name=NormalizedName(name),
        distribution=di_name,
        version=str(version),
        dist_info=dist_info,
    )


def _script_names(data: bytes, filename: str) -> list[str]:
    # Parsed as `installer.utils.parse_entrypoints` does, so the names checked are the names used.
    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign] # keep names' case
    try:
        parser.read_string(data.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ArchiveError(f"Wheel `{filename}` has an unreadable entry_points.txt") from exc
    names: list[str] = []
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            names.extend(parser.options(section))
    return names


def record_table(data: bytes, filename: str) -> dict[str, tuple[str, str]]:
    """RECORD rows as ``path -> (hash, size)`` (both possibly empty strings)."""
    try:
        rows = list(csv.reader(data.decode("utf-8").splitlines()))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ArchiveError(f"Wheel `{filename}` has an unreadable RECORD") from exc
    table: dict[str, tuple[str, str]] = {}
    for row in rows:
        if not row:
            continue
        if len(row) != 3:  # noqa: PLR2004 - RECORD rows are path,hash,size
            raise ArchiveError(f"Wheel `{filename}` has a malformed RECORD row {row!r}")
        table[row[0]] = (row[1], row[2])
    return table


def is_signature(member: str, dist_info: str) -> bool:
    """Whether ``member`` is a RECORD signature, which RECORD does not list."""
    head, _, tail = member.rpartition("/")
    return head == dist_info and tail in _SIGNATURES


def new_hasher(spec: str, member: str, filename: str) -> tuple[Any, str]:
    """A hashlib object for a RECORD hash ``algo=digest`` and the expected digest."""
    algorithm, sep, expected = spec.partition("=")
    if not sep or not expected:
        raise ArchiveError(f"Wheel `{filename}` has no hash for `{member}` in RECORD")
    if algorithm not in _RECORD_HASHES:
        raise ArchiveError(
            f"Wheel `{filename}` uses the hash `{algorithm}` in RECORD; sha256 or stronger "
            "is required"
        )
    return hashlib.new(algorithm), expected


def check_hash(
    hasher: Any, expected: str, size: int, expected_size: str, *, member: str, filename: str
) -> str:
    """Compare a finished hasher and size with the RECORD row; raise `ArchiveError` if off.

    Returns the RECORD hash as the spec writes it (``algo=`` + urlsafe base64, no padding).
    A hex digest is accepted too: some build tools write one, and it pins the bytes as well.
    """
    raw = hasher.digest()
    digest = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    matches = expected.rstrip("=") == digest or expected.lower() == raw.hex()
    if not matches or (expected_size and expected_size != str(size)):
        raise ArchiveError(
            f"Wheel `{filename}`: `{member}` does not match the hash or size its RECORD lists"
        )
    return f"{hasher.name}={digest}"
