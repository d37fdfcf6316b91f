"""The fence: which package index may hear a name, and which one a package is taken from.

One pure policy, asked by everything that touches an index (lock, builds, sync, export, why,
``sources``). No I/O: callers fetch what `Fence.sources_to_ask` names and hand the answers to
`Fence.decide`.

The rules (the seed's index-restricted packages, made exact):

1. A name the Pipfile pins with ``index = "X"`` (in any category) is asked of X alone and taken
   from X; no other index ever hears it.
2. A name the Pipfile lists without ``index`` is asked of the default source (the first
   ``[[source]]``) alone. When the default lacks it, the error shows the line that would pin it
   elsewhere; the other sources are not asked.
3. A name the Pipfile does not list (a dependency) is asked of the default, and also of every
   non-default source X that served a package declaring it (X already knows the name):

   - only on the default → default; only on X → X (recorded as ``"index": "X"``);
   - on both, and X's files for the version chosen are byte-identical to the default's (the
     same sha256 digests; X mirrors the default) → default; checked in two steps: `decide`
     stops at once when no version is identical on both, `confirm` checks the version the
     resolver chose;
   - on both as different files → `FenceError`, or the default's copy when the confusion check
     is off (``[pipenv] pipfence_confusion_check = false``).

   A page that lists no files counts as absent.
4. Build requirements follow 1-3, the package being built standing as their parent; builds are
   cached per fence (`Fence.build_identity`).
5. A lock is checked against 1-3 at install: its sources and ``index`` keys before anything is
   fetched (`Fence.check_lock`), its transitive entries on non-default sources from the
   verified packages' own metadata (`Fence.suspects`, `Fence.justified`,
   `Fence.check_dependency_edges`), and its default entries that a package from another source
   requires by `decide` and `confirm` again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import msgspec

from pipfence.errors import (
    LockFenceError,
    UsageError,
)
from pipfence.models.decision import Decision, Parent, Rule, confusion, not_found
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source
from pipfence.models.urls import same_url, shown_url

if TYPE_CHECKING:
    from pipfence.models.listing import Listing
    from pipfence.models.lockfile import Lockfile

__all__ = ["Fence"]


class Fence(msgspec.Struct, frozen=True):
    """Which index may hear each name and which one each package comes from.

    ``sources`` in Pipfile order (the first is the default); ``pins`` maps a name to the source
    its Pipfile entry names in ``index =``; ``named`` holds every name the Pipfile lists (in
    any table), pinned or not. ``confusion_check`` is ``[pipenv] pipfence_confusion_check``.
    """

    sources: tuple[Source, ...]
    pins: Mapping[NormalizedName, str] = msgspec.field(default_factory=dict)
    named: frozenset[NormalizedName] = frozenset()
    confusion_check: bool = True

    def __post_init__(self) -> None:
        if not self.sources:
            msg = "a fence needs at least one source"
            raise ValueError(msg)

    @property
    def default(self) -> Source:
        """The source every name without ``index=`` comes from."""
        return self.sources[0]

    def source_named(self, name: str) -> Source:
        """The source called ``name``; `UsageError` listing the valid names otherwise."""
        for source in self.sources:
            if source.name == name:
                return source
        valid = ", ".join(f"`{s.name}`" for s in self.sources)
        raise UsageError(
            f"source `{name}` not found; the Pipfile's sources are {valid}",
            hint="use one of those names in `index=`, or add a [[source]] with that name",
        )

    def find_by_url(self, url: str) -> Source | None:
        """The source whose URL is ``url`` (trailing slash and case of host ignored), if any;
        of two that both match, the one spelled exactly so (as pipenv picks it)."""
        exact = next((s for s in self.sources if s.url == url), None)
        return exact or next((s for s in self.sources if same_url(s.url, url)), None)

    def source_for(self, name: NormalizedName) -> Source:
        """The source a name comes from before any parent is known: its pin, else the default."""
        pin = self.pins.get(name)
        return self.source_named(pin) if pin is not None else self.default

    def is_dependency(self, name: NormalizedName) -> bool:
        """Whether the Pipfile leaves ``name`` to rule 3 (it does not list it)."""
        return name not in self.named and name not in self.pins

    def build_identity(self, parent: str) -> str:
        """A short digest of everything that decides where a build's requirements come from
        when the package being built came from source ``parent``: the sources (names and URLs
        as written, placeholders unexpanded), the pins, the confusion check. Builds are cached
        under it, so a wheel built under one project's fence never serves another's. Which
        names the Pipfile lists without a pin is left out: it changes with every package added,
        and decides only whether a parent's source is asked too, never lets a source in that
        the pins and sources do not."""
        data = {
            "sources": [[s.name, s.url] for s in self.sources],
            "pins": sorted(self.pins.items()),
            "check": self.confusion_check,
            "parent": parent,
        }
        encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    # -- rules 1-3 ---------------------------------------------------------------------------

    def sources_to_ask(
        self, name: NormalizedName, parents: Iterable[Parent] = ()
    ) -> tuple[Source, ...]:
        """The sources that may hear ``name``, the one to prefer first: its pin; the default
        for a name the Pipfile lists; for a dependency, the default and then each non-default
        source a parent came from, in Pipfile order."""
        pin = self.pins.get(name)
        if pin is not None:
            return (self.source_named(pin),)
        if not self.is_dependency(name):
            return (self.default,)
        via = {p.source for p in parents}
        return (self.default, *(s for s in self.sources[1:] if s.name in via))

    def decide(
        self,
        name: NormalizedName,
        answers: Mapping[str, Listing | None],
        parents: Sequence[Parent] = (),
    ) -> Decision:
        """The source ``name`` is taken from, given what each source `sources_to_ask` named
        answered (None: no such project; an empty `Listing`: a page listing no files).

        Raises `PackageNotFound` when no asked source has it, `FenceError` when the default
        and a parent's source serve different files under the name (dependency confusion),
        `IndexServerError` when the only answer was a page listing no files."""
        asked = self.sources_to_ask(name, parents)
        missing = [s.name for s in asked if s.name not in answers]
        if missing:
            msg = f"decide({name!r}) needs the answers of {missing}"
            raise ValueError(msg)
        listed = {
            s.name: answer
            for s in asked
            if (answer := answers[s.name]) is not None and answer.present
        }
        found = [s for s in asked if s.name in listed]
        pin = self.pins.get(name)
        if pin is not None:
            if not found:
                raise not_found(self.sources, name, asked[0], answers, pinned=True)
            return Decision(asked[0], Rule.PINNED)
        default = self.default
        if not self.is_dependency(name):
            if not found:
                raise not_found(self.sources, name, default, answers, pinned=False)
            return Decision(default, Rule.NAMED)
        relevant = tuple(p for p in parents if p.source != default.name)
        if not found:
            raise not_found(self.sources, name, default, answers, pinned=False, parents=relevant)
        first = found[0]
        others = tuple(s.name for s in found[1:])
        # On several sources: the first's copy (the default's, when it has one) is taken only
        # if every other holds byte-identical files of the version chosen (`confirm`); when no
        # version is identical on all of them, no choice can be, so stop now.
        common: frozenset[str] | None = None
        for position, other in enumerate(found[1:]):
            copied = listed[other.name].copied_versions(listed[first.name])
            common = copied if common is None else common & copied
            if not common:
                if not self.confusion_check:
                    rivals = tuple(
                        s.name
                        for s in found[1:]
                        if not listed[s.name].shares_a_copy(listed[first.name])
                    )
                    return Decision(first, Rule.CHECK_OFF, relevant, rivals or others)
                # Name all the sources only when this one agrees with the first on some
                # version, and the others are what leave no version in common.
                compared = found[: position + 2]
                what = (
                    "no version is the same file on all of "
                    + ", ".join(f"`{s.name}`" for s in compared)
                    if copied
                    else None
                )
                raise confusion(
                    self.default,
                    name,
                    other,
                    relevant,
                    against=None if first == default else first,
                    answers=listed,
                    what=what,
                )
        if first != default:
            return Decision(first, Rule.PARENT_ONLY, relevant, others)
        return Decision(default, Rule.MIRROR if others else Rule.DEFAULT, relevant, others)

    def confirm(
        self,
        name: NormalizedName,
        decision: Decision,
        version: str,
        answers: Mapping[str, Listing | None],
    ) -> tuple[str, ...]:
        """Check the version the resolver chose against the other sources that list ``name``
        (`Decision.others`): each must hold byte-identical files of it, else `FenceError`
        (dependency confusion). With the confusion check off nothing is raised: the sources
        that differ are returned instead, for the lock to warn about."""
        if decision.rule == Rule.CHECK_OFF:
            return ()
        if self.confusion_check:
            needed = (decision.source.name, *decision.others)
            missing = [n for n in needed if answers.get(n) is None]
            if missing:
                msg = f"confirm({name!r}) needs the answers of {missing}"
                raise ValueError(msg)
        taken = answers.get(decision.source.name)
        differing: list[str] = []
        for other in decision.others:
            theirs = answers.get(other)
            if theirs is None or taken is None or theirs.copy_of(taken, version):
                continue
            if not self.confusion_check:
                differing.append(other)
                continue
            raise confusion(
                self.default,
                name,
                self.source_named(other),
                decision.parents,
                against=None if decision.source == self.default else decision.source,
                answers={k: v for k, v in answers.items() if v is not None},
                chosen=version,
            )
        return tuple(differing)

    # -- rule 5 ------------------------------------------------------------------------------

    def fetch_sources(self, index: str | None, *, search_all: bool) -> tuple[Source, ...]:
        """Where an install may download a locked package's files: its lock ``index`` (the
        default when it has none); under ``install_search_all_sources`` every source after
        it, each file still accepted only by the lock's hash."""
        own = self.source_named(index) if index is not None else self.default
        if not search_all:
            return (own,)
        return (own, *(s for s in self.sources if s != own))

    def check_lock(self, lock: Lockfile, categories: Sequence[str]) -> None:
        """Refuse (`FenceError`) a lock whose sources or any entry's ``index`` — direct or
        transitive — the rules would not give, before anything is fetched.

        A lock records no dependency edges, so a transitive entry taken from a non-default
        source X is accepted only when the Pipfile pins some package to X (rule 3 reaches X
        only through a package that came from it)."""
        sources = {s.name: s for s in self.sources}
        for locked in lock.meta.sources:
            mine = sources.get(locked.name)
            if mine is not None and not same_url(mine.url, locked.url):
                raise LockFenceError(
                    f"Pipfile.lock says source `{locked.name}` is {shown_url(locked.url)}, "
                    f"but the Pipfile says {shown_url(mine.url)}",
                    hint="run `pipfence lock` to make a lock from the Pipfile's sources",
                )
        pinned_sources = set(self.pins.values())
        default = self.default.name
        for _category, package in lock.packages(list(categories)):
            if not package.is_named:
                continue
            index = package.index
            if index is not None and index not in sources:
                raise LockFenceError(
                    f"Pipfile.lock takes `{package.name}` from index `{index}`, "
                    "which is not a source in the Pipfile",
                    hint="run `pipfence lock` again",
                )
            taken = index or default
            key = package.key
            pin = self.pins.get(key)
            if pin is not None and taken != pin:
                raise LockFenceError(
                    f"Pipfile.lock takes `{package.name}` from index `{taken}`, "
                    f"but the Pipfile pins it to `{pin}`",
                    hint="run `pipfence lock` again",
                )
            if pin is None and key in self.named and taken != default:
                raise LockFenceError(
                    f"Pipfile.lock takes `{package.name}` from index `{taken}`, but the Pipfile "
                    f"gives it no index, so it may only come from `{default}`",
                    hint="run `pipfence lock` again, or pin it with `index =` in the Pipfile",
                )
            if pin is None and taken != default and taken not in pinned_sources:
                raise LockFenceError(
                    f"Pipfile.lock takes `{package.name}` from index `{taken}`, but no package "
                    f"the Pipfile pins comes from `{taken}`, so no rule can send it there; "
                    f"it may only come from `{default}`",
                    hint="run `pipfence lock` again",
                )

    def suspects(self, lock_sources: Mapping[NormalizedName, str]) -> frozenset[NormalizedName]:
        """The locked names rule 3 alone can have put on a non-default source: dependencies
        the Pipfile does not list, taken from a source other than the default. ``lock_sources``
        maps each locked name to its source."""
        default = self.default.name
        return frozenset(
            name
            for name, taken in lock_sources.items()
            if taken != default and self.is_dependency(name)
        )

    def justified(
        self,
        lock_sources: Mapping[NormalizedName, str],
        requires: Mapping[NormalizedName, Iterable[NormalizedName]],
    ) -> frozenset[NormalizedName]:
        """The `suspects` that a locked package from the same source requires, by the
        metadata known so far (``requires``: locked name → the names it requires)."""
        default = self.default.name
        declared_by: dict[NormalizedName, set[str]] = {}
        for parent, children in requires.items():
            for child in children:
                declared_by.setdefault(child, set()).add(lock_sources.get(parent, default))
        return frozenset(
            name
            for name in self.suspects(lock_sources)
            if lock_sources[name] in declared_by.get(name, ())
        )

    def check_dependency_edges(
        self,
        lock_sources: Mapping[NormalizedName, str],
        requires: Mapping[NormalizedName, Iterable[NormalizedName]],
    ) -> None:
        """Refuse (`LockFenceError`) a lock whose transitive entry from a non-default source X
        is required by no locked package from X (rule 3), judged from the verified files' own
        metadata, since a lock records no edges. ``requires`` must hold every locked package
        from the suspects' sources."""
        ok = self.justified(lock_sources, requires)
        for name in sorted(self.suspects(lock_sources) - ok):
            taken = lock_sources[name]
            raise LockFenceError(
                f"Pipfile.lock takes `{name}` from index `{taken}`, but no package from "
                f"`{taken}` requires it, so it may only come from `{self.default.name}`",
                hint="run `pipfence lock` again",
            )
