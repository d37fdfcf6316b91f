"""A wheel's core metadata read from its zip, fetching only the bytes the zip reader touches.

A wheel's ``*.dist-info/METADATA`` (PEP 427) is found through the zip's central directory at the
end of the file. `RangeFile` presents a remote file of known size as a seekable file whose bytes
are fetched by HTTP range requests on demand, so `zipfile` reads the directory and one member —
typically two requests (the tail, then the member) instead of the whole wheel.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import IO

from pipfence.models.names import NormalizedName, canonical_name

__all__ = ["RangeFile", "read_wheel_metadata"]

_METADATA = re.compile(r"[^/]+\.dist-info/METADATA")
_DIST_INFO_SUFFIX = len(".dist-info")


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
