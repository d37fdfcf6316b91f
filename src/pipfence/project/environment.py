"""The project's virtual environment: which Python, where, created when missing."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.errors import InstallError, UsageError
from pipfence.installer.venv import VirtualEnv
from pipfence.project.project import Project
from pipfence.project.pythons import (
    find_python,
    is_version,
    python_version_of,
    version_matches,
)
from pipfence.project.sync_ahead import unpacked_root

if TYPE_CHECKING:
    from pipfence.installer.cache import UnpackedCache

__all__ = [
    "check_python",
    "ensure_env",
    "interpreter_version",
    "new_environment_python",
    "open_or_create_env",
    "remove_environment",
    "replaced_python",
    "system_env",
    "unpacked_cache",
]


def unpacked_cache(project: Project) -> UnpackedCache:
    """The shared cache of unpacked wheels that environments take their files from, placed
    as ``PIPFENCE_LINK_MODE`` says."""
    from pipfence.installer.cache import UnpackedCache

    return UnpackedCache(unpacked_root(project.settings), link_mode=project.settings.link_mode)


def _wanted_python(
    project: Project, requested: str | None, *, requires: bool = True
) -> tuple[str | None, str]:
    """The Python a new environment is made with, and what asks for it (for an error); the
    Pipfile's ``[requires]`` is read only with ``requires``."""
    if requested:
        return requested, "--python"
    if project.settings.python:
        return project.settings.python, "PIPENV_PYTHON"
    asked = project.pipfile.requires if requires else {}
    value = asked.get("python_full_version") or asked.get("python_version")
    if value:
        return str(value), "the Pipfile's [requires]"
    return project.settings.default_python, "PIPENV_DEFAULT_PYTHON_VERSION"


def python_mismatch(project: Project, env: VirtualEnv) -> str | None:
    """A warning when ``env``'s Python is not the one the Pipfile's ``[requires]`` asks for
    (pipenv warns the same way and goes on); None when it is, or when nothing is asked."""
    requires = project.pipfile.requires
    key = "python_full_version" if requires.get("python_full_version") else "python_version"
    wanted = requires.get(key)
    if not wanted or version_matches(env.python_version, str(wanted)):
        return None
    return (
        f"the environment has Python {env.python_version}, but the Pipfile's [requires] asks "
        f"for {key} {wanted}: `pipfence remove` and a new `pipfence sync` make it with that one"
    )


def interpreter_version(project: Project) -> str | None:
    """The full version of the Python the project's environment has, or would be made with
    when it has none, when the Pipfile asks only for a minor version that is not the running
    one (``python_version = "3.8"``): what a lock should resolve for. None when there is
    nothing to find or no such interpreter."""
    requires = project.pipfile.requires
    wanted = requires.get("python_version")
    running = ".".join(str(part) for part in sys.version_info[:2])
    if not wanted or requires.get("python_full_version") or version_matches(running, str(wanted)):
        return None
    location = project.venv_path()
    if (location / "pyvenv.cfg").is_file():
        try:
            return VirtualEnv.open(location).python_version
        except (InstallError, OSError):
            return None
    try:
        python = find_python(str(wanted), project.settings)
    except UsageError:
        return None
    return python_version_of(python)


def new_environment_python(project: Project, *, python: str | None = None) -> str:
    """The full version of the Python the project's environment has, or would be created
    with (``--python``, ``PIPENV_PYTHON``, ``PIPENV_DEFAULT_PYTHON_VERSION``, the running
    Python; the Pipfile's own ``[requires]`` is not read: it is what this answer fills).
    `UsageError` when that Python is not found."""
    location = project.venv_path()
    if (location / "pyvenv.cfg").is_file() and not python:
        return VirtualEnv.open(location).python_version
    wanted, asked_by = _wanted_python(project, python, requires=False)
    interpreter = find_python(wanted, project.settings, asked_by=asked_by)
    version = python_version_of(interpreter)
    if version is None:
        raise UsageError(f"`{interpreter}` did not say which Python it is")
    return version


def check_python(project: Project, *, python: str | None = None) -> None:
    """Fail early (`UsageError`, exit 2) when the environment is still to be made and no
    interpreter for the project's Python exists, before any lock work is spent."""
    if (project.venv_path() / "pyvenv.cfg").is_file():
        replaced_python(project, python)  # `--python` naming a Python that does not exist
        return
    wanted, asked_by = _wanted_python(project, python)
    find_python(wanted, project.settings, asked_by=asked_by)


def replaced_python(project: Project, python: str | None) -> str | None:
    """The version of the existing environment when ``--python`` asks for another Python (it
    is then made again, as pipenv does); None when there is nothing to replace. Raises
    `UsageError` when the Python asked for does not exist, environment or not."""
    if not python:
        return None
    location = project.venv_path()
    if not (location / "pyvenv.cfg").is_file():
        find_python(python, project.settings, asked_by="--python")
        return None
    current = VirtualEnv.open(location).python_version
    if is_version(python):
        if version_matches(current, python):
            return None
        find_python(python, project.settings, asked_by="--python")
        return current
    interpreter = find_python(python, project.settings, asked_by="--python")
    wanted = python_version_of(interpreter)
    if wanted is None:  # keeping the environment would pass for what was asked
        raise UsageError(
            f"`{interpreter}` (--python) does not run as a Python pipfence can use: "
            "it did not tell its version",
            hint="name a Python 3 interpreter, or a version such as 3.12",
        )
    return None if wanted == current else current


