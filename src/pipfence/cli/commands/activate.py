"""`pipfence activate`: print the command that activates the environment in your shell, as
pipenv's ``activate`` does: ``eval "$(pipfence activate)"``."""

from __future__ import annotations

import argparse
import os

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.models.shells import activate_line
    from pipfence.project.installed import require_env
    from pipfence.project.running import user_shell

    project = project_from_args(args)
    venv = require_env(project).root
    shell = user_shell(project.settings.environ, parent_pid=os.getppid())
    ui.result(activate_line(shell, venv))
    return 0
