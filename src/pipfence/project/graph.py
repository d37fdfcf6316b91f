"""The dependency graph of an environment, read from installed METADATA, in pipdeptree's shapes.

`pipenv graph` runs pipdeptree inside the environment; this reads the same facts without
starting it: every ``*.dist-info`` gives a node (its ``Name`` as written, its ``Version``) and
its ``Requires-Dist`` lines give the edges. As in pipdeptree, an edge whose marker is false for
the environment's Python is left out, and so is one behind an extra (``extra == "socks"``);
`DependencyGraph.extra_edges` keeps the latter for `pipfence why`. An edge to a package that is
not installed points at version ``?``.

Renderings (`render_text`, `render_json`, `render_json_tree`) follow pipdeptree as pipenv
prints it: top-level packages (those nothing else requires) with their dependencies indented
two spaces a level as ``- name [required: >=1, installed: 2.0]``; pip, setuptools, wheel and
friends are left out at the top, as pipenv does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement

from pipfence.installer.plan import PROTECTED
from pipfence.installer.venv import VirtualEnv
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.target import Target

__all__ = [
    "MISSING",
    "Dependency",
    "DependencyGraph",
    "Node",
    "graph_of_env",
    "render_json",
    "render_json_tree",
    "render_text",
]

#: pipdeptree's installed version for a requirement nothing provides.
MISSING = "?"


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependency:
    """One ``Requires-Dist`` edge: the name as the parent wrote it, and pipdeptree's rendering
    of its specifier (clauses sorted in reverse, comma-joined; None when there is none).
    ``extra`` is the parent's extra that gates it, or None; ``extras`` are the extras the edge
    asks of the dependency (``requests[socks]``)."""

    key: NormalizedName
    name: str
    specifier: str | None = None
    extra: str | None = None
    extras: tuple[str, ...] = ()

    @property
    def required(self) -> str:
        return self.specifier or "Any"


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """An installed distribution: its ``Name`` as written, its version, and its edges."""

    key: NormalizedName
    name: str
    version: str
    requires: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DependencyGraph:
    """Nodes by normalised name; ``extra_edges`` maps a node to the edges behind its extras."""

    nodes: Mapping[NormalizedName, Node]
    extra_edges: Mapping[NormalizedName, tuple[Dependency, ...]]

    @classmethod
    def build(
        cls, distributions: Iterable[tuple[str, str, Iterable[str]]], target: Target
    ) -> DependencyGraph:
        """The graph of ``(name, version, requires_dist)`` triples for ``target``'s markers.

        A ``Requires-Dist`` line that does not parse is skipped, as pip skips it."""
        nodes: dict[NormalizedName, Node] = {}
        extras: dict[NormalizedName, tuple[Dependency, ...]] = {}
        for name, version, requires_dist in distributions:
            key = canonical_name(name)
            plain: list[Dependency] = []
            gated: list[Dependency] = []
            for line in requires_dist:
                edge = _edge(line, target)
                if edge is None:
                    continue
                (gated if edge.extra else plain).append(edge)
            nodes.setdefault(
                key, Node(key=key, name=name, version=version, requires=_unique(plain))
            )
            extras.setdefault(key, _unique(gated))
        return cls(nodes=nodes, extra_edges=extras)

    def version_of(self, key: NormalizedName) -> str:
        node = self.nodes.get(key)
        return node.version if node is not None else MISSING

    def children(self, key: NormalizedName) -> list[Dependency]:
        """``key``'s plain edges, sorted by name as pipdeptree sorts them."""
        node = self.nodes.get(key)
        return sorted(node.requires, key=lambda d: d.key) if node is not None else []

    def roots(self) -> list[Node]:
        """Installed packages that no other installed package requires, sorted by key."""
        required = {edge.key for node in self.nodes.values() for edge in node.requires}
        return [self.nodes[k] for k in sorted(self.nodes) if k not in required]

    def dependents(self) -> dict[NormalizedName, list[tuple[Node, Dependency]]]:
        """For each name, the installed packages requiring it and the edge they require it by."""
        found: dict[NormalizedName, list[tuple[Node, Dependency]]] = {}
        for key in sorted(self.nodes):
            node = self.nodes[key]
            for edge in node.requires:
                found.setdefault(edge.key, []).append((node, edge))
        return found


def _edge(line: str, target: Target) -> Dependency | None:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    extra: str | None = None
    marker = requirement.marker
    try:
        if marker is not None and not target.evaluate(marker):
            extra = next(
                (e for e in _extras_named(str(marker)) if target.evaluate(marker, [e])), None
            )
            if extra is None:
                return None
    except InvalidMarker:
        return None
    specs = sorted((str(s) for s in requirement.specifier), reverse=True)
    return Dependency(
        key=canonical_name(requirement.name),
        name=requirement.name,
        specifier=",".join(specs) or None,
        extra=extra,
        extras=tuple(sorted(requirement.extras)),
    )


def _extras_named(marker: str) -> list[str]:
    """The extra names a marker compares ``extra`` with (``extra == "socks"`` → ``socks``)."""
    return re.findall(r"""extra\s*==\s*["']([^"']+)["']""", marker)


def _unique(edges: list[Dependency]) -> tuple[Dependency, ...]:
    seen: dict[NormalizedName, Dependency] = {}
    for edge in edges:
        seen.setdefault(edge.key, edge)
    return tuple(seen.values())


def _read_metadata(dist_info: Path) -> tuple[str, str, list[str]] | None:
    try:
        data = (dist_info / "METADATA").read_bytes()
    except OSError:
        return None
    message = BytesParser().parsebytes(
        data, headersonly=True
    )  # compat32, without email.policy's imports
    name, version = message.get("Name"), message.get("Version")
    if not name or not version:
        return None
    requires = [str(r).strip() for r in message.get_all("Requires-Dist") or ()]
    return str(name).strip(), str(version).strip(), requires


def graph_of_env(env: VirtualEnv) -> DependencyGraph:
    """Read every installed distribution's METADATA in ``env``; markers are evaluated for the
    environment's own Python on this platform."""
    target = Target.current(python_full_version=env.python_version)
    found = []
    for dist in env.installed().values():
        meta = _read_metadata(dist.dist_info)
        if meta is not None:
            found.append(meta)
    return DependencyGraph.build(found, target)


# -- renderings -------------------------------------------------------------------------------


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


def _requirement(graph: DependencyGraph, edge: Dependency) -> dict[str, Any]:
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

    def nest(edge: Dependency, chain: list[NormalizedName]) -> dict[str, Any]:
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
