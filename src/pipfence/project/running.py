"""Running commands inside the project's environment: `run`, `shell`, and `.env` files."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from pipfence.errors import UsageError
from pipfence.project.project import Project

__all__ = ["command_for", "environment_for", "read_dotenv"]

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
    ``VIRTUAL_ENV`` and ``PIPENV_ACTIVE`` set, and the project's ``.env`` loaded
    (``PIPENV_DOTENV_LOCATION`` to use another file, ``PIPENV_DONT_LOAD_ENV`` to skip it)."""
    base: Mapping[str, str] = project.settings.environ
    env = dict(base)
    if not base.get("PIPENV_DONT_LOAD_ENV"):
        dotenv = base.get("PIPENV_DOTENV_LOCATION") or str(project.root / ".env")
        for key, value in read_dotenv(Path(dotenv)).items():
            env.setdefault(key, os.path.expandvars(value))
    env["VIRTUAL_ENV"] = str(venv)
    env["PIPENV_ACTIVE"] = "1"
    env["PATH"] = os.pathsep.join([str(venv / "bin"), base.get("PATH", os.defpath)])
    env.pop("PYTHONHOME", None)
    return env


def command_for(project: Project, argv: list[str]) -> list[str]:
    """``argv`` with a ``[scripts]`` name replaced by its command line."""
    if not argv:
        raise UsageError("name a command to run")
    script = project.pipfile.scripts.get(argv[0])
    if script is None:
        return argv
    if isinstance(script, list):
        return [str(part) for part in script] + argv[1:]
    if not isinstance(script, str):
        raise UsageError(f"[scripts] `{argv[0]}` must be a command line")
    return shlex.split(script) + argv[1:]
