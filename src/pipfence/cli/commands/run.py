"""`pipfence run CMD…`: run a command or a [scripts] entry inside the environment."""

from __future__ import annotations

import argparse
import shlex
from typing import TYPE_CHECKING

from pipfence.cli.ui import UI

if TYPE_CHECKING:
    from pipfence.project.project import Project

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_command", nargs=argparse.REMAINDER, metavar="COMMAND ...")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.location import project_or_new
    from pipfence.project.running import (
        call_launch,
        commands_for,
        environment_for,
        exec_launch,
        launch_for,
    )

    project, new = project_or_new(args)
    venv = project.venv_path()
    if new or not (venv / "pyvenv.cfg").is_file():
        _create_env(args, ui, project, new=new)
    argv = list(args.run_command)
    if argv[:1] == ["--"]:  # `pipfence run -- CMD …` runs CMD, as pipenv reads it
        argv = argv[1:]
    commands = commands_for(project, argv)
    env = environment_for(project, venv)
    if len(commands) == 1:
        launch = launch_for(commands[0], env)
        ui.detail(f"$ {shlex.join(launch.argv)}")
        exec_launch(launch)
    # An array script: each command in turn, stopping at the first that fails (`&&`).
    for command in commands:
        launch = launch_for(command, env)
        ui.detail(f"$ {shlex.join(launch.argv)}")
        returncode = call_launch(launch)
        if returncode != 0:
            return returncode
    return 0


def _create_env(args: argparse.Namespace, ui: UI, project: Project, *, new: bool) -> None:
    """No environment yet: make an empty one (pip only), and with ``new`` the Pipfile too, as
    pipenv's `run` does in a folder that has neither."""
    from pipfence.cli.location import creating_message
    from pipfence.project.environment import ensure_env
    from pipfence.project.serial import project_lock

    site_packages = getattr(args, "site_packages", None)
    with project_lock(project):
        creating_message(project, ui, site_packages=site_packages)
        env, _, _ = ensure_env(
            project, python=getattr(args, "python", None), site_packages=site_packages
        )
        if new:
            project.write_pipfile(project.pending_pipfile_text or "")
            ui.info(f"Created a Pipfile at {project.pipfile_path}")
    ui.info(f"Virtualenv location: {env.root}")
