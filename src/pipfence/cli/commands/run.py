"""`pipfence run CMD…`: run a command or a [scripts] entry inside the environment."""

from __future__ import annotations

import argparse
import os
import shutil
from typing import TYPE_CHECKING

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import CommandNotFound

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_command", nargs=argparse.REMAINDER, metavar="COMMAND ...")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.running import command_for, environment_for

    project = project_from_args(args)
    venv = project.venv_path()
    if not (venv / "pyvenv.cfg").is_file():
        _create_env(args, ui, project)
    argv = command_for(project, list(args.run_command))
    env = environment_for(project, venv)
    executable = shutil.which(argv[0], path=env["PATH"])
    if executable is None:
        raise CommandNotFound(f"command `{argv[0]}` was not found in the environment or on PATH")
    os.execve(executable, argv, env)  # noqa: S606  # replaces this process, as pipenv run does
    return 0  # pragma: no cover


def _create_env(args: argparse.Namespace, ui: UI, project: Project) -> None:
    """No environment yet: make an empty one (pip only), as pipenv's `run` does."""
    from pipfence.cli.location import creating_message
    from pipfence.project.environment import ensure_env
    from pipfence.project.serial import project_lock

    site_packages = getattr(args, "site_packages", None)
    with project_lock(project):
        creating_message(project, ui, site_packages=site_packages)
        env, _, _ = ensure_env(
            project, python=getattr(args, "python", None), site_packages=site_packages
        )
    ui.info(f"Virtualenv location: {env.root}")
