"""The unpacked-wheel cache: every wheel unpacked once, verified, then linked into environments.

Layout, keyed by the wheel file's sha256::

    <root>/<sha256>/manifest.json   identity, dist-info folder, and every file with its RECORD
                                    hash, size and executable bit (written last)
    <root>/<sha256>/tree/...        the wheel's files, exactly as the archive names them

An entry is built in ``<root>/.tmp-*`` and renamed into place, so readers only ever see
complete entries; when two processes unpack the same wheel at once, the first rename wins and
the other discards its copy. The archive checks (`pipfence.installer.archive`) run before
anything is written, and every file's hash and size are compared with RECORD while it is
written: a cached tree is a verified tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer.archive import (
    GENERATED_METADATA,
    WheelInfo,
    check_hash,
    check_member_name,
    check_wheel,
    is_signature,
    new_hasher,
    record_table,
)
from pipfence.models.names import NormalizedName

__all__ = ["CachedFile", "UnpackedCache", "UnpackedWheel", "file_sha256"]

_FORMAT = 1
_MANIFEST = "manifest.json"
_TREE = "tree"
_CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedFile:
    """One verified file of an unpacked wheel: ``path`` in the archive, under ``tree`` on disk."""

    path: str
    tree: str
    hash: str
    size: int
    executable: bool

    @property
    def source(self) -> Path:
        return Path(self.tree, self.path)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnpackedWheel:
    """A complete cache entry. ``files`` excludes RECORD, signatures and installer metadata."""

    root: Path
    sha256: str
    info: WheelInfo
    files: tuple[CachedFile, ...]

    @property
    def tree(self) -> Path:
        return self.root / _TREE


class UnpackedCache:
    """Unpacked wheels under ``root``, keyed by sha256. Safe to share between threads and
    processes; entries are never modified once made."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Entries never change once made, so one read of a manifest serves the whole run
        # (a sync looks an entry up while fetching, checking and installing).
        self._known: dict[str, UnpackedWheel] = {}

    def get(self, sha256: str) -> UnpackedWheel | None:
        """The complete entry for ``sha256``, or None when there is none (or it is unreadable)."""
        digest = _checked_digest(sha256)
        known = self._known.get(digest)
        if known is not None:
            return known
        entry = self.root / digest
        try:
            data = json.loads((entry / _MANIFEST).read_bytes())
            found = _from_manifest(entry, sha256, data)
        except (OSError, ValueError, KeyError, TypeError, ArchiveError):
            return None
        self._known[digest] = found
        return found

    def intact(self, unpacked: UnpackedWheel) -> bool:
        """Whether every file of the entry is still there at the size its manifest recorded
        (a cheap check, one stat a file; an edit that keeps a file's size is not seen). An
        entry that fails it is removed, so the wheel is unpacked again from a verified file."""
        for file in unpacked.files:
            try:
                if os.stat(os.path.join(file.tree, file.path)).st_size != file.size:  # noqa: PTH116,PTH118
                    break
            except OSError:
                break
        else:
            return True
        self._known.pop(unpacked.sha256, None)
        shutil.rmtree(unpacked.root, ignore_errors=True)
        return False

    def unpack(self, wheel: Path, *, sha256: str | None = None) -> UnpackedWheel:
        """The entry for ``wheel``, unpacking and verifying it first when it is not cached.

        ``sha256`` is the wheel's digest when the caller already knows it (it verified the
        download); otherwise it is computed. Raises `ArchiveError` for an unsafe or corrupt
        wheel (nothing is left in the cache) and `InstallError` when the cache cannot be
        written.
        """
        digest = _checked_digest(sha256 if sha256 is not None else file_sha256(wheel))
        found = self.get(digest)
        if found is not None:
            return found
        final = self.root / digest
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = self.root / f".tmp-{digest[:16]}-{secrets.token_hex(6)}"
            staging.mkdir()
        except OSError as exc:
            raise InstallError(f"Could not write the wheel cache at `{self.root}`: {exc}") from exc
        try:
            _unpack_into(wheel, staging)
            try:
                staging.rename(final)
            except OSError:
                # Another process finished first (the target exists and is not empty); its
                # entry is as good as ours. A leftover without a manifest is replaced.
                if self.get(digest) is None:
                    shutil.rmtree(final, ignore_errors=True)
                    staging.rename(final)
        except OSError as exc:
            raise InstallError(f"Could not unpack `{wheel.name}` into the cache: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        result = self.get(digest)
        if result is None:
            raise InstallError(f"The wheel cache entry for `{wheel.name}` vanished after writing")
        return result


def _checked_digest(sha256: str) -> str:
    digest = sha256.lower()
    if not _SHA256.match(digest):
        msg = f"not a hex sha256 digest: {sha256!r}"
        raise ValueError(msg)
    return digest


def _from_manifest(entry: Path, sha256: str, data: dict[str, Any]) -> UnpackedWheel:
    if data["format"] != _FORMAT:
        raise ValueError(data["format"])
    info = WheelInfo(
        filename=str(data["filename"]),
        name=NormalizedName(str(data["name"])),
        distribution=str(data["distribution"]),
        version=str(data["version"]),
        dist_info=str(data["dist_info"]),
    )
    tree = str(entry / _TREE)
    files = []
    for path, hash_, size, executable in data["files"]:
        check_member_name(path, filename=info.filename)
        files.append(
            CachedFile(
                path=str(path),
                tree=tree,
                hash=str(hash_),
                size=int(size),
                executable=bool(executable),
            )
        )
    return UnpackedWheel(root=entry, sha256=sha256, info=info, files=tuple(files))


def _unpack_into(wheel: Path, staging: Path) -> None:
    """Check ``wheel``, write its files under ``staging/tree`` verifying each against RECORD,
    then write the manifest."""
    filename = wheel.name
    try:
        zf = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveError(f"`{filename}` is not a readable zip archive: {exc}") from exc
    with zf:
        info = check_wheel(zf, filename)
        record_path = f"{info.dist_info}/RECORD"
        records = record_table(zf.read(record_path), filename)
        tree = Path(os.path.abspath(staging / _TREE))  # noqa: PTH100 - normalise only
        made: set[Path] = set()
        files: list[list[Any]] = []
        for member in zf.infolist():
            name = member.filename
            if name.endswith("/") or name == record_path or is_signature(name, info.dist_info):
                continue
            row = records.get(name)
            if row is None:
                raise ArchiveError(f"Wheel `{filename}`: `{name}` is not listed in its RECORD")
            hasher, expected = new_hasher(row[0], name, filename)
            mode = member.external_attr >> 16
            executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
            target = Path(os.path.abspath(tree / name))  # noqa: PTH100 - normalise only
            if not str(target).startswith(str(tree) + os.sep):
                raise ArchiveError(f"Wheel `{filename}` has an entry `{name}` outside its root")
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            size = 0
            fd = os.open(
                target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666
            )
            with os.fdopen(fd, "wb") as out, zf.open(member) as stream:
                while chunk := stream.read(_CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            record_hash = check_hash(hasher, expected, size, row[1], member=name, filename=filename)
            head, _, tail = name.rpartition("/")
            if head == info.dist_info and tail in GENERATED_METADATA:
                continue
            files.append([name, record_hash, size, executable])
    manifest = {
        "format": _FORMAT,
        "filename": filename,
        "name": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "dist_info": info.dist_info,
        "files": files,
    }
    with (staging / _MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, separators=(",", ":"))
