"""`uninstall`: remove packages from the Pipfile and the environment and re-lock, all three
together or not at all; a name the Pipfile does not list (something installed by hand) from
the environment alone, as pipenv does, unless the lock needs it; `uninstall --all`: empty the
environment, the files left alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from pipfence.errors import UsageError
from pipfence.installer.plan import PROTECTED
from pipfence.installer.satisfies import InstalledDist
from pipfence.installer.venv import VirtualEnv
from pipfence.models.names import canonical_name
from pipfence.project.install import InstallResult, install_items
from pipfence.project.installed import existing_env, require_env
from pipfence.project.project import Project
from pipfence.project.transaction import locked_versions, stage_with_pylock, together

if TYPE_CHECKING:
    from pipfence.project.session import Session

__all__ = ["uninstall_all", "uninstall_packages"]


def uninstall_packages(
    session: Session,
    packages: Sequence[str],
    *,
    tables: Sequence[str],
    editable: Sequence[str] = (),
    pre: bool = False,
    on_fetch: Callable[[str], None] | None = None,
) -> InstallResult:
    """`pipfence uninstall PKG…` (and ``-e PATH``, named by the project at PATH, as the
    entry `install -e PATH` wrote): remove from the Pipfile and the environment, re-lock;
    all three change together or not at all. A name ``tables`` do not list goes from the
    environment only (`_unlisted_dists` says when it may)."""
    from pipfence.project.edits import remove_packages
    from pipfence.project.lock import relock

    project = session.project
    names = [_named(text) for text in packages]
    names += [
        item.name for item in install_items(session, (), editable) if not isinstance(item, str)
    ]
    listed = [
        n
        for n in names
        if any(canonical_name(n) in project.pipfile.categories.get(t, {}) for t in tables)
    ]
    unlisted = [n for n in names if n not in listed]
    if not listed:
        return _uninstall_unlisted(project, unlisted, tables)
    change = remove_packages(project.pipfile_text(), project.pipfile, listed, tables=list(tables))
    edited = session.with_project(project.with_pipfile_text(change.text))
    # Every locked version is kept, the removed packages' too: one still required by
    # another stays at the version installed (taking a bound away moves nothing), as
    # the environment, which only loses what the lock no longer has, keeps it.
    kept = locked_versions(project)
    report = relock(edited, pre=pre, on_fetch=on_fetch, keep=kept)
    env = existing_env(project)
    keep = {canonical_name(p.name) for _c, p in report.lockfile.packages()}
    # Checked before anything changes: each of them must be installed and not needed.
    extra = _unlisted_dists(project, env, unlisted, tables, keep) if unlisted else []
    files = stage_with_pylock(session, pipfile_text=change.text, lock=report.lockfile)
    removed: list[str] = []
    with together(files) as env_change:
        if env is not None:
            installed = env.installed()
            dists = [installed.get(canonical_name(name)) for name in change.names]
            for dist in [*dists, *extra]:
                if dist is not None and dist.name not in keep:
                    env_change.set_aside(dist, env)
                    removed.append(f"- {dist.name}=={dist.version}")
    return InstallResult(report, None, change, env_removed=tuple(sorted(removed)))


def _uninstall_unlisted(
    project: Project, names: Sequence[str], tables: Sequence[str]
) -> InstallResult:
    """Names none of ``tables`` lists: taken out of the environment alone (the Pipfile and
    the lock do not name them, so they stay as they are), when installed and not needed by
    the lock; else `UsageError`, nothing changed."""
    from pipfence.installer.wheel import EnvChange

    env = existing_env(project)
    lock = project.read_lock()
    needed = {canonical_name(p.name) for _c, p in lock.packages()} if lock is not None else set()
    dists = _unlisted_dists(project, env, names, tables, needed)
    assert env is not None  # noqa: S101 - _unlisted_dists finds nothing installed without one
    with EnvChange() as change:
        for dist in dists:
            change.set_aside(dist, env)
    return InstallResult(
        None, None, env_removed=tuple(sorted(f"- {d.name}=={d.version}" for d in dists))
    )


def _unlisted_dists(
    project: Project,
    env: VirtualEnv | None,
    names: Sequence[str],
    tables: Sequence[str],
    needed: AbstractSet[str],
) -> list[InstalledDist]:
    """The installed distributions of ``names`` (none listed in ``tables``); `UsageError` for
    one that another table lists, that is not installed, or that the lock needs (the next
    sync would put it back)."""
    installed = env.installed() if env is not None else {}
    where = "], [".join(tables)
    dists: list[InstalledDist] = []
    for name in names:
        key = canonical_name(name)
        elsewhere = [t for t, specs in project.pipfile.categories.items() if key in specs]
        if elsewhere:
            raise UsageError(
                f"`{name}` is in [{'], ['.join(elsewhere)}] of the Pipfile, not in [{where}]",
                hint=f"add {_flag(elsewhere[0])} to take it from there",
            )
        dist = installed.get(key)
        if dist is None:
            raise UsageError(
                f"`{name}` is not in [{where}] of the Pipfile nor installed in the environment"
            )
        if key in needed:
            raise UsageError(
                f"`{name}` is not in [{where}] of the Pipfile and Pipfile.lock needs it: "
                "not removed (the next sync would put it back)",
                hint="uninstall the package that depends on it",
            )
        dists.append(dist)
    return dists


def uninstall_all(project: Project) -> tuple[InstalledDist, ...]:
    """`pipfence uninstall --all`: empty the environment (pip and friends stay); the Pipfile
    and the lock are left alone, as pipenv leaves them. Returns what was removed."""
    env = require_env(project)
    removed: list[InstalledDist] = []
    from pipfence.installer.wheel import EnvChange

    with EnvChange() as change:
        for name, dist in sorted(env.installed().items()):
            if name not in PROTECTED:
                change.set_aside(dist, env)
                removed.append(dist)
    return tuple(removed)


def _flag(table: str) -> str:
    return "`--dev`" if table == "dev-packages" else f"`--categories {table}`"


def _named(text: str) -> str:
    """The project a requirement names (`requests[socks]`, `colorama==0.4.6`: pipenv takes
    the name alone); the text itself when it does not parse."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text).name
    except InvalidRequirement:
        return text
