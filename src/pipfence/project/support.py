"""``pipfence --support``: what a bug report needs, as Markdown to paste into an issue, in the
shape of pipenv's ``--support`` (versions, paths, PEP 508 values, variables, the Pipfile and
the lock).

Nothing secret leaves: a variable whose name says it holds a secret (``TOKEN``, ``PASSWORD``,
``SECRET``, ``KEY``, ``AUTH``, ``CREDENTIAL``…) is shown as ``***``, the user-info of every URL
(``https://user:pass@host``) becomes ``***@``, and those variables' values are blanked wherever
they appear in the Pipfile or the lock.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from packaging.markers import default_environment

from pipfence import __version__
from pipfence.errors import PipfenceError
from pipfence.models.interpreters import LOWEST_PYTHON, too_old
from pipfence.models.urls import hide_query_secrets
from pipfence.project.project import Project
from pipfence.project.pythons import installed_pythons
from pipfence.project.settings import Settings

__all__ = ["is_secret_name", "support_report"]

_SECRET_NAME = re.compile(
    r"TOKEN|PASSW|SECRET|KEY|AUTH|CREDENTIAL|COOKIE|SESSION|PRIVATE|_PASS$|_PAT$", re.IGNORECASE
)
#: The variables shown with their values (credentials redacted), besides pipenv's and ours.
_DEBUG_VARIABLES = ("PATH", "SHELL", "LANG", "LC_ALL", "PWD", "VIRTUAL_ENV", "PYTHONPATH")
_OURS = ("PIPENV_", "PIPFENCE_", "PIP_", "WORKON_HOME")
#: A secret shorter than this is not searched for in the files (it would blank `1`, `true`).
_MIN_SECRET = 4


def is_secret_name(name: str) -> bool:
    """Whether a variable called ``name`` is taken to hold a credential."""
    return bool(_SECRET_NAME.search(name))


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s]+)@")
_PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def _redact(text: str, secrets: list[str] = []) -> str:  # noqa: B006  # never mutated
    """``text`` with each of ``secrets``, every URL's literal user-info and its credential-named
    query values as ``***``; user-info made only of ``${VAR}`` placeholders is kept (it names a
    variable, not its value)."""

    def userinfo(match: re.Match[str]) -> str:
        if not _PLACEHOLDER.sub("", match.group(2)).replace(":", ""):
            return match.group(0)
        return f"{match.group(1)}***@"

    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    return hide_query_secrets(_USERINFO.sub(userinfo, text))


def _shown_value(name: str, value: str) -> str:
    return "***" if is_secret_name(name) else _redact(value)


def _run_version(program: str) -> str:
    try:
        done = subprocess.run(  # a program found on PATH, no shell
            [program, "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _file_section(path: Path, language: str, secrets: list[str]) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [f"Contents of `{path.name}` ({path}): could not be read ({exc.strerror})", ""]
    return [
        f"Contents of `{path.name}` ({path}):",
        "",
        f"```{language}",
        _redact(text.rstrip("\n"), secrets),
        "```",
        "",
    ]


def support_report(settings: Settings, project: Project | None) -> str:
    """The Markdown report; ``project`` is None when there is no Pipfile here."""
    environ = settings.environ
    secrets = [
        value
        for name, value in environ.items()
        if is_secret_name(name) and len(value) >= _MIN_SECRET
    ]
    lines = [
        "<details><summary>$ pipfence --support</summary>",
        "",
        *_system_section(settings),
        "---------------------------",
        "",
        *_project_section(project, secrets),
        "</details>",
    ]
    return "\n".join(lines) + "\n"


def _python_lines(settings: Settings) -> list[str]:
    """One line for each Python found here; one too old to make an environment with says so."""
    lowest = ".".join(str(part) for part in LOWEST_PYTHON)
    unusable = f" (pipfence cannot make an environment with it: it needs Python {lowest} or later)"
    return [
        f"  - `{version}`: `{path}`{unusable if too_old(version) else ''}"
        for version, path in installed_pythons(settings)
    ]


def _system_section(settings: Settings) -> list[str]:
    """pipfence, Python, the OS, pip, the Pythons found, PEP 508 values and the variables."""
    environ = settings.environ
    pip = shutil.which("pip", path=environ.get("PATH", os.defpath))
    return [
        f"Pipfence version: `{__version__}`",
        "",
        f"Pipfence location: `{Path(__file__).resolve().parents[1]}`",
        "",
        f"Python location: `{sys.executable}`",
        "",
        f"OS Name: `{os.name}` (`{platform.platform()}`)",
        "",
        f"User pip version: `{_run_version(pip) if pip else 'not found on PATH'}`",
        "",
        "user Python installations found:",
        "",
        *_python_lines(settings),
        "",
        "PEP 508 Information:",
        "",
        "```",
        json.dumps(dict(default_environment()), indent=2, sort_keys=True),
        "```",
        "",
        "System environment variables:",
        "",
        *[f"  - `{name}`" for name in sorted(environ)],
        "",
        "Pipenv and pipfence environment variables:",
        "",
        *[
            f"  - `{name}`: `{_shown_value(name, environ[name])}`"
            for name in sorted(environ)
            if name.startswith(_OURS)
        ],
        "",
        "Debug-specific environment variables:",
        "",
        *[
            f"  - `{name}`: `{_shown_value(name, environ[name])}`"
            for name in _DEBUG_VARIABLES
            if name in environ
        ],
        "",
    ]


def _project_section(project: Project | None, secrets: list[str]) -> list[str]:
    """The project's folder and environment, and its Pipfile and lock with secrets redacted."""
    if project is None:
        return ["No Pipfile was found here.", ""]
    lines = [f"Project folder: `{project.root}`", ""]
    try:
        venv = project.venv_path()
    except PipfenceError as exc:
        lines += [f"Environment: unknown ({_redact(str(exc), secrets)})", ""]
    else:
        exists = "" if (venv / "pyvenv.cfg").is_file() else " (not created yet)"
        lines += [f"Environment: `{venv}`{exists}", ""]
    lines += _file_section(project.pipfile_path, "toml", secrets)
    if project.lock_path.is_file():
        lines += _file_section(project.lock_path, "json", secrets)
    return lines
