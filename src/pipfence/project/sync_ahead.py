"""The check of the unpacked-wheel cache for a sync into a new environment, started as soon as
the command knows its project: before the sync's own modules load (a third of a second of a
large project's sync), so that a helper process stats the cached files on another core
meanwhile (`pipfence.installer.ahead_check.AheadCheck`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.installer.ahead_check import AheadCheck
from pipfence.installer.entry_check import checked_digest

if TYPE_CHECKING:
    from pipfence.project.project import Project
    from pipfence.project.settings import Settings

__all__ = ["UNPACKED_FOLDER", "early_cache_check", "unpacked_root"]

#: The cache folder of unpacked wheels, under the settings' cache folder.
UNPACKED_FOLDER = "wheels-unpacked"


def unpacked_root(settings: Settings) -> Path:
    """Where the unpacked-wheel cache lives for these settings."""
    return settings.cache_dir / UNPACKED_FOLDER


def early_cache_check(project: Project) -> AheadCheck | None:
    """When ``project``'s environment is still to be made: a helper checking the cache entry
    of every file the lock lists (any category: the check only vouches for entries, and an
    entry not asked for is checked in-process when used). None when the environment exists or
    the lock cannot be read (the sync reports that itself)."""
    if (project.venv_path() / "pyvenv.cfg").is_file():
        return None
    root = unpacked_root(project.settings)
    try:
        # The entries there: a lock lists every platform's files, and most have none. Asking
        # for only these also keeps the helper's input within what a pipe holds, so that
        # writing it never waits for the helper to start.
        present = set(os.listdir(root))  # noqa: PTH208 - names only
        lock = json.loads(project.lock_path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return AheadCheck.start(root, sorted(_digests(lock, present)))


def _digests(lock: object, present: set[str]) -> set[str]:
    """Each ``sha256:<hex>`` the lock's packages list that names an entry in ``present``."""
    found: set[str] = set()
    if not isinstance(lock, dict):
        return found
    for category, packages in lock.items():
        if category == "_meta" or not isinstance(packages, dict):
            continue
        for package in packages.values():
            hashes = package.get("hashes") if isinstance(package, dict) else None
            for entry in hashes if isinstance(hashes, list) else ():
                algorithm, _, digest = str(entry).partition(":")
                digest = digest.strip().lower()
                if digest not in present or algorithm.strip().lower() != "sha256":
                    continue
                try:
                    found.add(checked_digest(digest))
                except ValueError:
                    continue
    return found
