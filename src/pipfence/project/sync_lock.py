"""`sync_lock`: install a lock's categories into the project's environment (made when missing,
replaced when ``--python`` asks for another Python) or into the interpreter ``--system`` picks;
the use case behind `sync`, `install` and every command that installs."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from pipfence.installer.cache import UnpackedCache
from pipfence.installer.venv import VirtualEnv
from pipfence.models.lockfile import Lockfile, check_lock_entries
from pipfence.project.environment import (
    open_or_create_env,
    python_mismatch,
    replaced_python,
    system_env,
    unpacked_cache,
)
from pipfence.project.project import Project
from pipfence.project.sync import (
    SyncOptions,
    SyncReport,
    check_lock_against_pipfile,
    sync,
    warm_unpacked_cache,
)

if TYPE_CHECKING:
    from pipfence.installer.ahead_check import AheadCheck
    from pipfence.installer.wheel import EnvChange
    from pipfence.project.session import Session
    from pipfence.project.sync_types import ProgressSink

__all__ = ["EnvTarget", "sync_lock"]


class EnvTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where a command installs: the project's environment (``site_packages``: pipenv's
    ``--site-packages`` / ``--no-site-packages``, None when not given) or, with ``system``,
    the interpreter on PATH (``--system``)."""

    system: bool = False
    site_packages: bool | None = None


def sync_lock(
    session: Session,
    lockfile: Lockfile,
    categories: Sequence[str],
    *,
    python: str | None = None,
    remove_extraneous: bool = False,
    on_progress: ProgressSink | None = None,
    change: EnvChange | None = None,
    target: EnvTarget | None = None,
    ahead: AheadCheck | None = None,
) -> SyncReport:
    """Install ``lockfile``'s ``categories`` into the project's environment (made when
    missing; replaced first when ``--python`` asks for another Python), or into the
    interpreter ``target.system`` picks (`system_env`). ``ahead`` is a check of the cache
    started earlier (`pipfence.project.sync_ahead.early_cache_check`), used when the
    environment is made now."""
    target = target or EnvTarget()
    project = session.project
    # A lock the fence refuses, or a malformed one, must not even create the environment.
    check_lock_entries(lockfile, categories)
    check_lock_against_pipfile(project.pipfile, lockfile, categories)
    cache = unpacked_cache(project)
    options = SyncOptions(categories=categories, remove_extraneous=remove_extraneous)

    sync_into = functools.partial(
        sync, project, session.client, lockfile, options, cache=cache, on_progress=on_progress,
        change=change,
    )  # fmt: skip
    if target.system:
        return sync_into(env=system_env(project, python=python), created=False)
    old_python = replaced_python(project, python)
    location = project.venv_path()
    aside = _set_aside(location) if old_python else None
    try:
        env, created = _open_env(
            project,
            lockfile,
            categories,
            cache=cache,
            python=python,
            target=target,
            ahead=ahead,
            seed_later=change is None,
        )
        report = sync_into(env=env, created=created)
    except BaseException:
        if aside is not None:
            shutil.rmtree(location, ignore_errors=True)
            aside.rename(location)
        raise
    finally:
        cache.end_ahead()
    note: str | None = None
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
        note = f"replaced the environment's Python {old_python} with Python {env.python_version}"
    elif not created:
        note = python_mismatch(project, env)
    return report if note is None else replace(report, warnings=(note, *report.warnings))


def _set_aside(location: Path) -> Path:
    """`--python` asks for another Python: a new environment, the old one moved aside (to
    the returned path) until the sync has succeeded."""
    aside = location.with_name(f"{location.name}.pipfence-replaced")
    shutil.rmtree(aside, ignore_errors=True)
    location.rename(aside)
    return aside


def _open_env(
    project: Project,
    lockfile: Lockfile,
    categories: Sequence[str],
    *,
    cache: UnpackedCache,
    python: str | None,
    target: EnvTarget,
    ahead: AheadCheck | None,
    seed_later: bool,
) -> tuple[VirtualEnv, bool]:
    """The project's environment, made when missing (and whether it was): a new one's
    files all come from the cache, whose entries a helper checks meanwhile
    (`warm_unpacked_cache`, ended by the caller's `UnpackedCache.end_ahead`). With
    ``seed_later`` a new one's pip is installed by `sync`, with the lock's packages."""
    if not (project.venv_path() / "pyvenv.cfg").is_file():
        if ahead is not None:
            cache.adopt_ahead(ahead)
        else:
            warm_unpacked_cache(cache, lockfile, categories)
    return open_or_create_env(
        project,
        python=python,
        cache=cache,
        site_packages=target.site_packages,
        seed_later=seed_later,
    )
