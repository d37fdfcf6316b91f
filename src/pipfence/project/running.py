"""Running commands inside the project's environment: `run`, `shell`, and `.env` files."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, NoReturn

from pipfence.errors import CommandNotExecutable, CommandNotFound, UsageError
from pipfence.models.scripts import Command, script_commands
from pipfence.models.shells import activate_line, rc_file, shell_kind
from pipfence.project.project import Project

__all__ = [
    "Launch",
    "call_launch",
    "commands_for",
    "environment_for",
    "exec_launch",
    "launch_for",
    "shell_launch",
    "user_shell",
]

#: The shell `run` hands built-ins to, and `shell` starts when nothing names another.
_SHELL = "/bin/sh"


def environment_for(project: Project, venv: Path) -> dict[str, str]:
    """The process environment for a command in ``venv``: the project's settings' environment
    (``.env`` is in it: `load_dotenv`) with ``VIRTUAL_ENV``, ``PIPENV_ACTIVE`` and
    ``PIPENV_PROJECT_DIR`` set and the environment's ``bin`` first on PATH."""
    env = dict(project.settings.environ)
    env["VIRTUAL_ENV"] = str(venv)
    env["PIPENV_ACTIVE"] = "1"
    env["PIPENV_PROJECT_DIR"] = str(project.root)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", os.defpath)])
    env.pop("PYTHONHOME", None)
    return env


def commands_for(project: Project, argv: list[str]) -> list[Command]:
    """What `pipfence run ARGV…` runs: the ``[scripts]`` entry ``argv[0]`` names, or ``argv``
    itself (see `pipfence.models.scripts`)."""
    if not argv:
        raise UsageError("name a command to run")
    return script_commands(argv, project.raw_table("scripts"))


class Launch(NamedTuple):
    """A command ready to start: the executable, its argv and its whole environment."""

    executable: str
    argv: list[str]
    environ: dict[str, str]


def launch_for(command: Command, environ: Mapping[str, str]) -> Launch:
    """``command`` with its variables expanded and its program found: on the environment's
    PATH, or else as a built-in of ``/bin/sh`` (``cd``, ``export``, …), which pipenv runs
    through the shell too. A program neither holds raises `CommandNotFound` (exit 127); a path
    to a folder or to a file without the `x` bit, `CommandNotExecutable` (exit 126), as a
    shell answers."""
    ready = command.expanded(environ)
    child = {**environ, **ready.assigned}
    program = ready.argv[0]
    executable = shutil.which(program, path=child.get("PATH", os.defpath))
    if executable is not None:
        return Launch(executable, list(ready.argv), child)
    if "/" in program and Path(program).exists():
        raise _not_executable(program)
    if _shell_builtin(program, child):
        return Launch(_SHELL, ["sh", "-c", shlex.join(ready.argv)], child)
    raise CommandNotFound(f"command `{program}` was not found in the environment or on PATH")


def _not_executable(program: str) -> CommandNotExecutable:
    if Path(program).is_dir():
        return CommandNotExecutable(f"`{program}` is a folder, not a command")
    return CommandNotExecutable(
        f"`{program}` is not executable",
        hint=f"make it executable (`chmod +x {shlex.quote(program)}`) or name its interpreter "
        f"(`pipfence run sh {shlex.quote(program)}`)",
    )


def exec_launch(launch: Launch) -> NoReturn:
    """Replace this process with ``launch``, as pipenv's `run` does (signals and the exit code
    are the command's own). A file with no ``#!`` line runs through ``/bin/sh``, as a shell
    runs it; one whose ``#!`` interpreter is missing raises `CommandNotFound` (exit 127), one
    the system refuses to run `CommandNotExecutable` (exit 126)."""
    try:
        os.execve(launch.executable, launch.argv, launch.environ)  # noqa: S606
    except OSError as error:
        if error.errno != errno.ENOEXEC:
            raise _exec_error(launch, error) from None
    try:
        os.execve(_SHELL, ["sh", launch.executable, *launch.argv[1:]], launch.environ)  # noqa: S606
    except OSError as error:
        raise _exec_error(launch, error) from None


def call_launch(launch: Launch) -> int:
    """Run ``launch`` to its end (one command of an array script): its exit code. Started as
    `exec_launch` starts it, the same errors."""
    import subprocess  # here: a single command replaces this process without it

    argv = launch.argv
    try:
        return subprocess.run(  # the user's own command
            argv, executable=launch.executable, env=launch.environ, check=False
        ).returncode
    except OSError as error:
        if error.errno != errno.ENOEXEC:
            raise _exec_error(launch, error) from None
    try:
        return subprocess.run(  # the same file, through the shell
            ["sh", launch.executable, *argv[1:]], executable=_SHELL, env=launch.environ, check=False
        ).returncode
    except OSError as error:
        raise _exec_error(launch, error) from None


