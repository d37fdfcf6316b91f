"""The unpacked-wheel cache: every wheel unpacked once, verified, then placed into environments.

Layout, keyed by the wheel file's sha256::

    <root>/<sha256>/manifest.json   identity, dist-info folder, and every file with its RECORD
                                    hash, size, executable bit, and the size, mtime_ns and
                                    inode it had once written (the manifest is written last)
    <root>/<sha256>/tree/...        the wheel's files, exactly as the archive names them
    <root>/<sha256>/<filename>.whl  the verified wheel itself, to unpack again from

An entry is built in ``<root>/.tmp-*`` and renamed into place, so readers only ever see
complete entries; when two processes unpack the same wheel at once, the first rename wins and
the other discards its copy. The archive checks (`pipfence.installer.archive`) run before
anything is written, and every file's hash and size are compared with RECORD while it is
written: a cached tree is a verified tree.

Before an entry is used (once per run), every file's size, mtime_ns and inode are compared
with the manifest (`UnpackedCache.verified`): a file edited in place (through a hard link from
an environment, or inside the cache) or replaced has another mtime or inode, and the entry is
unpacked again from its wheel, whose sha256 is checked first. An edit that also puts the old
mtime back is not seen by this check; the link modes (`LinkMode`) say how far an environment's
files are its own.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import shutil
import stat
import threading
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer.ahead_check import AheadCheck
from pipfence.installer.archive import (
    GENERATED_METADATA,
    WheelInfo,
    all_plainly_safe,
    check_hash,
    check_member_name,
    check_wheel,
    is_signature,
    new_hasher,
    plainly_safe,
    record_table,
)
from pipfence.installer.entry_check import MANIFEST, TREE, checked_digest, files_intact
from pipfence.installer.placing import LINK_MODES, LinkMode, place_file
from pipfence.models.names import NormalizedName

__all__ = [
    "LINK_MODES",
    "CachedFile",
    "LinkMode",
    "UnpackedCache",
    "UnpackedWheel",
    "file_sha256",
    "place_file",
]

_FORMAT = 2
_MANIFEST = MANIFEST
_TREE = TREE
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class CachedFile(NamedTuple):
    """One verified file of an unpacked wheel: ``path`` in the archive and under the entry's
    tree (`UnpackedWheel.tree`) on disk.

    ``mtime_ns`` and ``inode`` are what the file had when it was written into the cache. A
    named tuple in the manifest's own order: a sync reads tens of thousands of them, which
    msgspec makes (and type-checks) straight from the manifest's rows."""

    path: str
    hash: str
    size: int
    executable: bool
    mtime_ns: int = 0
    inode: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UnpackedWheel:
    """A complete cache entry. ``files`` excludes RECORD, signatures and installer metadata.

    ``manifest`` is the entry's manifest, whose file rows are read (and their paths checked)
    when ``files`` is first asked for: a sync looks up every entry of a lock before it
    installs, and installs (from worker threads) the files of each."""

    root: Path
    sha256: str
    info: WheelInfo
    manifest: bytes = field(repr=False, compare=False)
    _files: list[tuple[tuple[CachedFile, ...], bool]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    @property
    def files(self) -> tuple[CachedFile, ...]:
        """The entry's files; `ArchiveError` for rows of the wrong shape or an unsafe path."""
        if not self._files:
            self._files.append(_manifest_files(self.manifest, self.info.filename))
        return self._files[0][0]

    @property
    def plain(self) -> bool:
        """Whether every file's path is `plainly_safe` (as `files` found when it read them)."""
        self.files  # noqa: B018 - read once, with its answer
        return self._files[0][1]

    @property
    def tree(self) -> Path:
        return self.root / _TREE

    @property
    def wheel(self) -> Path:
        """The wheel the entry was unpacked from, kept beside its tree."""
        return self.root / self.info.filename


class UnpackedCache:
    """Unpacked wheels under ``root``, keyed by sha256. Safe to share between threads and
    processes; an entry is never modified once made, only removed and made again.

    ``link_mode`` says how installs place cached files into an environment (see `LinkMode`).
    """

    def __init__(self, root: Path, *, link_mode: LinkMode = "auto") -> None:
        if link_mode not in LINK_MODES:
            msg = f"unknown link mode {link_mode!r}"
            raise ValueError(msg)
        self.root = root
        self.link_mode: LinkMode = link_mode
        # A manifest is read once a run (a sync looks an entry up while fetching, checking and
        # installing), and an entry's files are compared with it once a run.
        self._known: dict[str, UnpackedWheel] = {}
        self._checked: set[str] = set()
        # The entries the root held when first looked at: a lock lists a digest for every
        # platform's wheel, and most have no entry here (no open of a missing manifest for
        # each). Entries this run makes are added; one another process makes meanwhile is
        # not seen, and is made again here (the first rename wins: see `_make`).
        self._present: set[str] | None = None
        self._present_lock = threading.Lock()
        self._ahead: AheadCheck | None = None

    def _listing(self) -> set[str]:
        """The names the root held when first asked (once, for every thread), with the
        entries made since by this cache."""
        present = self._present
        if present is None:
            with self._present_lock:
                if self._present is None:
                    try:
                        self._present = set(os.listdir(self.root))  # noqa: PTH208 - names only
                    except OSError:
                        self._present = set()
                present = self._present
        return present

    def check_ahead(self, digests: Collection[str]) -> None:
        """Start checking the entries of ``digests`` in a helper process (`AheadCheck`),
        for `intact` to take its answers from when it comes to those entries."""
        self.end_ahead()
        self._ahead = AheadCheck.start(self.root, digests)

    def adopt_ahead(self, ahead: AheadCheck) -> None:
        """Take its answers from ``ahead``, a check of this cache's entries started before
        the cache was opened (see `check_ahead`); one of another root is stopped."""
        self.end_ahead()
        if ahead.root != self.root:
            ahead.close()
            return
        self._ahead = ahead

    def end_ahead(self) -> None:
        """Stop the helper of `check_ahead` (when there is one still running): its answers
        are no longer wanted."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.close()

    def get(self, sha256: str) -> UnpackedWheel | None:
        """The complete entry for ``sha256``, or None when there is none (or it is unreadable).
        Its files are not checked: see `verified`."""
        digest = checked_digest(sha256)
        known = self._known.get(digest)
        if known is not None:
            return known
        if digest not in self._listing():
            return None
        entry = self.root / digest
        try:
            found = _from_manifest(entry, digest, (entry / _MANIFEST).read_bytes())
        except (OSError, ValueError, KeyError, TypeError, ArchiveError):
            return None
        self._known[digest] = found
        return found

    def intact(self, unpacked: UnpackedWheel) -> bool:
        """Whether every file of the entry still has the size, mtime_ns and inode its manifest
        recorded (one stat a file, once a run). An edit in place changes the mtime, a
        replacement the inode; an edit that also restores the mtime is not seen."""
        if unpacked.sha256 in self._checked:
            return True
        ahead = self._ahead
        if (
            ahead is not None
            and unpacked.sha256 in ahead.asked
            and unpacked.sha256 in ahead.intact()
        ):
            self._checked.add(unpacked.sha256)
            return True
        try:
            files = [(f.path, f.size, f.mtime_ns, f.inode) for f in unpacked.files]
        except ArchiveError:
            return False  # its manifest changed too: the entry is made again
        if not files_intact(str(unpacked.tree) + os.sep, files):
            return False
        self._checked.add(unpacked.sha256)
        return True

    def verified(self, sha256: str) -> UnpackedWheel | None:
        """The entry for ``sha256`` with every file as it was written: an entry that fails
        `intact` is removed and unpacked again from its kept wheel (when that still has this
        sha256). None when there is no usable entry."""
        found = self.get(sha256)
        if found is None or self.intact(found):
            return found
        return self._redo(found, None)

    def unpack(self, wheel: Path, *, sha256: str | None = None) -> UnpackedWheel:
        """The entry for ``wheel``, unpacking and verifying it first when it is not cached (or
        its cached files changed since).

        ``sha256`` is the wheel's digest when the caller already knows it (it verified the
        download); otherwise it is computed. Raises `ArchiveError` for an unsafe or corrupt
        wheel (nothing is left in the cache) and `InstallError` when the cache cannot be
        written.
        """
        digest = checked_digest(sha256 if sha256 is not None else file_sha256(wheel))
        found = self.get(digest)
        if found is not None:
            if self.intact(found):
                return found
            redone = self._redo(found, wheel)
            if redone is not None:
                return redone
        return self._make(wheel, digest)

    def _redo(self, damaged: UnpackedWheel, wheel: Path | None) -> UnpackedWheel | None:
        """Remove a damaged entry and unpack it again: from ``wheel`` (a file the caller
        verified) when it exists, else from the entry's kept wheel once its sha256 matches."""
        digest = damaged.sha256
        self._known.pop(digest, None)
        self._checked.discard(digest)
        holding = self.root / f".tmp-{digest[:16]}-{secrets.token_hex(6)}"
        source = None
        if wheel is not None and not wheel.is_relative_to(damaged.root) and wheel.is_file():
            source = wheel
        try:
            if source is None:
                # Moved out before the entry goes, and hashed: a damaged copy is never used.
                try:
                    holding.mkdir()
                    kept = holding / damaged.info.filename
                    damaged.wheel.rename(kept)
                except OSError:
                    pass
                else:
                    source = kept if file_sha256(kept) == digest else None
            shutil.rmtree(damaged.root, ignore_errors=True)
            return None if source is None else self._make(source, digest)
        finally:
            shutil.rmtree(holding, ignore_errors=True)

    def _make(self, wheel: Path, digest: str) -> UnpackedWheel:
        final = self.root / digest
        self._listing().add(digest)  # from now on, `get` looks on disk
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


