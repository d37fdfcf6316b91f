"""The fence's answers (pure): a `Decision` (the one source a name is taken from, the `Rule`
that chose it, the `Parent` packages that declared it) and the errors it raises, in words: a
name no source it may be asked of has (`not_found`), a dependency that two sources serve as
different files (`confusion`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import msgspec

from pipfence.errors import (
    FenceError,
    IndexServerError,
    PackageNotFound,
)
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url

if TYPE_CHECKING:
    from pipfence.models.listing import Listing

__all__ = ["Decision", "Parent", "Rule", "confusion", "not_found"]


class Rule(enum.StrEnum):
    """Why a package was taken from the source it was taken from."""

    PINNED = "pinned"  # index = "X" in the Pipfile
    NAMED = "named"  # listed in the Pipfile without index: the default
    DEFAULT = "default"  # a dependency, found on the default only
    PARENT_ONLY = "parent-only"  # a dependency found only on its parent's source
    MIRROR = "mirror"  # a dependency on both, the parent's source mirroring the default
    CHECK_OFF = "check-off"  # on both as different files, the confusion check off


class Parent(msgspec.Struct, frozen=True):
    """A package that declared a dependency, and the source it was taken from."""

    name: NormalizedName
    source: str


class Decision(msgspec.Struct, frozen=True):
    """The one source a name is taken from, and the rule that chose it."""

    source: Source
    rule: Rule
    parents: tuple[Parent, ...] = ()
    #: Other sources that also list the name: for `Rule.MIRROR` (and a dependency found on two
    #: parents' sources) each must hold a copy of the version chosen (`Fence.confirm`); for
    #: `Rule.CHECK_OFF` they serve other files, which the lock reports as a warning.
    others: tuple[str, ...] = ()

    def explain(self) -> str:
        """The rule in words, for `pipfence why` and ``lock --verbose``."""
        where = f"`{self.source.name}`"
        via = ", ".join(f"`{p.name}`" for p in self.parents) or "a package"
        match self.rule:
            case Rule.PINNED:
                return f'pinned with index = "{self.source.name}" in the Pipfile'
            case Rule.NAMED:
                return f"named in the Pipfile without an index: the default source {where}"
            case Rule.DEFAULT:
                return f"a dependency: the default source {where}"
            case Rule.PARENT_ONLY:
                mine = [p.name for p in self.parents if p.source == self.source.name]
                names = ", ".join(f"`{n}`" for n in mine) or via
                also = (
                    " (" + ", ".join(f"`{o}`" for o in self.others) + " has the same files)"
                    if self.others
                    else ""
                )
                return (
                    f"a dependency of {names}, not on the default source: taken from {where}, "
                    f"where they came from{also}"
                )
            case Rule.MIRROR:
                return (
                    f"a dependency of {via}: the default source {where}, whose files of the "
                    "version chosen are byte-identical on their source"
                )
            case Rule.CHECK_OFF:
                return (
                    f"a dependency of {via}, served as different files by more than one "
                    f"source: taken from {where}, the default when it has it, else the first "
                    "in Pipfile order (pipfence_confusion_check = false)"
                )


def not_found(
    sources: Sequence[Source],
    name: NormalizedName,
    source: Source,
    answers: Mapping[str, Listing | None],
    *,
    pinned: bool,
    parents: Sequence[Parent] = (),
) -> IndexServerError:
    """The error for ``name`` missing from ``source`` (the one it was asked of: its pinned
    index, or the default), given what each source asked answered."""
    where = f"source `{source.name}` ({shown_url(source.url)})"
    empty = [s for s in sources if (a := answers.get(s.name)) is not None and not a.present]
    if empty:
        # Likelier a sign-in or error page than a project with no files: say so.
        blank = empty[0]
        elsewhere = "; no other source asked has it" if len(answers) > 1 else ""
        return IndexServerError(
            f"source `{blank.name}` ({shown_url(blank.url)}) answered with a page that "
            f"lists no files for `{name}`{elsewhere}",
            source=blank.name,
            hint="check that the URL is the index's simple API and that pipfence may read "
            "it (a sign-in page looks like this)",
        )
    if pinned:
        return PackageNotFound(
            f"Package `{name}` was not found on {where}, the index its Pipfile entry names",
            source=source.name,
            hint="pipfence looks for it on no other index; check the name or the index",
        )
    via_sources = list(dict.fromkeys(p.source for p in parents))
    required = ""
    if parents:
        required = " (required by " + ", ".join(f"`{p.name}`" for p in parents) + ")"
    also = "".join(f" nor on `{s}`" for s in via_sources)
    others = [s.name for s in sources[1:] if s.name not in via_sources]
    hint = None
    if others:
        choice = others[0] if len(others) == 1 else "|".join(others)
        hint = (
            "pipfence asked no other source; if one of them has it, pin it there in the "
            f'Pipfile: {name} = {{version = "*", index = "{choice}"}}'
        )
    return PackageNotFound(
        f"Package `{name}`{required} was not found on the default {where}{also}",
        source=source.name,
        hint=hint,
    )


def confusion(
    default: Source,
    name: NormalizedName,
    other: Source,
    parents: Sequence[Parent],
    *,
    against: Source | None = None,
    answers: Mapping[str, Listing] | None = None,
    chosen: str | None = None,
    what: str | None = None,
) -> FenceError:
    """The error for ``name`` on ``against`` (the default when None) and on ``other`` as
    different files: ``chosen`` is the version the resolver chose, ``what`` replaces the
    sentence saying what differs."""
    first = against or default
    role = "source" if against is not None else "default source"
    via = [p for p in parents if p.source == other.name]
    parent_text = ", ".join(f"`{p.name}`" for p in via) or "a package"
    listed = answers or {}

    newest = [
        f"{version} on `{source.name}`"
        for source in (first, other)
        if (listing := listed.get(source.name)) is not None
        and (version := listing.newest()) is not None
    ]
    versions = f" (newest: {', '.join(newest)})" if len(newest) == 2 else ""  # noqa: PLR2004
    mine, theirs = listed.get(first.name), listed.get(other.name)
    compared = chosen
    if compared is None and mine is not None and theirs is not None:
        compared = mine.common_newest(theirs)
    if compared is not None and mine is not None and theirs is not None:
        # What sets the two apart, for the version that counts: a file on one side only, or
        # another file under one name, says more than the newest versions do.
        found = _difference(compared, (first.name, mine), (other.name, theirs))
        if found is not None:
            text, missing = found
            # A version one side lacks: where each side stands says the rest.
            versions = (
                f" ({text}; newest: {', '.join(newest)})" if missing and newest else f" ({text})"
            )
    if what is not None:
        pass
    elif chosen is not None:
        what = f"`{other.name}` has no identical copy of {chosen}, the version chosen"
    else:
        what = "no version is the same file on both"
    return FenceError(
        f"`{name}` is on the {role} `{first.name}` and on `{other.name}` (where "
        f"{parent_text}, which requires it, came from), and {what}{versions}: which one is "
        "meant is ambiguous (dependency confusion)",
        hint=(
            f'settle it in the Pipfile: {name} = {{version = "*", index = "{other.name}"}} '
            f'or {name} = {{version = "*", index = "{first.name}"}}'
        ),
    )


def _difference(
    version: str, first: tuple[str, Listing], second: tuple[str, Listing]
) -> tuple[str, bool] | None:
    """In words, what keeps ``version`` from being the same files on the two sources (each a
    name and its listing): the version missing on one (then True), a file only one of them
    lists, a file name whose bytes differ, or a file listed without a sha256; None when
    nothing tells them apart by name."""
    (name_a, listing_a), (name_b, listing_b) = first, second
    files_a, files_b = listing_a.files_of(version), listing_b.files_of(version)
    if not files_b:
        return f"{version} is not on `{name_b}`", True
    if not files_a:
        return f"{version} is not on `{name_a}`", True
    for files, theirs, where in ((files_a, files_b, name_a), (files_b, files_a, name_b)):
        only = sorted(set(files) - set(theirs))
        if only:
            more = f" and {len(only) - 1} more" if len(only) > 1 else ""
            return f"{version}: `{only[0]}`{more} only on `{where}`", False
    differ = sorted(f for f in files_a if files_a[f] != files_b[f])
    if not differ:
        return None
    file = differ[0]
    if files_a[file] is None or files_b[file] is None:
        return f"{version}: `{file}` is listed without a sha256", False
    return f"{version}: `{file}` is another file on each (sha256 differs)", False
