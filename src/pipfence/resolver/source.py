"""The seam between the resolver and wherever packages come from.

    project ──wires──► index.IndexClient ─┐ (satisfies PackageSource structurally)
                                          ▼
    resolver.resolve() ─► PipfenceProvider ─► PackageSource.releases / metadata / prefetch

The resolver knows nothing of HTTP, URLs or which index a name is fenced to: the object passed
in as the source already answers for exactly one index per name. Nothing in `index/` imports
this module; a class with these three methods is a source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from packaging.version import Version

    from pipfence.models.files import CoreMetadata, DistFile
    from pipfence.models.names import NormalizedName

__all__ = ["PackageSource"]


class PackageSource(Protocol):
    """Distribution files and core metadata, each name answered by the one index it is fenced to.

    Calls come from one thread (the resolver's). Implementations may work concurrently behind
    `prefetch`, but `files` and `metadata` return only once their answer is complete.
    """

    def releases(self, name: NormalizedName) -> Mapping[str, Sequence[DistFile]]:
        """Every distribution file of project ``name`` on the one index the fence allows,
        grouped by the version text of the file names (`pipfence.models.files.Releases`).

        Files of every version, yanked ones included (the resolver applies PEP 592); keys
        that are not PEP 440 versions are skipped by the resolver, and a group's files are
        looked at only when its version is a candidate (so a source may build them lazily).
        Raises
        `pipfence.errors.PackageNotFound` when the index has no such project, and
        `pipfence.errors.IndexServerError` when the index cannot be used. The resolver asks
        at most once per name and never for a name it does not need.
        """
        ...

    def metadata(
        self, name: NormalizedName, version: Version, files: Sequence[DistFile]
    ) -> CoreMetadata:
        """Core metadata of ``name`` at ``version``.

        ``files`` are that version's files the resolver would install, best first (the wheel
        with the most preferred tag, then the sdist); the source picks which one to read — a
        PEP 658 metadata file where offered. Raises `IndexServerError` when it cannot be
        fetched and `pipfence.errors.IntegrityError` when it does not match its hash. The
        resolver asks at most once per (name, version).
        """
        ...

    def prefetch(self, name: NormalizedName, version: Version, files: Sequence[DistFile]) -> None:
        """A hint: `metadata` will probably be asked with these arguments soon.

        A networked source starts fetching in the background and returns at once; a
        ``metadata`` call with the same arguments then waits for that fetch. May be a no-op.
        Must not raise: a failure is reported by the later `metadata` call.
        """
        ...
