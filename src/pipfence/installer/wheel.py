"""Installing wheels into an environment: one (`install_wheel`), many at once (`install_many`),
and replacing distributions as one transaction (`EnvChange`).

Every install goes through the unpacked-wheel cache: the wheel is checked and unpacked (once,
verified against RECORD; see `pipfence.installer.cache`), then
`pipfence.installer.unpacked_install.install_unpacked` places its files into the
environment. Without a persistent cache, a private one inside the environment is used for
that one install (hard-linked: it is removed afterwards, so nothing else shares the files).
When an install fails, everything it wrote is removed, folders it made are pruned, and files
it displaced come back. A file it displaced that another installed distribution's RECORD
lists is reported (one warning line a wheel).

Replacing distributions is a transaction (`EnvChange`): the old ones are set aside
(`pipfence.installer.removal.set_aside`), the new ones installed, and only when the caller
commits are the set-aside files deleted; a rollback uninstalls what was installed and renames
every set-aside file back, so the environment is exactly as it was.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Self

import msgspec
from installer.exceptions import InstallerError

from pipfence._signals import deferred_interrupts
from pipfence.errors import ArchiveError, InstallError, PipfenceError
from pipfence.installer import leftovers
from pipfence.installer.bulk_link import BulkLinker
from pipfence.installer.cache import UnpackedCache
from pipfence.installer.destination import EnvDestination, Environment
from pipfence.installer.removal import SetAside, set_aside, uninstall
from pipfence.installer.satisfies import InstalledDist
from pipfence.installer.unpacked_install import install_unpacked

__all__ = [
    "EnvChange",
    "WheelInstall",
    "install_many",
    "install_wheel",
]

#: Threads installing wheels at once (`install_many`): as many as the cores, at least 2, at
#: most 4. Placing a file is a system call or two of directory work in the kernel, which
#: runs without the interpreter lock: a second thread keeps the other core busy while the
#: first waits on the file system (stress sync on 2 cores, alternating with uv, medians of
#: 6: 4.35 s with one thread, 3.48 s with two).
_INSTALL_WORKERS = max(2, min(4, os.cpu_count() or 1))


class WheelInstall(msgspec.Struct, frozen=True, kw_only=True):
    """One wheel for `install_many`; the fields are `install_wheel`'s parameters."""

    path: Path
    sha256: str | None = None
    requested: bool = False
    direct_url: Mapping[str, Any] | None = None


def install_wheel(
    wheel_path: Path,
    env: Environment,
    *,
    cache: UnpackedCache | None = None,
    sha256: str | None = None,
    requested: bool = False,
    direct_url: Mapping[str, Any] | None = None,
    installer_name: str = "pipfence",
    on_warning: Callable[[str], None] | None = None,
    known_dirs: set[str] | None = None,
    linker: BulkLinker | None = None,
) -> InstalledDist:
    """Install the wheel at ``wheel_path`` into ``env``; return the installed distribution.

    The wheel must already be the file the lock allows: this checks that it is a safe, self-
    consistent wheel, not that it is the right one. ``sha256`` is its digest when known (it
    keys the cache). ``requested`` writes REQUESTED (a direct dependency, PEP 376);
    ``direct_url`` is written as ``direct_url.json`` (PEP 610) when given. INSTALLER gets
    ``installer_name``. Files present already (another distribution's) are replaced, and
    ``on_warning`` is told in one line when another installed distribution listed them;
    uninstall an older version of the same distribution first. Bytecode is not compiled.
    ``known_dirs`` is a set of folders of ``env`` already checked, shared by the installs
    into one environment (`install_many`), ``linker`` the helpers that link a big wheel's
    files for them.

    Raises `ArchiveError` for an unsafe or corrupt wheel and `InstallError` when the environment
    cannot be written; either way nothing of this wheel is left in the environment.
    """
    private: Path | None = None
    if cache is None:
        private = env.root / f".pipfence-unpack-{secrets.token_hex(4)}"
        cache = UnpackedCache(private, link_mode="hardlink")
    try:
        unpacked = cache.unpack(wheel_path, sha256=sha256)
        info = unpacked.info
        destination = EnvDestination(
            env,
            info.distribution,
            info.filename,
            cache.link_mode,
            known_dirs=known_dirs,
            tree=unpacked.tree,
            linker=linker,
        )
        metadata = _added_metadata(installer_name, requested=requested, direct_url=direct_url)
        try:
            install_unpacked(unpacked, destination, metadata)
        except BaseException as exc:
            destination.rollback()
            mapped = _install_failure(exc, info.filename, env)
            if mapped is None:
                raise
            raise mapped from exc
        destination.commit()
        if destination.displaced and on_warning is not None:
            note = _overwritten(env, info.filename, destination)
            if note is not None:
                on_warning(note)
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
    if destination.dist_info is None:  # installer always finalises; this is a bug if hit
        raise InstallError(f"Installing `{info.filename}` wrote no RECORD")
    editable, url = _direct_origin(direct_url)
    return InstalledDist(
        name=info.name,
        version=info.version,
        dist_info=destination.dist_info,
        installer=installer_name,
        editable=editable,
        url=url,
    )


