"""`pipfence why PKG`: why a package is in the lock, how it is reached, and from which index."""

from __future__ import annotations

import argparse
import json

from pipfence.cli.context import project_from_args
from pipfence.cli.ui import UI
from pipfence.models.urls import shown_url

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", metavar="PACKAGE", help="the package to explain")
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")


def run(args: argparse.Namespace, ui: UI) -> int:
    from pipfence.project.graph import graph_of_env
    from pipfence.project.installed import existing_env
    from pipfence.project.why import explain

    project = project_from_args(args)
    lock = project.require_lock()
    env = existing_env(project)
    graph = graph_of_env(env) if env is not None else None
    found = explain(args.package, project.pipfile, lock, graph)
    if args.json:
        ui.result(json.dumps(found.to_dict(), indent=4))
        return 0
    ui.result(f"{found.name} {found.version or '(not an index package)'}")
    ui.result(f"  in the lock:   {', '.join(found.categories)}")
    if found.entries:
        for entry in found.entries:
            extras = f"[{','.join(entry.extras)}]" if entry.extras else ""
            index = f', index = "{entry.index}"' if entry.index else ""
            ui.result(
                f"  Pipfile entry: [{entry.table}] {found.name}{extras} {entry.version}{index}"
            )
    else:
        ui.result("  Pipfile entry: none (a dependency of other packages)")
    if found.rule != "direct":
        ui.result(f"  index:         {found.source.name} ({shown_url(found.source.url)})")
    ui.result(f"  because:       {found.reason}")
    if found.chains is not None and found.chains:
        ui.result("  reached by:")
        for chain in found.chains:
            first = chain[0]
            steps = [f"{_named(first.name, first.extras)} {first.version}"]
            steps += [
                f"{_named(link.name, link.extras)} {link.version} ({link.required})"
                for link in chain[1:]
            ]
            suffix = " (the Pipfile entry itself)" if len(chain) == 1 else ""
            ui.result("    " + " -> ".join(steps) + suffix)
        if found.more_chains:
            ui.result(f"    … and {found.more_chains} more")
    for note in found.notes:
        ui.info(f"note: {note}")
    return 0


def _named(name: str, extras: tuple[str, ...]) -> str:
    return f"{name}[{','.join(extras)}]" if extras else name
