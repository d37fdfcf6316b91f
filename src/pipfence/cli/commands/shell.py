"""`pipfence shell`: start the user's shell with the environment activated."""

from __future__ import annotations

import argparse
import os

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fancy",
        action="store_true",
        help="start the shell as it is (PATH and VIRTUAL_ENV set), without the start-up file "
        "that activates the environment and marks the prompt",
    )
    parser.add_argument(
        "--anyway", action="store_true", help="start a shell even inside another one"
    )
    parser.add_argument("shell_args", nargs=argparse.REMAINDER, metavar="ARGS")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.installed import require_env
    from pipfence.project.running import exec_launch, shell_launch, user_shell

    project = project_from_args(args)
    venv = require_env(project).root
    environ = project.settings.environ
    if environ.get("PIPENV_ACTIVE") and not args.anyway:
        raise UsageError(
            "a pipenv/pipfence shell is already active; `exit` it first",
            hint="or start one inside it with `pipfence shell --anyway`",
        )
    shell = user_shell(environ, parent_pid=os.getppid())
    launch = shell_launch(project, venv, shell, list(args.shell_args), plain=args.fancy)
    ui.info(f"Launching {shell} with the environment at {venv}; `exit` to leave")
    exec_launch(launch)  # the shell takes over
