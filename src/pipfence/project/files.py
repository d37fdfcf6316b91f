"""Atomic file writes: a temp file beside the file written, fsync, rename; the file's mode kept;
and the check that the cache folder can be written.

A path that is a symlink keeps being one: the write goes to the file it leads to, with the
temp file beside that file (so the rename stays on one filesystem). `FileSet` writes several
files together: each is staged first, nothing is replaced until all are, and a rename that
fails puts the ones already replaced back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import tempfile
import time
from pathlib import Path

import msgspec

from pipfence.errors import FileWriteError, UsageError

__all__ = ["FileSet", "atomic_write", "require_cache_dir", "write_target"]


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


def write_target(path: Path) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or, when it is a symlink, the
    file its links lead to (which may not exist yet)."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _stage(target: Path, data: bytes) -> Path:
    """Write ``data`` to a new temp file beside ``target``, fsynced, with ``target``'s
    permission bits (or 0o666 & ~umask when it does not exist); return the temp file."""
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write(path: Path, data: bytes, *, display: str | None = None) -> None:
    """Replace ``path`` (through a symlink: its target) with ``data`` so that readers see the
    old or the new file, whole. `FileWriteError` naming ``display`` (default: the path) and
    the cause, with nothing changed, when it cannot."""
    files = FileSet()
    files.add(path, data, display=display or str(path), keep=False)
    files.commit()


def _keep(target: Path) -> Path | None:
    """A second name for ``target`` as it is now (a hard link, or a copy where links are not
    possible), to put back after it was replaced; None when it does not exist."""
    if not target.exists():
        return None
    keep = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
    try:
        os.link(target, keep)
    except FileExistsError:
        raise
    except OSError:
        return _stage(target, target.read_bytes())
    return keep


#: How old a staged file beside a project's file must be to be taken for a dead command's.
STALE_AFTER = 3600.0

_STAGED_NAME = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.(?:tmp|old)")


def _sweep_stale(target: Path) -> None:
    """Remove the staged copies of ``target`` (``.Pipfile.x1y2z3w4.tmp``, ``….old``) that a
    command killed outright (SIGKILL, the machine going down) left beside it: no command
    stages a file for an hour before swapping it in. Best effort."""
    prefix = f".{target.name}."
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    limit = time.time() - STALE_AFTER
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        match = _STAGED_NAME.fullmatch(entry.name)
        if match is None or match["name"] != target.name:
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                os.unlink(entry.path)  # noqa: PTH108 - a scandir entry's path


def _write_error(display: str, exc: OSError) -> FileWriteError:
    cause = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some space"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "make it writable"
    else:
        fix = "fix the cause"
    return FileWriteError(
        f"Could not write `{display}`: {cause}",
        hint=f"nothing was changed; {fix} and run the command again",
    )


class _Staged(msgspec.Struct):
    display: str
    target: Path
    new: Path
    old: Path | None  # a copy of the file as it was, to put back; None when there was none
    replaced: bool = False


class FileSet:
    """Files written together: `add` stages each (the new content, and a second name for the
    old file), `commit` renames them all into place, `discard` removes what is left staged.

    Errors are `FileWriteError` naming the file (by ``display``) and the cause; after any of
    them every file is as it was.
    """

    def __init__(self) -> None:
        self._staged: list[_Staged] = []

    def add(self, path: Path, data: bytes, *, display: str, keep: bool = True) -> None:
        """Stage ``data`` for ``path``; ``keep=False`` keeps no second name for the old file
        (enough for a set of one file: its one rename cannot need undoing). Staged files of
        ``path`` an hour old are removed first (`_sweep_stale`)."""
        target = write_target(path)
        _sweep_stale(target)
        try:
            new = _stage(target, data)
            item = _Staged(display, target, new, None)
            self._staged.append(item)
            if keep:
                item.old = _keep(target)
        except OSError as exc:
            self.discard()
            raise _write_error(display, exc) from exc
        except BaseException:  # an interrupt: no staged file is left behind
            self.discard()
            raise

    def commit(self) -> None:
        """Replace every file; when one cannot be replaced, put back those already replaced
        and raise."""
        for item in self._staged:
            try:
                item.new.replace(item.target)
            except OSError as exc:
                self._put_back()
                self.discard()
                raise _write_error(item.display, exc) from exc
            item.replaced = True
        for folder in {item.target.parent for item in self._staged}:
            _sync_folder(folder)
        self.discard()

    def _put_back(self) -> None:
        for item in reversed(self._staged):
            if not item.replaced:
                continue
            with contextlib.suppress(OSError):
                if item.old is None:
                    item.target.unlink()
                else:
                    item.old.replace(item.target)
                    item.old = None
            item.replaced = False

    def discard(self) -> None:
        """Remove the staged temp files (those not renamed into place)."""
        staged, self._staged = self._staged, []
        for item in staged:
            for tmp in (item.new, item.old):
                if tmp is not None:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
