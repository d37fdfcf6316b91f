"""Shells, as `pipfence activate` and `pipfence shell` meet them: which activation script a
shell sources, the line that sources it, and the start-up file that activates an interactive
shell after the user's own (so the prompt shows the environment's ``(project)`` marker).

Pure: paths and names in, text out. Nothing here reads the environment or starts a shell.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePath

from pipfence.errors import UsageError

__all__ = ["activate_line", "activate_script", "rc_file", "shell_kind"]

#: Shell name → the venv's activation script (``bin/…``) and the command that sources it.
_SCRIPTS: dict[str, tuple[str, str]] = {
    "sh": ("activate", "."),
    "bash": ("activate", "source"),
    "zsh": ("activate", "source"),
    "dash": ("activate", "."),
    "ash": ("activate", "."),
    "ksh": ("activate", "."),
    "fish": ("activate.fish", "source"),
    "csh": ("activate.csh", "source"),
    "tcsh": ("activate.csh", "source"),
    "pwsh": ("Activate.ps1", "."),
    "powershell": ("Activate.ps1", "."),
}


def shell_kind(shell: str) -> str | None:
    """The shell family of the program ``shell`` (a path or a name: ``/usr/bin/zsh`` →
    ``zsh``, ``pwsh.exe`` → ``pwsh``, ``-bash`` as a login shell names itself → ``bash``),
    or None for a shell pipfence does not know."""
    name = re.split(r"[\\/]", shell.strip())[-1].lstrip("-").lower()
    name = name.removesuffix(".exe")
    return name if name in _SCRIPTS else None


def activate_script(kind: str, venv: Path) -> Path:
    """The activation script in ``venv`` for a shell of family ``kind``."""
    return venv / "bin" / _SCRIPTS[kind][0]


def activate_line(shell: str, venv: Path) -> str:
    """The command that activates ``venv`` in ``shell`` (``source /p/.venv/bin/activate``),
    the path quoted for that shell. Raises `UsageError` for a shell pipfence does not know."""
    kind = shell_kind(shell)
    if kind is None:
        known = ", ".join(sorted(_SCRIPTS))
        raise UsageError(
            f"cannot tell how `{shell}` activates an environment (known shells: {known})",
            hint="set PIPENV_SHELL to your shell's path",
        )
    return f"{_SCRIPTS[kind][1]} {quoted(activate_script(kind, venv))}"


def quoted(path: PurePath) -> str:
    """``path`` as one word for the POSIX-like shells (and fish and csh, which read a
    single-quoted word the same way)."""
    return shlex.quote(str(path))


def rc_file(kind: str, venv: Path, *, user_rc: str) -> str:
    """A start-up file for an interactive ``bash``, ``zsh`` or ``sh``-family shell: the user's
    own (``user_rc``, a shell expression naming it, read when it exists), then the
    environment's activation script, which puts the ``(project)`` marker on the prompt."""
    source = "source" if kind in ("bash", "zsh") else "."
    activate = quoted(activate_script(kind, venv))
    return f"if [ -f {user_rc} ]; then {source} {user_rc}; fi\n{source} {activate}\n"