def _added_metadata(
    installer_name: str, *, requested: bool, direct_url: Mapping[str, Any] | None
) -> dict[str, bytes]:
    """The files an install adds to the ``.dist-info`` folder: INSTALLER, REQUESTED (PEP 376)
    for a direct dependency, ``direct_url.json`` (PEP 610) when given."""
    metadata = {"INSTALLER": f"{installer_name}\n".encode()}
    if requested:
        metadata["REQUESTED"] = b""
    if direct_url is not None:
        metadata["direct_url.json"] = json.dumps(dict(direct_url), sort_keys=True).encode()
    return metadata


def _install_failure(exc: BaseException, filename: str, env: Environment) -> PipfenceError | None:
    """The error an install that raised ``exc`` reports: `ArchiveError` for a wheel that
    `installer` refuses, `InstallError` for an environment that cannot be written; None to
    let ``exc`` through as it is (one of ours, an interrupt, a bug)."""
    if isinstance(exc, PipfenceError):
        return None
    if isinstance(exc, (InstallerError, ValueError)):
        return ArchiveError(f"Wheel `{filename}` cannot be installed: {exc}")
    if isinstance(exc, OSError):
        return InstallError(
            f"Could not install `{filename}` into `{env.root}`: {exc}",
            hint=_install_hint(exc),
        )
    return None


def _install_hint(exc: OSError) -> str:
    """What to do about an install the filesystem refused, by its cause."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space where the environment is, then run the command again"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "make the environment's folder writable, then run the command again"
    return "if a cached file went missing, clear pipfence's wheel cache"


def _direct_origin(direct_url: Mapping[str, Any] | None) -> tuple[bool, str | None]:
    """Whether a ``direct_url.json`` (PEP 610) says editable, and the URL it records."""
    if direct_url is None:
        return False, None
    dir_info = direct_url.get("dir_info")
    url = direct_url.get("url")
    editable = isinstance(dir_info, Mapping) and dir_info.get("editable") is True
    return editable, url if isinstance(url, str) else None


def _overwritten(env: Environment, filename: str, destination: EnvDestination) -> str | None:
    """One line naming the other installed distributions whose files ``destination``
    replaced; None when no other distribution's RECORD lists any of them."""
    replaced = {os.path.normcase(target) for target, _aside in destination.displaced}
    owners: dict[str, list[str]] = {}
    for dist in env.installed().values():
        if destination.dist_info is not None and dist.dist_info == destination.dist_info:
            continue
        try:
            text = (dist.dist_info / "RECORD").read_text(encoding="utf-8")
        except OSError:
            continue
        for row in csv.reader(text.splitlines()):
            if not row or not row[0]:
                continue
            path = os.path.normcase(os.path.normpath(os.path.join(dist.dist_info.parent, row[0])))  # noqa: PTH118
            if path in replaced:
                owners.setdefault(dist.name, []).append(os.path.relpath(path, env.root))
    if not owners:
        return None
    names = ", ".join(f"`{name}`" for name in sorted(owners))
    count = sum(len(paths) for paths in owners.values())
    example = min(min(paths) for paths in owners.values())
    return (
        f"`{filename}` overwrote {count} file{'s' if count != 1 else ''} installed by {names} "
        f"(e.g. `{example}`)"
    )


def install_many(
    items: Sequence[WheelInstall],
    env: Environment,
    *,
    cache: UnpackedCache | None = None,
    workers: int | None = None,
    installer_name: str = "pipfence",
    on_warning: Callable[[str], None] | None = None,
    on_installed: Callable[[str], None] | None = None,
    on_done: Callable[[InstalledDist], None] | None = None,
) -> list[InstalledDist]:
    """Install independent wheels concurrently; return their distributions in input order.
    ``on_installed`` is told each distribution's name as soon as it is in, and ``on_done``
    the distribution itself, from the installing thread (where no interrupt lands: a caller
    that records it there cannot miss one, whenever Ctrl-C comes).

    Uses a thread pool (``workers``, default as many as the cores, 2 to 4: see
    `_INSTALL_WORKERS`). All or nothing: on the
    first failure (or an interrupt) no further installs start, the ones already done are
    uninstalled, and the error of the earliest failed item (in input order) is raised. Two
    items must not install the same distribution or the same files.
    """
    if not items:
        return []
    known_dirs: set[str] = set()

    def one(item: WheelInstall) -> InstalledDist:
        dist = install_wheel(
            item.path,
            env,
            cache=cache,
            sha256=item.sha256,
            requested=item.requested,
            direct_url=item.direct_url,
            installer_name=installer_name,
            on_warning=on_warning,
            known_dirs=known_dirs,
            linker=linker,
        )
        if on_done is not None:
            on_done(dist)
        if on_installed is not None:
            on_installed(dist.name)
        return dist

    workers = workers or _INSTALL_WORKERS
    linker = BulkLinker(env.root)
    with (
        contextlib.closing(linker),
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipfence-install") as pool,
    ):
        # The biggest wheels first, so that no thread is left with one at the end while the
        # others are idle; the futures stay in input order.
        started = {i: pool.submit(one, items[i]) for i in _largest_first(items)}
        futures: list[Future[InstalledDist]] = [started[i] for i in range(len(items))]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException as exc:
            # Interrupted: start nothing more, let the running installs end, undo them all.
            for future in futures:
                future.cancel()
            wait(futures)
            _undo_installs(futures, env, exc)
            raise
        failed = any(f.done() and not f.cancelled() and f.exception() for f in futures)
        if failed:
            for future in futures:
                future.cancel()
        wait(futures)
    errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
    if not errors:
        return [f.result() for f in futures]
    first = errors[0]
    assert first is not None  # noqa: S101 - errors holds only real exceptions
    _undo_installs(futures, env, first)
    raise first