def open_or_create_env(
    project: Project,
    *,
    python: str | None = None,
    cache: UnpackedCache | None = None,
    site_packages: bool | None = None,
    seed_later: bool = False,
) -> tuple[VirtualEnv, bool]:
    """The project's environment, created (with pip, as pipenv users expect) when missing;
    with ``seed_later`` a new one's pip is left for the caller to install (see
    `VirtualEnv.create`).

    Returns the environment and whether it was created now. An existing environment for
    another Python than the one asked for with ``--python`` is an error here: `sync_lock`
    replaces it first (see `replaced_python`). ``site_packages`` (``--site-packages`` /
    ``--no-site-packages``; None: not asked) makes the base interpreter's site-packages
    visible or not, in a new environment and in an existing one alike (one line of its
    ``pyvenv.cfg``, which is all ``venv --system-site-packages`` changes).
    """
    location = project.venv_path()
    wanted, asked_by = _wanted_python(project, python)
    if (location / "pyvenv.cfg").is_file():
        env = VirtualEnv.open(location)
        if python and not version_matches(env.python_version, python) and is_version(python):
            raise UsageError(
                f"the environment at `{location}` has Python {env.python_version}, not {python}",
                hint="remove it with `pipfence remove` to create one for another Python",
            )
        if site_packages is not None and env.system_site_packages != site_packages:
            env.set_system_site_packages(site_packages)
        return env, False
    interpreter = find_python(wanted, project.settings, asked_by=asked_by)
    try:
        # The prompt marker names the project, as pipenv's does, not the `.venv` folder.
        env = VirtualEnv.create(
            location,
            interpreter,
            seed_pip=True,
            cache=cache,
            site_packages=bool(site_packages),
            prompt=project.root.name,
            seed_later=seed_later,
        )
        # virtualenvwrapper's link back to the project, which pipenv writes too.
        (location / ".project").write_text(str(project.root), encoding="utf-8")
    except InstallError:
        raise
    except OSError as exc:
        raise InstallError(f"could not create the environment at `{location}`: {exc}") from exc
    return env, True


def ensure_env(
    project: Project, *, python: str | None = None, site_packages: bool | None = None
) -> tuple[VirtualEnv, bool, str | None]:
    """The project's environment, made now when it is missing (pipenv makes it for ``pipenv
    --python X``, ``--site-packages`` and ``run``), holding only pip; nothing is installed.

    ``python`` naming another Python than the existing environment's makes it again, empty,
    as pipenv does: returns the environment, whether it was created now, and the replaced
    environment's Python version (None when nothing was replaced).
    """
    old_python = replaced_python(project, python)
    cache = unpacked_cache(project)
    if old_python is None:
        env, created = open_or_create_env(
            project, python=python, cache=cache, site_packages=site_packages
        )
        return env, created, None
    location = project.venv_path()
    aside = location.with_name(f"{location.name}.pipfence-replaced")
    shutil.rmtree(aside, ignore_errors=True)
    location.rename(aside)
    try:
        env, _ = open_or_create_env(
            project, python=python, cache=cache, site_packages=site_packages
        )
    except BaseException:
        shutil.rmtree(location, ignore_errors=True)
        aside.rename(location)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    return env, True, old_python


def system_env(project: Project, *, python: str | None = None) -> VirtualEnv:
    """The interpreter ``install --system`` / ``sync --system`` installs into, as pipenv picks
    it: ``--python``, else ``PIPENV_PYTHON``, else ``python3`` or ``python`` on PATH (an
    activated environment's, when one is). An interpreter marked ``EXTERNALLY-MANAGED`` (PEP
    668: its packages belong to the operating system) is refused unless
    ``PIP_BREAK_SYSTEM_PACKAGES`` says otherwise, as pip refuses it."""
    search = project.settings.search_path
    wanted = python or project.settings.python
    if wanted:
        interpreter = find_python(wanted, project.settings)
    else:
        located = shutil.which("python3", path=search) or shutil.which("python", path=search)
        if located is None:
            raise UsageError(
                "`--system` found no `python3` or `python` on PATH to install into",
                hint="pass --python with a version or the interpreter's path",
            )
        interpreter = Path(located)
    env, marker = VirtualEnv.of_interpreter(interpreter)
    if marker is not None and not project.settings.break_system_packages:
        raise UsageError(
            f"`{interpreter}` is externally managed ({marker}): its packages belong to the "
            "operating system, so `--system` will not install into it",
            hint="leave out --system to use the project's environment, or set "
            "PIP_BREAK_SYSTEM_PACKAGES=1 as pip would need",
        )
    return env


def remove_environment(project: Project) -> Path:
    """Delete the project's environment (`pipfence remove`, pipenv's ``remove`` and ``--rm``)
    and return where it was.

    An activated environment that pipfence did not pick for the project (``VIRTUAL_ENV`` set
    outside a pipenv or pipfence shell) is the user's own and is left alone, as pipenv leaves
    it; so is a folder that is not a virtual environment.
    """
    location = project.venv_path()
    environ = project.settings.environ
    active = environ.get("VIRTUAL_ENV")
    if (
        active
        and Path(active) == location
        and "PIPENV_ACTIVE" not in environ
        and not project.settings.ignore_virtualenvs
    ):
        raise UsageError(
            f"`{location}` is the activated environment (VIRTUAL_ENV), not one pipfence made "
            "for this project; it is left alone",
            hint="deactivate it, or set PIPENV_IGNORE_VIRTUALENVS=1 to remove the project's own",
        )
    if not location.exists():
        raise UsageError(
            f"no environment has been created for this project yet (it would be `{location}`)"
        )
    if not (location / "pyvenv.cfg").is_file():
        raise UsageError(f"`{location}` is not a virtual environment (it has no pyvenv.cfg)")
    from pipfence.project.serial import project_lock

    with project_lock(project):
        try:
            shutil.rmtree(location)
        except OSError as exc:
            raise InstallError(f"could not remove the environment at `{location}`: {exc}") from exc
    return location
