"""`uninstall`: remove packages from the Pipfile and the environment and re-lock, all three
together or not at all; `uninstall --all`: empty the environment, the files left alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pipfence.installer.plan import PROTECTED
from pipfence.installer.satisfies import InstalledDist
from pipfence.installer.venv import VirtualEnv
from pipfence.models.names import canonical_name
from pipfence.project.install import InstallResult, install_items
from pipfence.project.installed import require_env
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
    all three change together or not at all."""
    from pipfence.project.edits import remove_packages
    from pipfence.project.lock import relock

    project = session.project
    names = list(packages)
    names += [
        item.name for item in install_items(session, (), editable) if not isinstance(item, str)
    ]
    change = remove_packages(project.pipfile_text(), project.pipfile, names, tables=list(tables))
    edited = session.with_project(project.with_pipfile_text(change.text))
    # Every locked version is kept, the removed packages' too: one still required by
    # another stays at the version installed (taking a bound away moves nothing), as
    # the environment, which only loses what the lock no longer has, keeps it.
    kept = locked_versions(project)
    report = relock(edited, pre=pre, on_fetch=on_fetch, keep=kept)
    env_path = project.venv_path()
    files = stage_with_pylock(session, pipfile_text=change.text, lock=report.lockfile)
    removed: list[str] = []
    with together(files) as env_change:
        if (env_path / "pyvenv.cfg").is_file():
            env = VirtualEnv.open(env_path)
            keep = {canonical_name(p.name) for _c, p in report.lockfile.packages()}
            installed = env.installed()
            for name in change.names:
                dist = installed.get(canonical_name(name))
                if dist is not None and dist.name not in keep:
                    env_change.set_aside(dist, env)
                    removed.append(f"- {dist.name}=={dist.version}")
    return InstallResult(report, None, change, env_removed=tuple(sorted(removed)))


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