def _largest_first(items: Sequence[WheelInstall]) -> list[int]:
    """The indexes of ``items``, the biggest wheel file first (a missing one last)."""

    def size(index: int) -> int:
        try:
            return items[index].path.stat().st_size
        except OSError:
            return 0

    return sorted(range(len(items)), key=size, reverse=True)


def _undo_installs(
    futures: Sequence[Future[InstalledDist]], env: Environment, error: BaseException
) -> None:
    """Uninstall the distributions the finished futures installed, the last one first; a
    failure to do so is noted on ``error``."""
    for future in reversed(futures):
        if future.cancelled() or not future.done() or future.exception() is not None:
            continue
        try:
            uninstall(future.result(), env)
        except PipfenceError as exc:
            error.add_note(f"rolling back `{future.result().name}` failed too: {exc}")


class EnvChange:
    """Changes to environments that can still be undone, for a caller that must keep them
    open until something else (writing Pipfile and lock) has succeeded too.

    `set_aside` moves distributions aside, `install` installs wheels (all or nothing); then
    `commit` deletes what was set aside, or `rollback` uninstalls what was installed and puts
    back what was set aside, the last change first. As a context manager it commits when the
    block succeeds and rolls back when it raises (an interrupt included).
    """

    def __init__(self) -> None:
        self._asides: list[SetAside] = []
        self._installed: list[tuple[InstalledDist, Environment]] = []
        #: Each environment changed, by its root: the mark of the change (`leftovers`).
        self._marks: dict[Path, Path] = {}

    def _begin(self, env: Environment) -> None:
        if env.root not in self._marks:
            self._marks[env.root] = leftovers.begin(env.root)

    def _end(self) -> None:
        marks, self._marks = self._marks, {}
        for mark in marks.values():
            leftovers.end(mark)

    def set_aside(self, dist: InstalledDist, env: Environment) -> None:
        self._begin(env)
        try:
            self._asides.append(set_aside(dist, env))
        except BaseException:
            if not self._asides and not self._installed:
                self._end()  # `set_aside` put back what it moved: nothing is held
            raise

    def install(
        self,
        items: Sequence[WheelInstall],
        env: Environment,
        *,
        cache: UnpackedCache | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_installed: Callable[[str], None] | None = None,
    ) -> list[InstalledDist]:
        """`install_many`; what it installed is undone by `rollback`: each distribution is
        recorded by the thread that installed it, so an interrupt while this method returns
        cannot leave one unrecorded."""
        self._begin(env)
        return install_many(
            items,
            env,
            cache=cache,
            on_warning=on_warning,
            on_installed=on_installed,
            on_done=lambda dist: self._installed.append((dist, env)),
        )

    def commit(self) -> None:
        """Delete what was set aside: the change stays. Runs to its end through Ctrl-C and
        SIGTERM (held back until it is done), so that no old file is left under its hidden
        name and no command reports an interrupt after the change was made."""
        with deferred_interrupts(hold_after=True):
            asides, self._asides = self._asides, []
            self._installed = []
            for aside in asides:
                aside.discard()
            self._end()

    def rollback(self) -> None:
        """Undo every change; `InstallError` naming what could not be undone (after trying
        everything else)."""
        installed, self._installed = self._installed, []
        asides, self._asides = self._asides, []
        problems: list[str] = []
        for dist, env in reversed(installed):
            if not dist.dist_info.is_dir():
                continue  # undone already, by `install_many` itself when it was interrupted
            try:
                uninstall(dist, env)
            except PipfenceError as exc:
                problems.append(str(exc))
        for aside in reversed(asides):
            try:
                aside.restore()
            except PipfenceError as exc:
                problems.append(str(exc))
        if problems:
            raise InstallError(
                f"Could not undo every change to the environment: {'; '.join(problems)}",
                hint="remove the environment and sync again",
            )
        self._end()

    def undo(self, error: BaseException) -> None:
        """`rollback` on the way out of ``error``: a failure to undo is noted on it."""
        try:
            self.rollback()
        except PipfenceError as failure:
            error.add_note(str(failure))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None:
            self.commit()
        else:
            self.undo(exc)
