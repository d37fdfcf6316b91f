"""`pipfence upgrade`: re-lock to newer versions and write the lock, without installing."""

from __future__ import annotations

import argparse

from pipfence.cli.commands import update
from pipfence.cli.ui import UI

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    update.add_arguments(parser)
    parser.set_defaults(lock_only=True)


def run(args: argparse.Namespace, ui: UI) -> int:
    return update.run(args, ui)
