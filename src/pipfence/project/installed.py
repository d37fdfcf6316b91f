"""What the project's environment holds: opening it, and where an installed module lives."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipfence.errors import InstallError, UsageError
from pipfence.installer.venv import VirtualEnv
from pipfence.project.project import Project

__all__ = ["existing_env", "module_location", "require_env"]

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TIMEOUT = 60


def existing_env(project: Project) -> VirtualEnv | None:
    """The project's environment when it exists (it is never created here), else None."""
    path = project.venv_path()
    if not (path / "pyvenv.cfg").is_file():
        return None
    return VirtualEnv.open(path)


def require_env(project: Project) -> VirtualEnv:
    """The project's environment; `UsageError` with the way to create it when there is none."""
    env = existing_env(project)
    if env is None:
        raise UsageError(
            f"no environment exists at `{project.venv_path()}`",
            hint="run `pipfence install` to create it",
        )
    return env


def module_location(env: VirtualEnv, module: str) -> Path | None:
    """The folder of package ``module`` (or the file of a single-file module) as the
    environment's interpreter imports it, as ``pipenv open`` finds it; None when it does not
    import. A distribution name such as ``typing-extensions`` is tried as ``typing_extensions``.

    Raises `UsageError` for a string that is not a dotted module name (it is run as code) and
    `InstallError` when the interpreter cannot start.
    """
    candidates = [module] if _MODULE.match(module) else []
    alias = module.replace("-", "_")
    if alias != module and _MODULE.match(alias):
        candidates.append(alias)
    if not candidates:
        raise UsageError(f"`{module}` is not a module name")
    for name in candidates:
        code = f"import {name} as m; print(m.__file__ or '')"
        try:
            done = subprocess.run(
                [str(env.python), "-c", code],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InstallError(f"could not run `{env.python}`: {exc}") from exc
        found = done.stdout.strip()
        if done.returncode == 0 and found:
            path = Path(found)
            return path.parent if path.name == "__init__.py" else path
    return None
