"""`pipfence why`: why a package is in the lock, how it is reached, and which index it comes from.

Three facts, each from where it is recorded:

- the lock categories holding the package and its locked version (Pipfile.lock);
- the chains from a Pipfile entry down to it: from the installed environment's METADATA
  (`DependencyGraph`), following an extra's dependencies only where the chain asked for that
  extra; None when the environment does not exist (the lock does not record edges);
- its index and the fence rule that chose it: pinned in the Pipfile with ``index =``; the
  default source; or the source of a parent from a non-default source, when the lock took it
  from there because the default source does not have it (the lock entry's ``index``).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from pipfence.errors import PipfenceError
from pipfence.models.fence import Fence
from pipfence.models.lockfile import LockedPackage, Lockfile, package_source
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import Pipfile, lock_category, pipfile_table
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url
from pipfence.project.graph import DependencyGraph

__all__ = ["MAX_CHAINS", "Explanation", "Link", "PipfileEntry", "explain"]

#: Chains beyond this many are counted, not listed.
MAX_CHAINS = 20
_MAX_DEPTH = 40

Rule = Literal["pinned", "default", "parent", "direct"]


class PipfileEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A Pipfile entry naming the package: its table, version and ``index`` (if any)."""

    table: str
    version: str
    index: str | None = None
    extras: tuple[str, ...] = ()


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a chain: the package, its installed version, and what the step before it
    required of it (None for the Pipfile entry the chain starts at)."""

    name: str
    version: str
    required: str | None = None
    extras: tuple[str, ...] = ()


class Explanation(msgspec.Struct, frozen=True, kw_only=True):
    """Everything `pipfence why` says about one package."""

    name: str
    version: str | None
    categories: tuple[str, ...]
    entries: tuple[PipfileEntry, ...]
    source: Source
    rule: Rule
    reason: str
    chains: tuple[tuple[Link, ...], ...] | None
    more_chains: int = 0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``): URLs redacted, as every URL shown is."""
        return {
            "name": self.name,
            "version": self.version,
            "categories": list(self.categories),
            "pipfile_entries": [
                {"table": e.table, "version": e.version, "index": e.index, "extras": list(e.extras)}
                for e in self.entries
            ],
            "index": {"name": self.source.name, "url": shown_url(self.source.url)},
            "rule": self.rule,
            "reason": self.reason,
            "chains": None
            if self.chains is None
            else [
                [
                    {"name": link.name, "version": link.version, "required": link.required}
                    for link in chain
                ]
                for chain in self.chains
            ],
            "more_chains": self.more_chains,
            "notes": list(self.notes),
        }


def explain(
    name: str, pipfile: Pipfile, lock: Lockfile, graph: DependencyGraph | None
) -> Explanation:
    """Explain ``name``; ``graph`` is the installed environment's, or None when there is none.

    Raises `PipfenceError` when the lock does not hold the package.
    """
    key = canonical_name(name)
    found: list[tuple[str, LockedPackage]] = [
        (category, package)
        for category, package in lock.packages()
        if canonical_name(package.name) == key
    ]
    if not found:
        raise PipfenceError(
            f"`{name}` is not in Pipfile.lock",
            hint="`pipfence graph` shows what is installed; `pipfence lock` updates the lock",
        )
    package = found[0][1]
    entries = tuple(
        PipfileEntry(table=table, version=spec.version, index=spec.index, extras=spec.extras)
        for table, spec in pipfile.iter_specs()
        if spec.key == key
    )
    source = package_source(package, lock)
    notes: list[str] = []
    chains, more = _installed_chains(key, pipfile, graph, notes)
    fence = pipfile.fence([pipfile_table(found[0][0])])
    rule, reason = _rule(key, source, fence=fence, entries=entries, chains=chains, lock=lock)
    if not package.is_named:
        rule, reason = _direct_rule(package)
    pinned = {e.index for e in entries if e.index}
    if pinned and source.name not in pinned:
        notes.append(
            f"the Pipfile pins it to `{min(pinned)}` but the lock took it from "
            f"`{source.name}`: the lock is out of date; run `pipfence lock`"
        )
    return Explanation(
        name=package.name,
        version=package.version,
        categories=tuple(category for category, _ in found),
        entries=entries,
        source=source,
        rule=rule,
        reason=reason,
        chains=chains,
        more_chains=more,
        notes=tuple(notes),
    )


def _installed_chains(
    key: NormalizedName, pipfile: Pipfile, graph: DependencyGraph | None, notes: list[str]
) -> tuple[tuple[tuple[Link, ...], ...] | None, int]:
    """The first `MAX_CHAINS` chains from a Pipfile entry to ``key`` in the installed
    ``graph`` and how many more there are; (None, 0) without an environment. What they
    cannot show is said in ``notes``."""
    if graph is None:
        notes.append(
            "the environment does not exist, so the chains are unknown; "
            "run `pipfence install` to create it"
        )
        return None, 0
    all_chains = _chains(key, pipfile, graph)
    if key not in graph.nodes:
        notes.append(
            "it is not installed in the environment; run `pipfence install` "
            "(with `--dev` or `--categories` for its category) to see how it is reached"
        )
    return tuple(all_chains[:MAX_CHAINS]), max(0, len(all_chains) - MAX_CHAINS)


def _direct_rule(package: LockedPackage) -> tuple[Rule, str]:
    """A path, file or VCS entry: no fence rule applies to it, in words."""
    kind, where = next(
        (
            (k, package.data[k])
            for k in ("path", "file", "git", "hg", "svn", "bzr")
            if k in package.data
        ),
        ("direct", "?"),
    )
    return (
        "direct",
        (
            f"a {kind} entry: it comes from {where}, not from an index, so no fence "
            "rule applies (its own dependencies are fenced like any other)"
        ),
    )


def _rule(
    key: NormalizedName,
    source: Source,
    *,
    fence: Fence,
    entries: tuple[PipfileEntry, ...],
    chains: tuple[tuple[Link, ...], ...] | None,
    lock: Lockfile,
) -> tuple[Rule, str]:
    """The fence rule that gives ``key`` the lock's ``source``, in words: the policy's pins and
    its named/dependency split decide which rule it is."""
    default = fence.default
    pin = fence.pins.get(key)
    if pin is not None:
        table = next((e.table for e in entries if e.index == pin), None)
        where = f"[{table}] has" if table else "the Pipfile has"
        return "pinned", f'pinned in the Pipfile: {where} index = "{pin}"'
    if source.name != default.name:
        parents = sorted(
            {
                chain[-2].name
                for chain in chains or ()
                if len(chain) > 1 and _source_name(chain[-2].name, lock) == source.name
            }
        )
        via = f" ({', '.join(parents)})" if parents else ""
        return "parent", (
            f"required by a package from `{source.name}`{via} and absent from the default "
            f"source `{default.name}`, so the lock took it from `{source.name}`"
        )
    if not fence.is_dependency(key):
        return "default", (
            f"listed in the Pipfile without index =, so it comes only from the default source "
            f"`{default.name}` (the first [[source]]), and no other source hears its name"
        )
    return "default", (
        f"a dependency the Pipfile does not list: it comes from the default source "
        f"`{default.name}` (the first [[source]])"
    )


def _source_name(name: str, lock: Lockfile) -> str | None:
    key = canonical_name(name)
    for _category, package in lock.packages():
        if canonical_name(package.name) == key:
            return package_source(package, lock).name
    return None


def _chains(
    target: NormalizedName, pipfile: Pipfile, graph: DependencyGraph
) -> list[tuple[Link, ...]]:
    """Every path without repeats from a Pipfile entry to ``target`` through installed
    packages, shortest first."""
    found: list[tuple[Link, ...]] = []
    starts: dict[NormalizedName, tuple[str, tuple[str, ...]]] = {}
    for table, spec in pipfile.iter_specs():
        if spec.key in graph.nodes and spec.key not in starts:
            starts[spec.key] = (lock_category(table), spec.extras)

    def walk(
        key: NormalizedName, extras: tuple[str, ...], path: list[Link], seen: set[NormalizedName]
    ) -> None:
        if key == target:
            found.append(tuple(path))
            return
        if len(path) >= _MAX_DEPTH or len(found) > MAX_CHAINS * 5:
            return
        wanted = {canonical_name(e) for e in extras}
        edges = list(graph.plain_children(key)) + [
            e
            for e in graph.extra_edges.get(key, ())
            if e.extra and canonical_name(e.extra) in wanted
        ]
        for edge in edges:
            if edge.key in seen or edge.key not in graph.nodes:
                continue
            node = graph.nodes[edge.key]
            link = Link(
                name=node.name, version=node.version, required=edge.required, extras=edge.extras
            )
            walk(edge.key, edge.extras, [*path, link], seen | {edge.key})

    for key, (_category, extras) in starts.items():
        node = graph.nodes[key]
        walk(key, extras, [Link(name=node.name, version=node.version, extras=extras)], {key})
    found.sort(key=len)
    return found
