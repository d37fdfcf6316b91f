"""The result of a resolution: pinned packages, the edges that pulled them in, the graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.requirements import Requirement
    from packaging.version import Version

    from pipfence.models.files import DistFile
    from pipfence.models.names import NormalizedName

__all__ = ["Edge", "Resolution", "ResolvedPackage"]


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    """One requirement that pulled a package in.

    ``parent`` is the requiring project's name, or None for a direct requirement (one passed
    to `resolve`). ``requirement`` is the requirement as written — in the Pipfile's terms for a
    direct one, as in the parent's ``Requires-Dist`` otherwise — and ``marker`` its marker
    alone (``extra == "socks"`` when an extra of the parent brought it), None when it has none.
    """

    parent: NormalizedName | None
    requirement: str
    marker: str | None = None


class ResolvedPackage(msgspec.Struct, frozen=True, kw_only=True):
    """One pinned project.

    ``display_name`` is the name as first written by whoever required it (a direct requirement
    first), since core metadata names reach the resolver normalised. ``files`` are every
    distribution file of ``version`` on its index, yanked and other platforms' files included,
    in index order: the lock records all their hashes. ``extras`` are the extras requested of
    it anywhere in the graph. ``required_by`` lists the edges into it, sorted with direct
    requirements first.
    """

    name: NormalizedName
    display_name: str
    version: Version
    files: tuple[DistFile, ...]
    extras: frozenset[str]
    required_by: tuple[Edge, ...]

    @property
    def is_direct(self) -> bool:
        return any(edge.parent is None for edge in self.required_by)

    @property
    def parents(self) -> tuple[NormalizedName, ...]:
        """Projects that require this one, without duplicates; direct requirements left out."""
        return tuple(dict.fromkeys(e.parent for e in self.required_by if e.parent is not None))


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """What `resolve` found.

    ``packages`` maps each pinned project to its `ResolvedPackage`, sorted by name. ``graph``
    maps a parent (None for the direct requirements) to the names it requires, sorted; every
    package is reachable from None. ``skipped`` are direct requirements whose marker is false
    for the target: they were not resolved (pip skips them too), and are returned so the
    caller can decide — for example keep them in the lock with their marker. ``warnings``
    are metadata entries the resolver ignored (an invalid ``Requires-Dist``, an extra the
    package does not provide), one sentence each.
    """

    packages: Mapping[NormalizedName, ResolvedPackage]
    graph: Mapping[NormalizedName | None, tuple[NormalizedName, ...]]
    skipped: tuple[Requirement, ...] = ()
    warnings: tuple[str, ...] = ()
    # Filled on the first `roots` call: every package's roots, found in one walk per root.
    _roots: dict[NormalizedName, frozenset[NormalizedName]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def children(self, name: NormalizedName | None) -> tuple[NormalizedName, ...]:
        """Names ``name`` requires (the direct requirements for None)."""
        return self.graph.get(name, ())

    def ancestors(self, name: NormalizedName) -> frozenset[NormalizedName | None]:
        """Every project on some path from a direct requirement to ``name`` — and None when
        such a path exists; ``name`` itself excluded unless it is in a cycle."""
        parents: dict[NormalizedName, set[NormalizedName | None]] = {}
        for parent, children in self.graph.items():
            for child in children:
                parents.setdefault(child, set()).add(parent)
        seen: set[NormalizedName | None] = set()
        stack: list[NormalizedName | None] = list(parents.get(name, ()))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current is not None:
                stack.extend(parents.get(current, ()))
        return frozenset(seen)

    def roots(self, name: NormalizedName) -> frozenset[NormalizedName]:
        """The direct requirements through which ``name`` is required (itself when direct).

        This is what a caller needs to put a package in the category (``default``,
        ``develop``, …) of the Pipfile entries that brought it in."""
        if not self._roots:
            found: dict[NormalizedName, set[NormalizedName]] = {}
            for root in self.children(None):
                stack = [root]
                seen: set[NormalizedName] = set()
                while stack:
                    current = stack.pop()
                    if current in seen:
                        continue
                    seen.add(current)
                    found.setdefault(current, set()).add(root)
                    stack.extend(self.children(current))
            self._roots.update({n: frozenset(roots) for n, roots in found.items()})
        return self._roots.get(name, frozenset())
