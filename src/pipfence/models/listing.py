"""What an index lists for one name, as the fence compares it (`Listing`: the sha256 digests of
each version's files), and the hashes a lock allows for a package (`AllowedHashes`). Pure data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec
from packaging.utils import canonicalize_version

from pipfence.models.files import DistFile, version_of

__all__ = ["AllowedHashes", "Listing"]


class Listing:
    """What one index answered for one name, as the fence compares it: the sha256 digests of
    each version's files (None for a file listed without one). Built over a page's releases
    and reduced only when compared, so the common one-source case costs nothing."""

    __slots__ = ("_digests", "_releases", "_spelled")

    def __init__(self, releases: Mapping[str, Sequence[DistFile]]) -> None:
        self._releases = releases
        self._digests: dict[str, frozenset[str | None]] | None = None
        self._spelled: dict[str, str] = {}  # version key → the first spelling the page used

    @classmethod
    def of(cls, versions: Mapping[str, Iterable[str | None]]) -> Listing:
        """A listing from ``version → sha256 digests`` (tests, and pages built in memory)."""
        releases = {
            version: [
                DistFile(
                    filename=f"x-{version}-{n}.tar.gz",
                    url="",
                    hashes={"sha256": digest} if digest else {},
                )
                for n, digest in enumerate(digests)
            ]
            for version, digests in versions.items()
            if digests
        }
        return cls(releases)

    @property
    def present(self) -> bool:
        """Whether the index lists any file for the name (an empty page is no answer)."""
        # Groups are built on demand and may drop rows they cannot use: stop at the first
        # group with a file (usually the first one built). Pages list versions oldest first,
        # so start from the last: the newest version is the one a resolver then looks at,
        # and the group built here is kept for it.
        versions = list(self._releases)
        return any(self._releases[version] for version in reversed(versions))

    def digests(self) -> Mapping[str, frozenset[str | None]]:
        """Version (normalised) → the sha256 of each of its files."""
        if self._digests is None:
            found: dict[str, set[str | None]] = {}
            for text, files in self._releases.items():
                key = _version_key(text)
                self._spelled.setdefault(key, text)
                group = found.setdefault(key, set())
                group.update(f.sha256.lower() if f.sha256 else None for f in files)
            self._digests = {k: frozenset(v) for k, v in found.items() if v}
        return self._digests

    def copy_of(self, other: Listing, version: str) -> bool:
        """Whether this index's files for ``version`` are byte-identical to ``other``'s: the
        same non-empty set of sha256 digests on both sides (a file either side lists without
        a sha256 cannot be compared, so it never counts as identical)."""
        key = _version_key(version)
        mine = self.digests().get(key, frozenset())
        theirs = other.digests().get(key, frozenset())
        return bool(mine) and None not in mine and mine == theirs

    def copied_versions(self, other: Listing) -> frozenset[str]:
        """The versions whose files are byte-identical on both (see `copy_of`)."""
        return frozenset(v for v in self.digests() if self.copy_of(other, v))

    def shares_a_copy(self, other: Listing) -> bool:
        """Whether some version is byte-identical on both: without one, no version the
        resolver could choose would be the same bytes on both."""
        return bool(self.copied_versions(other))

    def files_of(self, version: str) -> dict[str, str | None]:
        """File name → sha256 (None: listed without one) of ``version``'s files."""
        key = _version_key(version)
        found: dict[str, str | None] = {}
        for text, files in self._releases.items():
            if _version_key(text) == key:
                for file in files:
                    found.setdefault(file.filename, file.sha256.lower() if file.sha256 else None)
        return found

    def common_newest(self, other: Listing) -> str | None:
        """The highest version both list (for messages); None when they share none."""
        return self._highest(self.digests().keys() & other.digests().keys())

    def newest(self) -> str | None:
        """The highest version listed (for messages)."""
        return self._highest(self.digests().keys())

    def _highest(self, keys: Iterable[str]) -> str | None:
        """The highest of these version keys, as the page spelled it; None for none."""
        parsed = [(v, k) for k in keys if (v := version_of(k)) is not None]
        return self._spelled.get(max(parsed)[1], max(parsed)[1]) if parsed else None


def _version_key(text: str) -> str:
    """A version as the resolver groups it (PEP 440 equality: ``1.0`` is ``1.0.0``)."""
    if version_of(text) is None:
        return text
    return canonicalize_version(text, strip_trailing_zero=True)


class AllowedHashes(msgspec.Struct, frozen=True):
    """The sha256 digests a lock entry allows, normalised once (lower-case hex, no prefix)."""

    digests: frozenset[str] = frozenset()

    @classmethod
    def of(cls, entries: Iterable[str]) -> AllowedHashes:
        """From a lock's ``hashes`` list (``sha256:<hex>``); entries of other algorithms are
        left out (a lock written by pipfence or pipenv records only sha256)."""
        digests = set()
        for entry in entries:
            algorithm, sep, digest = entry.partition(":")
            if not sep:
                algorithm, digest = "sha256", entry
            digest = digest.strip()
            if algorithm.strip().lower() == "sha256" and digest:
                digests.add(digest.lower())
        return cls(frozenset(digests))

    def __bool__(self) -> bool:
        return bool(self.digests)

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and digest.lower() in self.digests

    def to_lock(self) -> list[str]:
        """The sorted ``sha256:<hex>`` list a lock records."""
        return [f"sha256:{d}" for d in sorted(self.digests)]
