"""`pipfence scripts`: the Pipfile's [scripts], as pipenv lists them."""

from __future__ import annotations

import argparse

from pipfence.cli.commands._options import accept
from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    accept(parser, "--clear", reason="scripts lists the Pipfile's [scripts]; it uses no cache")
    del parser  # no options of its own


def run(args: argparse.Namespace, ui: UI) -> int:
    scripts = {str(k): _command(v) for k, v in project_from_args(args).raw_table("scripts").items()}
    first = max(len(word) for word in ["Command", *scripts])
    second = max(len(word) for word in ["Script", *scripts.values()])
    ui.result(f"{'Command':<{first}}  Script")
    ui.result(f"{'-' * first}  {'-' * second}")
    for name, script in scripts.items():
        ui.result(f"{name:<{first}}  {script}")
    return 0


def _command(value: object) -> str:
    """A script as written: a string, or pipenv's ``{call = "pkg.mod:func"}`` table."""
    if isinstance(value, dict) and "call" in value:
        return f"call = {value['call']!r}"
    return str(value)
