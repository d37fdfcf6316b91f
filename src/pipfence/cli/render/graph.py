"""The dependency graph of an environment in pipdeptree's shapes, as `pipenv graph` prints it.

Top-level packages (those nothing else requires) with their dependencies below them as
``name [required: >=1, installed: 2.0]``, drawn as pipdeptree draws them; pip, setuptools,
wheel and friends are left out at the top, as pipenv does.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from pipfence.installer.plan import PROTECTED
from pipfence.models.names import NormalizedName
from pipfence.project.graph import MISSING, DependencyGraph, Edge, Node

__all__ = ["render_json", "render_json_tree", "render_text"]


#: One line of the tree: its text, whether it is the last of its siblings (counted before a
#: cycle is cut, as pipdeptree counts them), and the lines below it.
_Line = tuple[str, bool, list["_Line"]]


def render_text(
    graph: DependencyGraph,
    *,
    reverse: bool = False,
    unicode: bool = False,
    hidden: Collection[str] = PROTECTED,
) -> list[str]:
    """pipdeptree's text tree, one list item per line.

    Forward: each top-level package as ``name==version``, its dependencies below as
    ``name [required: SPEC, installed: VERSION]``. Reverse: each package that requires
    nothing at the top, and below it the packages requiring it as
    ``name==version [requires: child SPEC]``. A cycle is cut where it would repeat a name.
    ``unicode`` draws the branches (``├──``, ``└──``, ``│``) as pipdeptree does when its
    output is UTF-8, as it is on most terminals and pipes; else ``- `` bullets indented two
    spaces a level. A ``hidden`` package's own line is left out at the top of the forward
    tree (not the lines below it), as pipenv filters pipdeptree's output (``--bare``: none).
    """
    tops = _reverse_lines(graph) if reverse else _forward_lines(graph)
    lines: list[str] = []
    for text, _last, below in tops:
        if reverse or text.partition("==")[0] not in hidden:
            lines.append(text)
        if unicode:
            _drawn(below, lines, indent=2, prefix="", depth=1, nested=False, parent_last=False)
        else:
            _bulleted(below, lines, indent=2)
    return lines


def _forward_lines(graph: DependencyGraph) -> list[_Line]:
    def down(key: NormalizedName, chain: list[NormalizedName]) -> list[_Line]:
        edges = graph.children(key)
        return [
            (
                (
                    f"{edge.name} [required: {edge.required}, installed: "
                    f"{graph.version_of(edge.key)}{_extra(edge)}]"
                ),
                index == len(edges) - 1,
                down(edge.key, [*chain, edge.key]),
            )
            for index, edge in enumerate(edges)
            if edge.key not in chain
        ]

    return [
        (f"{node.name}=={node.version}", False, down(node.key, [node.key]))
        for node in graph.roots()
    ]


def _reverse_lines(graph: DependencyGraph) -> list[_Line]:
    dependents = graph.dependents()

    def up(key: NormalizedName, chain: list[NormalizedName]) -> list[_Line]:
        parents = dependents.get(key, [])
        return [
            (
                (
                    f"{parent.name}=={parent.version} "
                    f"[requires: {edge.name}{edge.specifier or ''}{_extra(edge)}]"
                ),
                index == len(parents) - 1,
                up(parent.key, [*chain, parent.key]),
            )
            for index, (parent, edge) in enumerate(parents)
            if parent.key not in chain
        ]

    # At the top: what requires nothing, and what is required but not installed (`name==?`,
    # named as the first package requiring it writes it), as pipdeptree lists them.
    tops = {k: f"{n.name}=={n.version}" for k, n in graph.nodes.items() if not graph.children(k)}
    for key, found in dependents.items():
        if key not in graph.nodes:
            tops[key] = f"{found[0][1].name}=={MISSING}"
    return [(tops[key], False, up(key, [key])) for key in sorted(tops)]


def _extra(edge: Edge) -> str:
    return f", extra: {edge.extra}" if edge.extra else ""


def _bulleted(items: list[_Line], lines: list[str], *, indent: int) -> None:
    for text, _last, below in items:
        lines.append(f"{' ' * indent}- {text}")
        _bulleted(below, lines, indent=indent + 2)


def _drawn(
    items: list[_Line],
    lines: list[str],
    *,
    indent: int,
    prefix: str,
    depth: int,
    nested: bool,
    parent_last: bool,
) -> None:
    """pipdeptree's unicode tree below one line: ``indent``, ``prefix`` and ``depth`` as it
    computes them, ``nested`` when the items' parent has a parent itself."""
    for text, last, below in items:
        own, next_indent = prefix, indent + 2
        if nested:
            next_indent -= 1
            own += " " * (indent + 1 - depth) if parent_last else "│" + " " * (indent - depth)
            own += " "
        lines.append(f"{own}{'└── ' if last else '├── '}{text}")
        _drawn(
            below,
            lines,
            indent=next_indent,
            prefix=own,
            depth=depth + 1,
            nested=True,
            parent_last=last,
        )