@functools.cache
def _manifest_decoders() -> tuple[Any, Any]:
    """msgspec decoders of a manifest's head (its files skipped) and of its files."""
    import msgspec  # imported when a manifest is first read

    head = msgspec.defstruct(
        "ManifestHead",
        [
            ("format", int),
            ("filename", str),
            ("name", str),
            ("distribution", str),
            ("version", str),
            ("dist_info", str),
        ],
    )
    files = msgspec.defstruct("ManifestFiles", [("files", list[CachedFile])])
    return msgspec.json.Decoder(head), msgspec.json.Decoder(files)


def _from_manifest(entry: Path, sha256: str, data: bytes) -> UnpackedWheel:
    """The entry a manifest describes (its files read when first asked for). Raises
    ValueError for one of another format or shape (msgspec checks each field's type),
    `ArchiveError` for an unsafe file name."""
    head = _manifest_decoders()[0].decode(data)
    if head.format != _FORMAT:
        raise ValueError(head.format)
    info = WheelInfo(
        filename=head.filename,
        name=NormalizedName(head.name),
        distribution=head.distribution,
        version=head.version,
        dist_info=head.dist_info,
    )
    check_member_name(info.filename, filename=info.filename)
    return UnpackedWheel(root=entry, sha256=sha256, info=info, manifest=data)


