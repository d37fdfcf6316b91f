"""Where a project's virtual environment lives, by pipenv's rules, so teams can switch tools."""

from __future__ import annotations

import binascii
import hashlib
import re
from pathlib import Path

from pipfence.project.settings import Settings

__all__ = ["venv_location", "venv_name"]

_URL_SAFE = str.maketrans("+/", "-_")
_UNSAFE = re.compile(r'[ &$`!*@"()\[\]\\\r\n\t]')


def venv_name(pipfile: Path, settings: Settings) -> str:
    """pipenv's folder name under ``WORKON_HOME``: ``<project dir>-<8 chars of hash>``.

    The project folder name has shell-unsafe characters replaced and is cut to 42 characters
    (so the interpreter path fits the kernel's shebang limit); the hash is of the Pipfile's
    path; ``PIPENV_PYTHON`` adds a suffix and ``PIPENV_CUSTOM_VENV_NAME`` replaces it all.
    """
    if settings.custom_venv_name:
        return settings.custom_venv_name
    clean = _UNSAFE.sub("_", pipfile.parent.name)[:42]
    digest = hashlib.sha256(str(pipfile).encode()).digest()[:6]
    # base64's URL-safe alphabet, from the C codec (the `base64` module costs a launcher's
    # start-up more than the whole computation).
    encoded = binascii.b2a_base64(digest, newline=False).decode().translate(_URL_SAFE)[:8]
    suffix = ""
    if settings.python:
        python = Path(settings.python)
        suffix = f"-{python.name}" if python.is_absolute() else f"-{settings.python}"
    return f"{clean}-{encoded}{suffix}"


def venv_location(pipfile: Path, settings: Settings, *, pipfile_in_project: bool | None) -> Path:
    """The environment's folder for the project whose Pipfile is ``pipfile``.

    In order: an activated environment (``VIRTUAL_ENV``, unless pipenv's own shell set it or
    ``PIPENV_IGNORE_VIRTUALENVS``); a ``.venv`` file naming a folder; ``.venv`` in the project
    when ``PIPENV_VENV_IN_PROJECT`` (or ``[pipenv] venv_in_project``) says so or the folder
    exists; otherwise ``WORKON_HOME/<venv_name>``. ``pipfile_in_project`` is the Pipfile's
    ``venv_in_project`` setting, None when absent.
    """
    env = settings.environ
    active = env.get("VIRTUAL_ENV")
    if active and "PIPENV_ACTIVE" not in env and not settings.ignore_virtualenvs:
        return Path(active)
    project_dir = pipfile.parent
    dot_venv = project_dir / ".venv"
    workon = settings.workon_home / venv_name(pipfile, settings)
    if dot_venv.is_file():
        content = dot_venv.read_text(encoding="utf-8").strip()
        if not content:
            return workon
        if "/" in content or "\\" in content:
            return (project_dir / content).absolute()
        return settings.workon_home / content
    in_project = settings.venv_in_project
    if in_project is None:
        in_project = pipfile_in_project
    if in_project is None:
        in_project = dot_venv.is_dir()
        if in_project and workon.exists():
            # An environment pipenv made before someone ran `python -m venv .venv` stays in use.
            return workon
    return dot_venv if in_project else workon
