"""Atomic file writes (a temp file in the same folder, fsync, rename; the file's mode kept),
and the check that the cache folder can be written."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from pipfence.errors import UsageError

__all__ = ["atomic_write", "require_cache_dir"]


def require_cache_dir(path: Path) -> None:
    """Create the cache folder ``path`` if needed and check that a file can be made in it;
    `UsageError` naming the folder and the cause otherwise.

    pipfence does not carry on without its cache: the folder also holds the lock files that
    keep two runs on one project apart and the temporary folders of builds, so a read-only or
    misplaced cache is reported before anything else happens (as uv does; pip instead warns
    and runs uncached).
    """
    hint = "set PIPFENCE_CACHE_DIR to a folder you can write, or fix this one's permissions"
    if path.exists() and not path.is_dir():
        raise UsageError(f"the cache folder `{path}` is not a folder", hint=hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=path)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        cause = (exc.strerror or type(exc).__name__).lower()
        raise UsageError(f"the cache folder `{path}` cannot be used: {cause}", hint=hint) from None


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, whole.

    An existing file's permission bits are kept; a new file gets the usual 0o666 & ~umask.
    """
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
