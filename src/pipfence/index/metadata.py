"""A wheel's core metadata read from its zip, fetching only the bytes the zip reader touches.

A wheel's ``*.dist-info/METADATA`` (PEP 427) is found through the zip's central directory at the
end of the file. `RangeFile` presents a remote file of known size as a seekable file whose bytes
are fetched by HTTP range requests on demand, so `zipfile` reads the directory and one member —
typically two requests (the tail, then the member) instead of the whole wheel.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import IO

from pipfence.models.names import NormalizedName, canonical_name

__all__ = ["RangeFile", "read_wheel_metadata"]

_METADATA = re.compile(r"[^/]+\.dist-info/METADATA")
_DIST_INFO_SUFFIX = len(".dist-info")

# The zip records `_direct_metadata` reads (APPNOTE 4.3.7, 4.3.12, 4.3.16), little-endian.
_END = struct.Struct("<4s4H2LH")  # end of central directory, 22 bytes, then the comment
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory header, 46 bytes + name/extra/comment
_LOCAL = struct.Struct("<4s5H3L2H")  # local header, 30 bytes + name/extra
_END_SIG, _CENTRAL_SIG, _LOCAL_SIG = b"PK\x05\x06", b"PK\x01\x02", b"PK\x03\x04"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_MARK = 0xFFFFFFFF  # a size or offset that lives in a ZIP64 extra field instead
_METADATA_TAIL = b".dist-info/METADATA"
_STORED, _DEFLATED = 0, 8
_ENCRYPTED, _UTF8 = 0x1, 0x800


class RangeFile(io.RawIOBase):
    """A read-only, seekable file of ``size`` bytes whose content comes from
    ``fetch(start, end)`` (``end`` exclusive).

    Bytes already known (``known``: start offset → bytes, e.g. the tail fetched first) are never
    fetched again; a read that is not covered fetches at least ``min_fetch`` bytes, so the small
    reads a zip reader makes (a header, then the data) share one request. Not thread-safe: one
    per metadata read.
    """

    def __init__(
        self,
        size: int,
        fetch: Callable[[int, int], bytes],
        *,
        known: Iterable[tuple[int, bytes]] = (),
        min_fetch: int = 64 * 1024,
    ) -> None:
        super().__init__()
        self.size = size
        self._fetch = fetch
        self._segments: list[tuple[int, bytes]] = [(s, b) for s, b in known if b]
        self._min_fetch = min_fetch
        self._pos = 0
        self.fetches = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            msg = f"invalid whence {whence}"
            raise ValueError(msg)
        if position < 0:
            msg = "negative seek position"
            raise OSError(msg)
        self._pos = position
        return position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]  # RawIOBase types the buffer as a generic WriteableBuffer
        start = self._pos
        end = min(self.size, start + len(buffer))
        if end <= start:
            return 0
        data = self._bytes(start, end)
        view = memoryview(buffer)
        view[: len(data)] = data
        self._pos = start + len(data)
        return len(data)

    def _bytes(self, start: int, end: int) -> bytes:
        for offset, data in self._segments:
            if offset <= start and end <= offset + len(data):
                return data[start - offset : end - offset]
        fetch_end = min(self.size, max(end, start + self._min_fetch))
        data = self._fetch(start, fetch_end)
        self.fetches += 1
        if len(data) < end - start:
            msg = "the server returned fewer bytes than the range asked for"
            raise OSError(msg)
        self._segments.append((start, data))
        return data[: end - start]


def read_wheel_metadata(
    wheel: IO[bytes], *, name: NormalizedName | None = None, limit: int = 16 * 1024 * 1024
) -> bytes:
    """The bytes of the wheel's ``{name}-{version}.dist-info/METADATA``.

    When the zip has several dist-info directories, the one for ``name`` is chosen. Raises
    `ValueError` (with the reason) for a file that is not a readable zip, has no METADATA, or
    whose METADATA is larger than ``limit`` bytes. Errors from ``wheel`` itself (e.g. the
    network behind a `RangeFile`) propagate unchanged.
    """
    try:
        direct = _direct_metadata(wheel, name, limit)
    except (OSError, EOFError, zlib.error, struct.error):
        direct = None  # the zip reader below says what is wrong, in its words
    if direct is not None:
        return direct
    try:
        with zipfile.ZipFile(wheel) as archive:
            candidates = [i for i in archive.infolist() if _METADATA.fullmatch(i.filename)]
            if name is not None and len(candidates) > 1:
                candidates = [i for i in candidates if _dist_info_name(i.filename) == name]
            if len(candidates) != 1:
                msg = "it has no single `*.dist-info/METADATA`"
                raise ValueError(msg)
            (info,) = candidates
            if info.file_size > limit:
                msg = f"its METADATA is larger than {limit} bytes"
                raise ValueError(msg)
            with archive.open(info) as member:
                data = member.read(limit + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
        msg = f"it is not a readable zip ({exc})"
        raise ValueError(msg) from exc
    except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encryption
        msg = f"its METADATA cannot be extracted ({exc})"
        raise ValueError(msg) from exc
    if len(data) > limit:
        msg = f"its METADATA is larger than {limit} bytes"
        raise ValueError(msg)
    return data


def _dist_info_name(path: str) -> NormalizedName:
    directory = path.partition("/")[0][:-_DIST_INFO_SUFFIX]
    return canonical_name(directory.rpartition("-")[0] or directory)


def _direct_metadata(wheel: IO[bytes], name: NormalizedName | None, limit: int) -> bytes | None:
    """`read_wheel_metadata` for the common wheel, reading the central directory as raw records
    instead of building a `zipfile.ZipInfo` for each of its (up to thousands of) members.

    Returns None for anything it does not take on (a zip comment it cannot see at once, ZIP64,
    bytes before the zip, an encrypted or unusual member, a short read, a size or CRC that does
    not match, no single METADATA): `zipfile` then reads the same zip and raises its own error,
    so what is refused, and why, does not depend on this path.
    """
    central = _central_directory(wheel)
    if central is None:
        return None
    found = _metadata_members(*central)
    if found is None:
        return None
    if name is not None and len(found) > 1:
        found = [m for m in found if _dist_info_name(m[0]) == name]
    if len(found) != 1:
        return None
    return _member_body(wheel, found[0], limit)


def _central_directory(wheel: IO[bytes]) -> tuple[bytes, int] | None:
    """The central directory of a zip with no comment, no ZIP64 record and nothing before it,
    and how many records it holds; None for any other zip (see `_direct_metadata`)."""
    size = wheel.seek(0, io.SEEK_END)
    if size < _END.size:
        return None
    wheel.seek(size - _END.size)
    end = wheel.read(_END.size)
    if end[:4] != _END_SIG or end[-2:] != b"\0\0":  # no comment: where zipfile looks first too
        return None
    if size >= _END.size + 20:
        wheel.seek(size - _END.size - 20)
        if wheel.read(4) == _ZIP64_LOCATOR_SIG:
            return None
    _, disk, cd_disk, _, entries, cd_size, cd_offset, _ = _END.unpack(end)
    if disk or cd_disk or cd_offset + cd_size != size - _END.size:
        return None
    wheel.seek(cd_offset)
    directory = wheel.read(cd_size)
    if len(directory) != cd_size:
        return None
    return directory, entries


def _member_body(
    wheel: IO[bytes], member: tuple[str, bytes, int, int, int, int, int, int], limit: int
) -> bytes | None:
    """The uncompressed bytes of one member `_metadata_members` found, checked against its
    local header, its size and its CRC; None when anything does not match or is unusual."""
    _, raw_name, flags, method, crc, packed, unpacked, offset = member
    if flags & _ENCRYPTED or method not in (_STORED, _DEFLATED) or unpacked > limit:
        return None
    wheel.seek(offset)
    local = wheel.read(_LOCAL.size)
    if len(local) != _LOCAL.size:
        return None
    signature, *_, name_len, extra_len = _LOCAL.unpack(local)
    if signature != _LOCAL_SIG or wheel.read(name_len) != raw_name:
        return None
    wheel.seek(offset + _LOCAL.size + name_len + extra_len)
    body = wheel.read(packed)
    if len(body) != packed:
        return None
    if method == _DEFLATED:
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        body = inflate.decompress(body, limit + 1)
    if len(body) != unpacked or zlib.crc32(body) != crc:
        return None
    return body


def _metadata_members(
    directory: bytes, entries: int
) -> list[tuple[str, bytes, int, int, int, int, int, int]] | None:
    """The ``*.dist-info/METADATA`` members of a central directory: (name, its raw bytes, flags,
    method, crc32, compressed and uncompressed size, local header offset); None when the
    directory is not the plain run of ``entries`` records it should be."""
    found = []
    unpack = _CENTRAL.unpack_from
    position = 0
    for _ in range(entries):
        (
            signature,
            _,
            _,
            flags,
            method,
            _,
            _,
            crc,
            packed,
            unpacked,
            name_len,
            extra_len,
            comment_len,
            _,
            _,
            _,
            offset,
        ) = unpack(directory, position)
        if signature != _CENTRAL_SIG:
            return None
        start = position + _CENTRAL.size
        stop = start + name_len
        if (
            stop - start > len(_METADATA_TAIL)
            and directory.endswith(_METADATA_TAIL, start, stop)
            and directory.find(b"/", start, stop - len(_METADATA_TAIL)) < 0
        ):
            if _ZIP64_MARK in (packed, unpacked, offset):  # zipfile's to read
                return None
            raw = directory[start:stop]
            text = raw.decode("utf-8" if flags & _UTF8 else "cp437")
            found.append((text, raw, flags, method, crc, packed, unpacked, offset))
        position = stop + extra_len + comment_len
    return found if position == len(directory) else None
