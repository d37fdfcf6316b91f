"""`pipfence graph`: the dependency graph of the packages installed in the environment."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.errors import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bare", action="store_true", help="print the tree only")
    parser.add_argument("--json", action="store_true", help="a flat JSON list, as pipdeptree")
    parser.add_argument(
        "--json-tree", action="store_true", help="a nested JSON tree, as pipdeptree"
    )
    parser.add_argument(
        "--reverse", action="store_true", help="show which packages require each package"
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.cli.render.graph import render_json, render_json_tree, render_text
    from pipfence.project.graph import graph_of_env
    from pipfence.project.installed import require_env

    if args.json and args.json_tree:
        raise UsageError("use one of --json and --json-tree, not both")
    project = project_from_args(args)
    graph = graph_of_env(require_env(project))
    # pip and friends are left out as pipenv filters them; `--bare` is pipdeptree's output
    # as it is, theirs included.
    hide: dict[str, Any] = {"hidden": ()} if args.bare else {}
    if args.json:
        ui.result(render_json(graph, reverse=args.reverse, **hide))
    elif args.json_tree:
        ui.result(render_json_tree(graph, reverse=args.reverse, **hide))
    else:
        # pipdeptree draws the tree's branches when its output is UTF-8 (pipenv's nearly
        # always is) and falls back to `- ` bullets otherwise.
        encoding = (getattr(sys.stdout, "encoding", None) or "").lower()
        unicode = encoding in {"utf-8", "utf-16", "utf-32"}
        for line in render_text(graph, reverse=args.reverse, unicode=unicode, **hide):
            ui.result(line)
    return 0
