"""`pipfence shell`: start the user's shell with the environment activated."""

from __future__ import annotations

import argparse
import os

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell_args", nargs=argparse.REMAINDER, metavar="ARGS")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.running import environment_for

    project = project_from_args(args)
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        raise UsageError(
            f"no environment exists at `{venv}`", hint="run `pipfence install` to create it"
        )
    if project.settings.environ.get("PIPENV_ACTIVE"):
        raise UsageError("a pipenv/pipfence shell is already active; `exit` it first")
    env = environment_for(project, venv)
    shell = project.settings.environ.get("SHELL") or "/bin/sh"
    ui.info(f"Launching {shell} with the environment at {venv}; `exit` to leave")
    os.execve(shell, [shell, *args.shell_args], env)  # noqa: S606  # the shell takes over
    return 0  # pragma: no cover
