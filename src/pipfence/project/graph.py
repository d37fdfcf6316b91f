"""The dependency graph of an environment, read from installed METADATA, in pipdeptree's shapes.

`pipenv graph` runs pipdeptree inside the environment; this reads the same facts without
starting it: every ``*.dist-info`` gives a node (its ``Name`` as written, its ``Version``) and
its ``Requires-Dist`` lines give the edges. As in pipdeptree, an edge whose marker is false for
the environment's Python is left out, and so is one behind an extra (``extra == "socks"``);
`DependencyGraph.extra_edges` keeps the latter for `pipfence why`. An edge to a package that is
not installed points at version ``?``.

The graph is data; `pipfence.cli.render.graph` prints it in pipdeptree's shapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.parser import BytesParser
from pathlib import Path

import msgspec
from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement

from pipfence.installer.venv import VirtualEnv
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.target import Target

__all__ = [
    "MISSING",
    "DependencyGraph",
    "Edge",
    "Node",
    "graph_of_env",
]

#: pipdeptree's installed version for a requirement nothing provides.
MISSING = "?"


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    """One ``Requires-Dist`` edge: the name as the installed dependency writes it (as the
    parent wrote it when nothing provides it), and pipdeptree's rendering
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


class Node(msgspec.Struct, frozen=True, kw_only=True):
    """An installed distribution: its ``Name`` as written, its version, and its edges."""

    key: NormalizedName
    name: str
    version: str
    requires: tuple[Edge, ...] = ()


class DependencyGraph(msgspec.Struct, frozen=True, kw_only=True):
    """Nodes by normalised name; ``extra_edges`` maps a node to the edges behind its extras,
    ``requested`` to those of them pipdeptree shows: behind an extra that an installed
    package asks of it (``httpx[http2]``), transitively, leading to an installed package."""

    nodes: Mapping[NormalizedName, Node]
    extra_edges: Mapping[NormalizedName, tuple[Edge, ...]]
    requested: Mapping[NormalizedName, tuple[Edge, ...]] = msgspec.field(default_factory=dict)

    @classmethod
    def build(
        cls, distributions: Iterable[tuple[str, str, Iterable[str]]], target: Target
    ) -> DependencyGraph:
        """The graph of ``(name, version, requires_dist)`` triples for ``target``'s markers.

        A ``Requires-Dist`` line that does not parse is skipped, as pip skips it."""
        nodes: dict[NormalizedName, Node] = {}
        extras: dict[NormalizedName, tuple[Edge, ...]] = {}
        for name, version, requires_dist in distributions:
            key = canonical_name(name)
            plain: list[Edge] = []
            gated: list[Edge] = []
            for line in requires_dist:
                edge = _edge(line, target)
                if edge is None:
                    continue
                (gated if edge.extra else plain).append(edge)
            nodes.setdefault(
                key, Node(key=key, name=name, version=version, requires=_unique(plain))
            )
            extras.setdefault(key, _unique(gated))
        # An installed dependency goes by its own `Name` (`charset-normalizer`), not by the
        # spelling of the parent's line (`charset_normalizer`), as pipdeptree names it.
        names = {key: node.name for key, node in nodes.items()}
        named = {key: _named(edges, names) for key, edges in extras.items()}
        nodes = {
            key: msgspec.structs.replace(node, requires=_named(node.requires, names))
            for key, node in nodes.items()
        }
        return cls(nodes=nodes, extra_edges=named, requested=_requested(nodes, named))

    def version_of(self, key: NormalizedName) -> str:
        node = self.nodes.get(key)
        return node.version if node is not None else MISSING

    def plain_children(self, key: NormalizedName) -> list[Edge]:
        """``key``'s edges that no extra gates, sorted by name."""
        node = self.nodes.get(key)
        return sorted(node.requires, key=lambda d: d.key) if node is not None else []

    def children(self, key: NormalizedName) -> list[Edge]:
        """``key``'s edges as pipdeptree shows them: the plain ones and the `requested` extras'
        ones, sorted by name (a plain edge before an extra's to the same package)."""
        node = self.nodes.get(key)
        if node is None:
            return []
        return sorted([*node.requires, *self.requested.get(key, ())], key=lambda d: d.key)

    def roots(self) -> list[Node]:
        """Installed packages that no other installed package requires, sorted by key."""
        required = {edge.key for key in self.nodes for edge in self.children(key)}
        return [self.nodes[k] for k in sorted(self.nodes) if k not in required]

    def dependents(self) -> dict[NormalizedName, list[tuple[Node, Edge]]]:
        """For each name, the installed packages requiring it and the edge they require it by."""
        found: dict[NormalizedName, list[tuple[Node, Edge]]] = {}
        for key in sorted(self.nodes):
            node = self.nodes[key]
            for edge in self.children(key):
                found.setdefault(edge.key, []).append((node, edge))
        return found


def _requested(
    nodes: Mapping[NormalizedName, Node], extra_edges: Mapping[NormalizedName, tuple[Edge, ...]]
) -> dict[NormalizedName, tuple[Edge, ...]]:
    """pipdeptree's explicit extras: the extras the installed packages' edges ask for
    (``b[x]``), and what those extras' edges ask in turn, each extra's edges that lead to an
    installed package, once each."""
    wanted: dict[NormalizedName, set[str]] = {}
    for node in nodes.values():
        for edge in node.requires:
            wanted.setdefault(edge.key, set()).update(canonical_name(e) for e in edge.extras)
    done: dict[NormalizedName, set[str]] = {}
    found: dict[NormalizedName, list[Edge]] = {}
    while wanted:
        following: dict[NormalizedName, set[str]] = {}
        for key, extras in wanted.items():
            new = extras - done.get(key, set())
            if not new or key not in nodes:
                continue
            done.setdefault(key, set()).update(new)
            for edge in extra_edges.get(key, ()):
                if edge.extra and canonical_name(edge.extra) in new and edge.key in nodes:
                    found.setdefault(key, []).append(edge)
                    following.setdefault(edge.key, set()).update(
                        canonical_name(e) for e in edge.extras
                    )
        wanted = following
    return {key: tuple(edges) for key, edges in found.items()}


def _named(edges: tuple[Edge, ...], names: Mapping[NormalizedName, str]) -> tuple[Edge, ...]:
    return tuple(
        msgspec.structs.replace(edge, name=names[edge.key])
        if edge.key in names and edge.name != names[edge.key]
        else edge
        for edge in edges
    )


def _edge(line: str, target: Target) -> Edge | None:
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
    return Edge(
        key=canonical_name(requirement.name),
        name=requirement.name,
        specifier=",".join(specs) or None,
        extra=extra,
        extras=tuple(sorted(requirement.extras)),
    )


def _extras_named(marker: str) -> list[str]:
    """The extra names a marker compares ``extra`` with (``extra == "socks"`` → ``socks``)."""
    return re.findall(r"""extra\s*==\s*["']([^"']+)["']""", marker)


def _unique(edges: list[Edge]) -> tuple[Edge, ...]:
    seen: dict[NormalizedName, Edge] = {}
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
