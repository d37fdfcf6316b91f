"""Running commands inside the project's environment: `run`, `shell`, and `.env` files."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipfence.errors import CommandNotFound, UsageError
from pipfence.models.scripts import Command, script_commands
from pipfence.project.project import Project

__all__ = ["Launch", "commands_for", "environment_for", "launch_for", "read_dotenv"]

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (quotes stripped, ``#`` comments skipped),
    as pipenv loads them before `run` and `shell`."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = _LINE.match(raw)
        if match is None:
            continue
        key, value = match.groups()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) > 1:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def environment_for(project: Project, venv: Path) -> dict[str, str]:
    """The process environment for a command in ``venv``: its ``bin`` first on PATH,
    ``VIRTUAL_ENV``, ``PIPENV_ACTIVE`` and ``PIPENV_PROJECT_DIR`` set, and the project's
    ``.env`` loaded (``PIPENV_DOTENV_LOCATION`` to use another file, ``PIPENV_DONT_LOAD_ENV``
    to skip it)."""
    base: Mapping[str, str] = project.settings.environ
    env = dict(base)
    if not base.get("PIPENV_DONT_LOAD_ENV"):
        dotenv = base.get("PIPENV_DOTENV_LOCATION") or str(project.root / ".env")
        for key, value in read_dotenv(Path(dotenv)).items():
            env.setdefault(key, os.path.expandvars(value))
    env["VIRTUAL_ENV"] = str(venv)
    env["PIPENV_ACTIVE"] = "1"
    env["PIPENV_PROJECT_DIR"] = str(project.root)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), base.get("PATH", os.defpath)])
    env.pop("PYTHONHOME", None)
    return env


def commands_for(project: Project, argv: list[str]) -> list[Command]:
    """What `pipfence run ARGV…` runs: the ``[scripts]`` entry ``argv[0]`` names, or ``argv``
    itself (see `pipfence.models.scripts`)."""
    if not argv:
        raise UsageError("name a command to run")
    return script_commands(argv, project.pipfile.scripts)


@dataclass(frozen=True, slots=True)
class Launch:
    """A command ready to start: the executable, its argv and its whole environment."""

    executable: str
    argv: list[str]
    environ: dict[str, str]


def launch_for(command: Command, environ: Mapping[str, str]) -> Launch:
    """``command`` with its variables expanded and its program found: on the environment's
    PATH, or else as a built-in of ``/bin/sh`` (``cd``, ``export``, …), which pipenv runs
    through the shell too. A program neither holds raises `CommandNotFound` (exit 127)."""
    ready = command.expanded(environ)
    child = {**environ, **ready.assigned}
    program = ready.argv[0]
    executable = shutil.which(program, path=child.get("PATH", os.defpath))
    if executable is not None:
        return Launch(executable, list(ready.argv), child)
    if _shell_builtin(program, child):
        return Launch(_SHELL, ["sh", "-c", shlex.join(ready.argv)], child)
    raise CommandNotFound(f"command `{program}` was not found in the environment or on PATH")


_SHELL = "/bin/sh"


def _shell_builtin(name: str, environ: Mapping[str, str]) -> bool:
    # PATH has already been searched, so anything `command -v` still knows is the shell's own.
    if not Path(_SHELL).exists() or "/" in name:
        return False
    try:
        found = subprocess.run(  # a fixed shell; the name is an argument
            [_SHELL, "-c", 'command -v -- "$1"', "sh", name],
            env=dict(environ),
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and found.stdout.strip() == name
