"""The open files behind cache entries read in place: `Blob` (an entry's bytes, by slices),
`FileBlob` (an open file read at offsets) and `HANDLES`, which keeps how many such files this
process holds open under a share of its limit (`IndexCache.open_page`)."""

from __future__ import annotations

import os
import threading
import weakref
from typing import BinaryIO, Protocol

__all__ = ["HANDLES", "Blob", "FileBlob", "Handles", "close_handle"]


class Blob(Protocol):
    """A cache entry's bytes, read by slices: bytes, or the open file (`FileBlob`)."""

    def __getitem__(self, key: slice) -> bytes: ...

    def __len__(self) -> int: ...


class Handles:
    """How many cache files `FileBlob`s hold open in this process, kept under a quarter of
    the process's limit of open files (at most 1024), so that sockets and the other files a
    command opens always find a handle: past it, pages are read into memory instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._budget: int | None = None

    def take(self) -> bool:
        with self._lock:
            if self._budget is None:
                self._budget = _handle_budget()
            if self._open >= self._budget:
                return False
            self._open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._open -= 1


def _handle_budget() -> int:
    try:
        import resource
    except ImportError:  # Windows: the C runtime's default of 512 open files
        return 128
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(0, min(1024, soft // 4))


HANDLES = Handles()


def close_handle(handle: BinaryIO) -> None:
    handle.close()
    HANDLES.give_back()


class FileBlob:
    """An open cache file read at offsets (``pread``), closed when no longer referenced."""

    __slots__ = ("__weakref__", "_handle", "_lock", "_size")

    def __init__(self, handle: BinaryIO) -> None:
        """Takes over ``handle``, for which `HANDLES.take` said yes."""
        self._handle = handle
        self._lock = threading.Lock()  # for the seek-and-read where there is no pread
        weakref.finalize(self, close_handle, handle)
        self._size = os.fstat(handle.fileno()).st_size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _step = key.indices(self._size)
        if stop <= start:
            return b""
        if hasattr(os, "pread"):
            return os.pread(self._handle.fileno(), stop - start, start)
        with self._lock:
            self._handle.seek(start)
            return self._handle.read(stop - start)
