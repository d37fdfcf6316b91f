"""`project_lock`: pipfence commands that write a project run one after the other.

Kept apart from the use cases so that `pipfence lock` takes the lock without importing the
installer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from pipfence.project.files import require_cache_dir
from pipfence.project.project import Project

__all__ = ["project_lock"]

# One lock file a project; in this process, one holder at a time (the same thread may take
# it again inside: `remove_environment` under a command that holds it already).
_guards: dict[str, threading.RLock] = {}
_depth: dict[str, int] = {}
_files: dict[str, int] = {}
_registry = threading.Lock()


@contextlib.contextmanager
def project_lock(project: Project) -> Iterator[None]:
    """Serialise pipfence commands on one project: a lock on the project's folder itself, so
    that commands using different caches (two shells, an editor, CI steps with their own
    ``PIPFENCE_CACHE_DIR``) wait for each other too, and a file lock in the cache keyed by the
    project's path, for a filesystem that cannot lock a folder. Read the Pipfile and the lock
    only while holding it."""
    key = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    require_cache_dir(project.settings.cache_dir)
    folder = project.settings.cache_dir / "project-locks"
    folder.mkdir(parents=True, exist_ok=True)
    with _file_lock(project.root, folder=True), _file_lock(folder / f"{key}.lock"):
        yield


@contextlib.contextmanager
def _file_lock(path: Path, *, folder: bool = False) -> Iterator[None]:
    """An exclusive lock on ``path`` between processes (``flock``, which the kernel drops
    when the process ends, however it ends), waited for as long as another holds it.
    Where there is no ``fcntl`` (Windows), filelock's portable lock: it costs tens of
    milliseconds to import, which every command that writes would pay here. A ``folder``
    is locked where the system can lock one, and not otherwise (nor on Windows)."""
    try:
        import fcntl
    except ImportError:
        if folder:
            yield
            return
        from filelock import FileLock

        with FileLock(str(path)):
            yield
        return
    name = str(path)
    with _registry:
        guard = _guards.setdefault(name, threading.RLock())
    with guard:
        if _depth.get(name, 0) == 0:
            _files[name] = _locked(name, folder=folder)
        _depth[name] = _depth.get(name, 0) + 1
        try:
            yield
        finally:
            _depth[name] -= 1
            if _depth[name] == 0:
                fd = _files.pop(name)
                if fd >= 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)


def _locked(name: str, *, folder: bool) -> int:
    """A descriptor of ``name`` holding an exclusive ``flock``; -1 for a folder that cannot be
    opened or locked (a filesystem without folder locks: the cache's lock serves)."""
    import fcntl  # the caller found it

    flags = os.O_RDONLY | os.O_DIRECTORY if folder else os.O_RDWR | os.O_CREAT
    try:
        fd = os.open(name, flags, 0o644)
    except OSError:
        if folder:
            return -1
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say_waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        if folder:
            return -1
        raise
    except BaseException:
        os.close(fd)
        raise
    return fd


def _say_waiting() -> None:
    """One line on stderr while another command holds the project: a command that only
    waited would show nothing but its spinner."""
    import logging  # here: only a command that has to wait pays for it

    logging.getLogger("pipfence.project").warning(
        "waiting for another pipfence command on this project to finish"
    )
