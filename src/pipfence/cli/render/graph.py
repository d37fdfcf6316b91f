"""The dependency graph of an environment in pipdeptree's shapes, as `pipenv graph` prints it.

Top-level packages (those nothing else requires) with their dependencies indented two spaces a
level as ``- name [required: >=1, installed: 2.0]``; pip, setuptools, wheel and friends are
left out at the top, as pipenv does.
"""

from __future__ import annotations

import json
from typing import Any

from pipfence.installer.plan import PROTECTED
from pipfence.models.names import NormalizedName
from pipfence.project.graph import DependencyGraph, Edge, Node

__all__ = ["render_json", "render_json_tree", "render_text"]


def render_text(graph: DependencyGraph, *, reverse: bool = False) -> list[str]:
    """pipdeptree's plain text tree, one list item per line.

    Forward: each top-level package as ``name==version``, its dependencies below as
    ``- name [required: SPEC, installed: VERSION]``. Reverse: each package that requires
    nothing at the top, and below it the packages requiring it as
    ``- name==version [requires: child SPEC]``. A cycle is cut where it would repeat a name.
    """
    lines: list[str] = []
    if reverse:
        dependents = graph.dependents()
        required_nothing = [
            graph.nodes[k] for k in sorted(graph.nodes) if not graph.nodes[k].requires
        ]

        def up(node: Node, indent: int, chain: list[NormalizedName]) -> None:
            for parent, edge in dependents.get(node.key, []):
                if parent.key in chain:
                    continue
                spec = edge.specifier or ""
                lines.append(
                    f"{' ' * indent}- {parent.name}=={parent.version} [requires: {edge.name}{spec}]"
                )
                up(parent, indent + 2, [*chain, parent.key])

        for node in required_nothing:
            lines.append(f"{node.name}=={node.version}")
            up(node, 2, [node.key])
        return lines

    def down(key: NormalizedName, indent: int, chain: list[NormalizedName]) -> None:
        for edge in graph.children(key):
            if edge.key in chain:
                continue
            lines.append(
                f"{' ' * indent}- {edge.name} "
                f"[required: {edge.required}, installed: {graph.version_of(edge.key)}]"
            )
            down(edge.key, indent + 2, [*chain, edge.key])

    for node in graph.roots():
        if node.key in PROTECTED:
            continue
        lines.append(f"{node.name}=={node.version}")
        down(node.key, 2, [node.key])
    return lines


def _package(node: Node) -> dict[str, Any]:
    return {"key": node.key, "package_name": node.name, "installed_version": node.version}


def _requirement(graph: DependencyGraph, edge: Edge) -> dict[str, Any]:
    return {
        "key": edge.key,
        "package_name": edge.name,
        "installed_version": graph.version_of(edge.key),
        "required_version": edge.required,
    }


def render_json(graph: DependencyGraph, *, reverse: bool = False) -> str:
    """pipdeptree's ``--json``: every package with its direct dependencies (or, ``reverse``,
    with the packages requiring it), sorted by key, indented by 4; pip and friends left out,
    as pipenv leaves them out."""
    items: list[dict[str, Any]] = []
    dependents = graph.dependents() if reverse else {}
    for key in sorted(graph.nodes):
        if key in PROTECTED:
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


def render_json_tree(graph: DependencyGraph, *, reverse: bool = False) -> str:
    """pipdeptree's ``--json-tree``: the top-level packages, each with its dependencies nested;
    a top-level package's ``required_version`` is its installed version. ``reverse`` turns it
    upside down: the packages that require nothing at the top, each with the packages that
    require it nested (their ``required_version`` is what they ask of the package below)."""
    if reverse:
        return json.dumps(_reverse_tree(graph), indent=4)

    def nest(edge: Edge, chain: list[NormalizedName]) -> dict[str, Any]:
        item = _requirement(graph, edge)
        item["dependencies"] = [
            nest(child, [*chain, child.key])
            for child in graph.children(edge.key)
            if child.key not in chain and child.key not in PROTECTED
        ]
        return item

    tree: list[dict[str, Any]] = []
    for node in graph.roots():
        if node.key in PROTECTED:
            continue
        item = {**_package(node), "required_version": node.version}
        item["dependencies"] = [
            nest(edge, [node.key, edge.key])
            for edge in graph.children(node.key)
            if edge.key not in PROTECTED
        ]
        tree.append(item)
    return json.dumps(tree, indent=4)


def _reverse_tree(graph: DependencyGraph) -> list[dict[str, Any]]:
    dependents = graph.dependents()

    def up(node: Node, chain: list[NormalizedName]) -> list[dict[str, Any]]:
        items = []
        for parent, edge in dependents.get(node.key, []):
            if parent.key in chain or parent.key in PROTECTED:
                continue
            item = {**_package(parent), "required_version": edge.required}
            item["dependencies"] = up(parent, [*chain, parent.key])
            items.append(item)
        return items

    tree: list[dict[str, Any]] = []
    for key in sorted(graph.nodes):
        node = graph.nodes[key]
        if node.requires or key in PROTECTED:
            continue
        item = {**_package(node), "required_version": node.version}
        item["dependencies"] = up(node, [key])
        tree.append(item)
    return tree
