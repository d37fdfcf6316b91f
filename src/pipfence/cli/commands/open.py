"""`pipfence open MODULE`: show an installed module's folder in $VISUAL / $EDITOR."""

from __future__ import annotations

import argparse
import shlex
import subprocess

from pipfence.cli.commands._options import accept
from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import EXIT_FAILURE, PipfenceError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    accept(parser, "--clear", reason="open shows a folder; it uses no cache")
    parser.add_argument("module", metavar="MODULE", help="module (or package) name to open")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.installed import module_location, require_env

    project = project_from_args(args)
    env = require_env(project)
    path = module_location(env, args.module)
    if path is None:
        raise PipfenceError(
            f"module `{args.module}` is not importable in the environment at `{env.root}`",
            hint="check the name (the import name, e.g. `yaml` for PyYAML), or install it",
        )
    environ = project.settings.environ
    editor = environ.get("VISUAL") or environ.get("EDITOR")
    if not editor:
        ui.result(str(path))
        ui.info("hint: set $EDITOR (or $VISUAL) to open it")
        return 0
    ui.info(f"Opening {str(path)!r} in your EDITOR.")
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as exc:
        raise PipfenceError(f"could not start the editor `{editor}`: {exc}") from exc
    return 0 if done.returncode == 0 else EXIT_FAILURE