def _exec_error(launch: Launch, error: OSError) -> CommandNotFound | CommandNotExecutable:
    """The error for ``launch``, which the system would not start (``error``)."""
    program = launch.argv[0]
    if error.errno == errno.ENOENT and not Path(launch.executable).exists():
        return CommandNotFound(f"`{launch.executable}` was not found")
    if error.errno == errno.ENOENT:
        return CommandNotFound(
            f"`{program}` could not be started: the interpreter its `#!` line names was not found"
        )
    return CommandNotExecutable(f"`{program}` could not be started: {error.strerror}")


def _shell_builtin(name: str, environ: Mapping[str, str]) -> bool:
    # PATH has already been searched, so anything `command -v` still knows is the shell's own.
    if not Path(_SHELL).exists() or "/" in name:
        return False
    import subprocess  # here: a program found on PATH (nearly every `run`) needs none of it

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


def user_shell(environ: Mapping[str, str], *, parent_pid: int | None = None) -> str:
    """The shell the user works in: ``PIPENV_SHELL`` when set (pipenv's explicit choice), else
    the shell that started pipfence when the process table tells (Linux), else ``SHELL``,
    else ``/bin/sh``."""
    explicit = environ.get("PIPENV_SHELL")
    if explicit:
        return explicit
    if parent_pid is not None:
        try:
            parent = Path(f"/proc/{parent_pid}/comm").read_text(encoding="utf-8").strip()
        except OSError:
            parent = ""
        if shell_kind(parent) is not None:
            return parent
    return environ.get("SHELL") or environ.get("PYENV_SHELL") or _SHELL


def shell_launch(
    project: Project, venv: Path, shell: str, shell_args: list[str], *, plain: bool = False
) -> Launch:
    """How `pipfence shell` starts ``shell`` in ``venv``. With no ``shell_args`` (and not
    ``plain``), an interactive bash, zsh, fish or sh-family shell reads the user's own
    start-up file and then the environment's activation script, so its prompt carries the
    ``(project)`` marker and ``deactivate`` works; the start-up files live in the environment's
    ``.pipfence-shell`` folder. Any other shell, or ``plain``, starts as is, with PATH and
    ``VIRTUAL_ENV`` set."""
    env = environment_for(project, venv)
    executable = shutil.which(shell, path=env.get("PATH", os.defpath)) or shell
    kind = shell_kind(shell)
    if shell_args or plain or kind is None:
        return Launch(executable, [shell, *shell_args], env)
    folder = venv / ".pipfence-shell"
    if kind == "fish":
        return Launch(executable, [shell, "-i", "-C", activate_line(shell, venv)], env)
    if kind == "bash":
        rc = _write(folder / "bashrc", rc_file(kind, venv, user_rc='"$HOME/.bashrc"'))
        return Launch(executable, [shell, "--rcfile", str(rc), "-i"], env)
    if kind == "zsh":
        # zsh reads its start-up files from ZDOTDIR: pipfence's, which hand back to the user's.
        env["PIPFENCE_USER_ZDOTDIR"] = env.get("ZDOTDIR") or env.get("HOME", "")
        _write(
            folder / ".zshenv",
            'if [ -f "$PIPFENCE_USER_ZDOTDIR/.zshenv" ]; then '
            'source "$PIPFENCE_USER_ZDOTDIR/.zshenv"; fi\n',
        )
        _write(
            folder / ".zshrc",
            'ZDOTDIR="$PIPFENCE_USER_ZDOTDIR"; unset PIPFENCE_USER_ZDOTDIR\n'
            + rc_file(kind, venv, user_rc='"$ZDOTDIR/.zshrc"'),
        )
        env["ZDOTDIR"] = str(folder)
        return Launch(executable, [shell, "-i"], env)
    if kind in ("sh", "dash", "ash", "ksh"):
        # An interactive POSIX shell reads the file $ENV names.
        env["PIPFENCE_USER_ENV"] = env.get("ENV", "")
        rc = _write(
            folder / "env.sh",
            rc_file(kind, venv, user_rc='"${PIPFENCE_USER_ENV:-/nonexistent}"'),
        )
        env["ENV"] = str(rc)
        return Launch(executable, [shell, "-i"], env)
    return Launch(executable, [shell], env)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
