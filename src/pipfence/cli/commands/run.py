"""`pipfence run CMD…`: run a command or a [scripts] entry inside the environment."""

from __future__ import annotations

import argparse
import os
import shutil

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import CommandNotFound, UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_command", nargs=argparse.REMAINDER, metavar="COMMAND ...")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.running import command_for, environment_for

    del ui
    project = project_from_args(args)
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        raise UsageError(
            f"no environment exists at `{venv}`", hint="run `pipfence install` to create it"
        )
    argv = command_for(project, list(args.run_command))
    env = environment_for(project, venv)
    executable = shutil.which(argv[0], path=env["PATH"])
    if executable is None:
        raise CommandNotFound(f"command `{argv[0]}` was not found in the environment or on PATH")
    os.execve(executable, argv, env)  # noqa: S606  # replaces this process, as pipenv run does
    return 0  # pragma: no cover
