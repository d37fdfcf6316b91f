"""`clean`: uninstall what no category of the lock lists (pip, setuptools and wheel stay, as
pipenv keeps them)."""

from __future__ import annotations

from pipfence.errors import LockfileMissing
from pipfence.installer.plan import PROTECTED
from pipfence.installer.satisfies import InstalledDist
from pipfence.models.names import canonical_name
from pipfence.project.installed import require_env
from pipfence.project.project import Project

__all__ = ["clean", "extraneous"]


def extraneous(project: Project) -> list[str]:
    """Installed distributions that no category of the lock lists (pip and friends aside).
    Without a lock, an environment holding nothing else has nothing extraneous (pipenv's
    `clean` of a fresh environment succeeds); one holding packages is refused, since
    nothing says which of them to keep."""
    lockfile = project.read_lock()
    if not (project.venv_path() / "pyvenv.cfg").is_file():
        return []  # no environment: nothing is installed, so nothing is extraneous
    installed = require_env(project).installed()
    if lockfile is None:
        if all(name in PROTECTED for name in installed):
            return []
        raise LockfileMissing(hint="run `pipfence lock` first")
    wanted = {canonical_name(p.name) for _c, p in lockfile.packages()}
    return sorted(n for n in installed if n not in wanted and n not in PROTECTED)


def clean(project: Project) -> tuple[InstalledDist, ...]:
    """`pipfence clean`: uninstall what no category of the lock lists (pip, setuptools and
    wheel stay, as pipenv keeps them); return what was removed (nothing, and nothing
    created, when the project has no environment)."""
    names = extraneous(project)
    if not names:
        return ()
    env = require_env(project)
    installed = env.installed()
    removed = tuple(installed[canonical_name(name)] for name in names)
    from pipfence.installer.wheel import EnvChange

    with EnvChange() as change:
        for dist in removed:
            change.set_aside(dist, env)
    return removed