def _package(node: Node) -> dict[str, Any]:
    return {"key": node.key, "package_name": node.name, "installed_version": node.version}


def _requirement(graph: DependencyGraph, edge: Edge) -> dict[str, Any]:
    found = {
        "key": edge.key,
        "package_name": edge.name,
        "installed_version": graph.version_of(edge.key),
        "required_version": edge.required,
    }
    return {**found, "extra": edge.extra} if edge.extra else found


def render_json(
    graph: DependencyGraph, *, reverse: bool = False, hidden: Collection[str] = PROTECTED
) -> str:
    """pipdeptree's ``--json``: every package with its direct dependencies (or, ``reverse``,
    with the packages requiring it), sorted by key, indented by 4; pip and friends left out,
    as pipenv leaves them out (``hidden``; none with ``--bare``)."""
    items: list[dict[str, Any]] = []
    dependents = graph.dependents() if reverse else {}
    for key in sorted(graph.nodes):
        if key in hidden:
            continue
        node = graph.nodes[key]
        package = _package(node)
        if reverse:
            # pipdeptree keys the reversed tree by the first edge into the package, so its
            # `required_version` is that edge's; a package nothing requires pins itself.
            parents = dependents.get(key, [])
            package["required_version"] = parents[0][1].required if parents else f"=={node.version}"
            deps = [_package(parent) for parent, _edge in parents]
        else:
            deps = [_requirement(graph, edge) for edge in graph.children(key)]
        items.append({"package": package, "dependencies": deps})
    return json.dumps(items, indent=4)


def render_json_tree(
    graph: DependencyGraph, *, reverse: bool = False, hidden: Collection[str] = PROTECTED
) -> str:
    """pipdeptree's ``--json-tree``: the top-level packages, each with its dependencies nested;
    a top-level package's ``required_version`` is its installed version. ``reverse`` turns it
    upside down: the packages that require nothing at the top, each with the packages that
    require it nested (their ``required_version`` is what they ask of the package below)."""
    if reverse:
        return json.dumps(_reverse_tree(graph, hidden), indent=4)

    def nest(edge: Edge, chain: list[NormalizedName]) -> dict[str, Any]:
        item = _requirement(graph, edge)
        item["dependencies"] = [
            nest(child, [*chain, child.key])
            for child in graph.children(edge.key)
            if child.key not in chain and child.key not in hidden
        ]
        return item

    tree: list[dict[str, Any]] = []
    for node in graph.roots():
        if node.key in hidden:
            continue
        item = {**_package(node), "required_version": node.version}
        item["dependencies"] = [
            nest(edge, [node.key, edge.key])
            for edge in graph.children(node.key)
            if edge.key not in hidden
        ]
        tree.append(item)
    return json.dumps(tree, indent=4)


def _reverse_tree(graph: DependencyGraph, hidden: Collection[str]) -> list[dict[str, Any]]:
    dependents = graph.dependents()

    def up(node: Node, chain: list[NormalizedName]) -> list[dict[str, Any]]:
        items = []
        for parent, edge in dependents.get(node.key, []):
            if parent.key in chain or parent.key in hidden:
                continue
            item = {**_package(parent), "required_version": edge.required}
            item["dependencies"] = up(parent, [*chain, parent.key])
            items.append(item)
        return items

    tree: list[dict[str, Any]] = []
    for key in sorted(graph.nodes):
        node = graph.nodes[key]
        if graph.children(key) or key in hidden:
            continue
        item = {**_package(node), "required_version": node.version}
        item["dependencies"] = up(node, [key])
        tree.append(item)
    return tree
