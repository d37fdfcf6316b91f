"""Placing one cached file into an environment: a clone, a copy or a hard link, as the cache's
link mode says (`LinkMode`, `place_file`)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Literal, get_args

__all__ = ["LINK_MODES", "LinkMode", "place_file"]

#: How a cached file becomes an environment's file:
#:   ``auto``     (the default) a clone where the filesystem can make one, else a hard link:
#:                own files for free where reflinks exist, the speed of links where they do not
#:                (the stat check then catches an edit that reached the cache: see `intact`);
#:   ``clone``    a copy-on-write clone (reflink) where the filesystem can make one (btrfs, XFS,
#:                bcachefs, ...), else a copy: the environment's file is its own either way;
#:   ``copy``     a plain copy (in the kernel where it can);
#:   ``hardlink`` the cache's own file: fastest, no disk used, but an edit made in place in one
#:                environment reaches the cache and every environment linked to the same file.
LinkMode = Literal["auto", "clone", "copy", "hardlink"]
LINK_MODES: tuple[LinkMode, ...] = get_args(LinkMode)

_CHUNK = 1 << 20


#: FICLONE from <linux/fs.h>: make the destination share the source's extents (reflink).
_FICLONE = 0x40049409
#: errno values that mean "no clone here" (another filesystem, or one without reflinks).
_NO_CLONE = frozenset(
    {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.ENOSYS, errno.EPERM}
)


def place_file(source: str, target: str, mode: LinkMode, *, executable: bool) -> LinkMode:
    """Make ``target`` (which must not exist) hold ``source``'s bytes as ``mode`` says, and
    return the mode that worked, for the caller to keep for the rest of a wheel: ``clone``
    falls back to ``copy``; ``auto`` is a clone, else a hard link; ``hardlink`` falls back to
    ``copy`` (another filesystem, or one without hard links). A copy gets its own permissions
    (``executable`` or not, under the umask), as an unpacked file would."""
    if mode == "hardlink":
        try:
            os.link(source, target)
        except (FileNotFoundError, FileExistsError):
            raise
        except OSError:
            mode = "copy"
        else:
            return "hardlink"
    fd_in = os.open(source, os.O_RDONLY)
    try:
        fd_out = os.open(
            target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666
        )
        try:
            if mode in ("clone", "auto") and _clone(fd_in, fd_out):
                mode = "clone"
            elif mode == "auto":
                os.close(fd_out)
                os.unlink(target)  # noqa: PTH108 - hot loop
                return place_file(source, target, "hardlink", executable=executable)
            else:
                _copy(fd_in, fd_out)
                mode = "copy"
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd_out)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)  # noqa: PTH108 - hot loop
            raise
        os.close(fd_out)
    finally:
        os.close(fd_in)
    return mode


def _clone(fd_in: int, fd_out: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    try:
        fcntl.ioctl(fd_out, _FICLONE, fd_in)
    except OSError as exc:
        if exc.errno in _NO_CLONE:
            return False
        raise
    return True


def _copy(fd_in: int, fd_out: int) -> None:
    """Copy in the kernel (``copy_file_range``, which itself shares extents on filesystems
    that can), else through a buffer."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            while copy_range(fd_in, fd_out, 1 << 30):
                pass
        except OSError as exc:
            if exc.errno not in _NO_CLONE:
                raise
            os.lseek(fd_in, 0, os.SEEK_SET)
            os.lseek(fd_out, 0, os.SEEK_SET)
            os.ftruncate(fd_out, 0)
        else:
            return
    while chunk := os.read(fd_in, _CHUNK):
        os.write(fd_out, chunk)
