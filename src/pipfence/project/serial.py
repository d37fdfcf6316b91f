"""`project_lock`: pipfence commands that write a project run one after the other.

Kept apart from the use cases so that `pipfence lock` takes the lock without importing the
installer.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from filelock import FileLock

from pipfence.project.files import require_cache_dir
from pipfence.project.project import Project

__all__ = ["project_lock"]


@contextlib.contextmanager
def project_lock(project: Project) -> Iterator[None]:
    """Serialise pipfence commands on one project: a file lock in the cache, keyed by the
    project's path. Read the Pipfile and the lock only while holding it."""
    key = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    require_cache_dir(project.settings.cache_dir)
    folder = project.settings.cache_dir / "project-locks"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / f"{key}.lock")):
        yield