def _manifest_files(data: bytes, filename: str) -> tuple[tuple[CachedFile, ...], bool]:
    """A manifest's files, and whether all their paths are `plainly_safe` (the others are
    checked one by one: `ArchiveError` for an unsafe one)."""
    try:
        files: list[CachedFile] = _manifest_decoders()[1].decode(data).files
    except ValueError as exc:  # msgspec's errors are ValueErrors
        raise ArchiveError(
            f"The cache entry of `{filename}` has a damaged manifest ({exc})",
            hint="run the command again: the entry is made again from its wheel",
        ) from exc
    paths = [file.path for file in files]
    plain = all_plainly_safe(paths)
    if not plain:
        for path in paths:
            if not plainly_safe(path):
                check_member_name(path, filename=filename)  # the full test decides
    return tuple(files), plain


def _unpack_into(wheel: Path, staging: Path) -> None:
    """Check ``wheel``, write its files under ``staging/tree`` verifying each against RECORD,
    keep the wheel beside them, then write the manifest."""
    filename = wheel.name
    try:
        zf = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveError(f"`{filename}` is not a readable zip archive: {exc}") from exc
    try:
        with zf:
            manifest = _unpack_members(zf, filename, staging)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        # A local header that disagrees with the central directory, a bad CRC, a broken
        # deflate stream: the archive is corrupt or crafted.
        raise ArchiveError(f"Wheel `{filename}` is a corrupt zip archive: {exc}") from exc
    except NotImplementedError as exc:
        raise ArchiveError(f"Wheel `{filename}` uses an unsupported zip feature: {exc}") from exc
    try:
        os.link(wheel, staging / filename)
    except OSError:
        shutil.copyfile(wheel, staging / filename)
    with (staging / _MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, separators=(",", ":"))


def _unpack_members(zf: zipfile.ZipFile, filename: str, staging: Path) -> dict[str, Any]:
    """Check the wheel, write its files under ``staging/tree`` verifying each against RECORD
    (never more bytes than its zip entry lists); return the manifest."""
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
        # The RECORD size, when it gives one, must be the zip's; no more than that many
        # bytes are ever written, whatever the stream inflates to.
        limit = member.file_size
        if row[1] and row[1] != str(limit):
            raise ArchiveError(
                f"Wheel `{filename}`: `{name}` does not match the hash or size its RECORD lists"
            )
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666)
        with os.fdopen(fd, "wb") as out, zf.open(member) as stream:
            while chunk := stream.read(min(_CHUNK, limit - size + 1)):
                size += len(chunk)
                if size > limit:
                    raise ArchiveError(
                        f"Wheel `{filename}`: `{name}` holds more than the {limit} bytes "
                        "its zip entry lists"
                    )
                hasher.update(chunk)
                out.write(chunk)
        record_hash = check_hash(hasher, expected, size, row[1], member=name, filename=filename)
        head, _, tail = name.rpartition("/")
        if head == info.dist_info and tail in GENERATED_METADATA:
            continue
        st = os.stat(target)  # noqa: PTH116 - hot loop
        files.append([name, record_hash, size, executable, st.st_mtime_ns, st.st_ino])
    return {
        "format": _FORMAT,
        "filename": filename,
        "name": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "dist_info": info.dist_info,
        "files": files,
    }
