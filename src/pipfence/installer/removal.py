"""Uninstalling, in two steps that can be undone in between: `set_aside` moves a
distribution's files aside (each renamed beside itself, which needs no free space), then
`SetAside.discard` deletes them or `SetAside.restore` renames them back. `uninstall` is both
steps at once.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import msgspec

from pipfence.errors import InstallError
from pipfence.installer.destination import Environment, aside_name
from pipfence.installer.satisfies import InstalledDist

__all__ = ["SetAside", "set_aside", "uninstall"]


class SetAside(msgspec.Struct):
    """A distribution whose files were moved aside by `set_aside`: `restore` puts them back,
    `discard` deletes them (the distribution is then uninstalled)."""

    dist: InstalledDist
    env: Environment
    moved: list[tuple[str, str]]
    folders: set[Path]

    def restore(self) -> None:
        """Rename every set-aside path back, the last moved first; `InstallError` naming the
        first path that could not be put back (the others are still tried)."""
        failed: list[str] = []
        for original, aside in reversed(self.moved):
            try:
                Path(aside).replace(original)
            except FileNotFoundError:
                continue
            except OSError as exc:
                failed.append(f"`{original}` ({exc.strerror or exc})")
        self.moved = []
        if failed:
            raise InstallError(
                f"Could not put back {', '.join(failed[:3])} of `{self.dist.name}`",
                hint="remove the environment and sync again",
            )

    def discard(self) -> list[Path]:
        """Delete the set-aside files and prune the folders left empty; return the original
        paths of the files removed. Best effort: the environment is already right, a file
        that cannot be deleted stays behind under its hidden name."""
        removed: list[Path] = []
        for original, aside in self.moved:
            try:
                if os.path.isdir(aside) and not os.path.islink(aside):  # noqa: PTH112,PTH114
                    shutil.rmtree(aside)
                else:
                    os.unlink(aside)  # noqa: PTH108
            except OSError:
                continue
            if original != str(self.dist.dist_info):
                removed.append(Path(original))
        self.moved = []
        _prune(self.folders, self.env)
        return removed


def set_aside(dist: InstalledDist, env: Environment) -> SetAside:
    """Move ``dist``'s files aside, each renamed beside itself: its dist-info folder first (so
    an interrupted move leaves it uninstalled, not half there), then each file its RECORD lists
    inside the environment (entries outside are ignored, never touched) and the bytecode of
    its ``.py`` files. Nothing is deleted; see `SetAside`.

    Raises `InstallError` when the dist-info folder is outside ``env`` or has no RECORD, or when
    a file cannot be moved (what was moved is put back first).
    """
    dist_info = dist.dist_info
    if not env.contains(dist_info) or not dist_info.is_dir():
        raise InstallError(f"`{dist_info}` is not a distribution inside `{env.root}`")
    paths, folders = _recorded_files(dist, env)
    aside = SetAside(dist=dist, env=env, moved=[], folders=folders)
    try:
        for moving in [str(dist_info), *dict.fromkeys(paths)]:
            moved_to = aside_name(moving)
            # Recorded before the rename: an interrupt right after it must not leave a file
            # moved that `restore` does not know of (one never moved is skipped there).
            aside.moved.append((moving, moved_to))
            try:
                os.rename(moving, moved_to)  # noqa: PTH104
            except FileNotFoundError:
                aside.moved.pop()
            except OSError as exc:
                aside.moved.pop()
                raise InstallError(
                    f"Cannot remove `{moving}` while uninstalling `{dist.name}`: "
                    f"{exc.strerror or exc}"
                ) from exc
    except BaseException:  # a failed move, or an interrupt: put back what was moved
        with contextlib.suppress(InstallError):
            aside.restore()
        raise
    return aside


def _recorded_files(dist: InstalledDist, env: Environment) -> tuple[list[str], set[Path]]:
    """The files ``dist``'s RECORD lists inside ``env`` and outside its dist-info folder (not
    folders; symlinks as themselves), each ``.py`` file's bytecode with it, and the folders
    that hold them. Raises `InstallError` when there is no readable RECORD."""
    dist_info = dist.dist_info
    try:
        text = (dist_info / "RECORD").read_text(encoding="utf-8")
    except OSError as exc:
        raise InstallError(
            f"Cannot uninstall `{dist.name}`: `{dist_info.name}` has no readable RECORD",
            hint="remove the environment and sync again",
        ) from exc
    base = dist_info.parent
    paths: list[str] = []
    folders: set[Path] = set()
    for row in csv.reader(text.splitlines()):
        if not row or not row[0]:
            continue
        path = Path(os.path.abspath(base / row[0]))  # noqa: PTH100 - normalise, keep links
        if not env.contains(path) or path.is_relative_to(dist_info):
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        paths.append(str(path))
        folders.add(path.parent)
        if path.suffix == ".py":
            cache_dir = path.parent / "__pycache__"
            if cache_dir.is_dir():
                paths.extend(str(pyc) for pyc in cache_dir.glob(f"{path.stem}.*.pyc"))
                folders.add(cache_dir)
    return paths, folders


def uninstall(dist: InstalledDist, env: Environment) -> list[Path]:
    """Remove ``dist`` from ``env``; return the files removed.

    Removes each file its RECORD lists that lies inside the environment (entries outside it
    are ignored, never touched), the ``__pycache__`` bytecode of removed ``.py`` files, folders
    left empty (never the environment's scheme folders), then the dist-info folder. Raises
    `InstallError` when the dist-info folder is outside ``env`` or has no RECORD, or a file
    cannot be removed (nothing is removed then).
    """
    return set_aside(dist, env).discard()


def _prune(folders: Iterable[Path], env: Environment) -> None:
    # The folders a new venv has; anything an install made may go once it is empty.
    keep = {env.root, *env.site_dirs, env.scripts, env.data, env.root / "include"}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        current = folder
        while current not in keep and env.contains(current) and current != env.root:
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent
