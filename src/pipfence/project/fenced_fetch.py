"""Fetching a sync's files in the order the fence allows, judged from the packages' own
metadata since a lock records no edges (the fence's rule 3 at install time): a package a lock
takes from a non-default source is fetched only once a package from there is seen to need it,
and a dependency it takes from the default is decided again where a private package needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.errors import FenceError, IndexServerError, LockFenceError
from pipfence.installer.satisfies import WantedDist
from pipfence.models.decision import Parent
from pipfence.models.fence import Fence
from pipfence.models.files import CoreMetadata
from pipfence.models.listing import Listing
from pipfence.models.lockfile import LockedPackage
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source
from pipfence.project.wheel_requirements import required_names

if TYPE_CHECKING:
    from pipfence.project.sync_types import Choice

__all__ = ["fetch_in_fence_order"]


def fetch_in_fence_order(
    fence: Fence,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    to_fetch: Sequence[WantedDist],
    *,
    fetch: Callable[[Sequence[WantedDist]], Mapping[NormalizedName, tuple[Choice, Path]]],
    done: dict[NormalizedName, tuple[Choice, Path]],
    metadata_of: Callable[[NormalizedName], CoreMetadata | None],
    listing: Callable[[Source, NormalizedName], Listing | None],
) -> None:
    """Fetch ``to_fetch`` into ``done`` and check the lock's entries against the fence's rule
    3, judged from the packages' own metadata, since a lock records no edges:

    - a transitive entry the lock takes from a non-default source X is fetched only once a
      locked package from X (fetched and verified, or installed) is seen to require it; a lock
      that moved a package there is refused (`LockFenceError`) before its name reaches X;
    - a transitive entry the lock takes from the default that a package from X requires is
      decided again as the lock would (X asked too, its copy of the locked version compared):
      a lock that moved a private package's dependency to the default is refused before
      anything is installed.

    Nothing of this runs (no metadata read) when every entry comes from the default."""
    default = fence.default.name
    taken = {key: package.index or default for key, (_w, package) in wanted.items()}
    if all(source == default for source in taken.values()):
        done.update(fetch(to_fetch))
        return
    suspects = fence.suspects(taken)
    requires: dict[NormalizedName, set[NormalizedName]] = {}

    def learn(key: NormalizedName) -> None:
        metadata = metadata_of(key) if taken[key] != default else None
        if metadata is not None:
            requires[key] = required_names(metadata.requires_dist)

    fetching = {w.name for w in to_fetch}
    for key in taken.keys() - fetching:
        learn(key)  # kept: installed already
    # A suspect may be justified already by a package kept installed (its only parent).
    ok = fence.justified(taken, requires)
    ready = [w for w in to_fetch if w.name not in suspects or w.name in ok]
    pending = [w for w in to_fetch if w.name in suspects and w.name not in ok]
    while ready:
        batch = fetch(ready)
        done.update(batch)
        for key in batch:
            learn(key)
        ok = fence.justified(taken, requires)
        ready = [w for w in pending if w.name in ok]
        pending = [w for w in pending if w.name not in ok]
    fence.check_dependency_edges(taken, requires)
    _confirm_default_dependencies(fence, wanted, taken, requires, listing)


def _confirm_default_dependencies(
    fence: Fence,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    taken: Mapping[NormalizedName, str],
    requires: Mapping[NormalizedName, set[NormalizedName]],
    listing: Callable[[Source, NormalizedName], Listing | None],
) -> None:
    """Decide again, as the lock would, each entry the lock takes from the default source
    that a package from another source requires (``taken``: the source of each entry,
    ``requires``: the edges read from the packages' metadata): `LockFenceError` unless the
    fence gives the default for it too."""
    default = fence.default.name
    parents: dict[NormalizedName, list[Parent]] = {}
    for parent, children in requires.items():
        for child in children:
            if taken.get(child) == default and fence.is_dependency(child):
                parents.setdefault(child, []).append(Parent(parent, taken[parent]))
    for child, its in sorted(parents.items()):
        answers = {s.name: listing(s, child) for s in fence.sources_to_ask(child, its)}
        where = f"Pipfile.lock takes `{child}` from the default source `{default}`"
        try:
            decision = fence.decide(child, answers, its)
            fence.confirm(child, decision, wanted[child][0].version, answers)
        except (FenceError, IndexServerError) as exc:
            raise LockFenceError(f"{where}, which the fence does not allow: {exc}") from exc
        if decision.source.name != default:
            raise LockFenceError(
                f"{where}, but only `{decision.source.name}`, where "
                + ", ".join(f"`{p.name}`" for p in its)
                + " came from, has it",
                hint="run `pipfence lock` again",
            )
