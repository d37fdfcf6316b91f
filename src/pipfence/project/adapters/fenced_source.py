"""The resolver's `PackageSource` over the index client; every decision of which index may hear
a name, and which one a package is taken from, is the fence's (`pipfence.models.fence.Fence`).

    resolver ──releases/metadata/prefetch──► FencedSource ──► IndexClient
                                                 │
                                  Fence.sources_to_ask / decide (pure)

`releases` asks exactly the sources `Fence.sources_to_ask` names (given the parents known so
far) and takes the page `Fence.decide` chooses. A dependency's parents are learned from the
metadata the resolver reads; `verify` re-checks every decision against the final graph, so a
parent learned late still has its source asked. Prefetching never widens that: a page is
prefetched only from a source the fence would ask, and a dependency declared by metadata from a
non-default source (perhaps of a version the resolver never uses) reaches the default only when
the resolver itself asks for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from packaging.markers import InvalidMarker
from packaging.version import Version

from pipfence.errors import FenceError, UsageError
from pipfence.models.decision import Decision, Parent, Rule
from pipfence.models.fence import Fence
from pipfence.models.files import (
    CoreMetadata,
    DistFile,
    ProjectPage,
    UploadedBefore,
    best_first,
    group_by_version,
    parsed_requirement,
    version_of,
)
from pipfence.models.listing import Listing
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes
from pipfence.project.concurrency import few_malloc_arenas

if TYPE_CHECKING:
    from pipfence.resolver.resolution import Resolution

__all__ = ["FencedSource", "IndexReader", "PageReader", "SdistMetadata"]

#: Reads an sdist's core metadata by building it (see `fenced_builds.Builds`):
#: ``(source, request_url, sdist file) -> CoreMetadata``.
SdistMetadata = Callable[[Source, str, DistFile], CoreMetadata]


_T = TypeVar("_T")


class PageReader(Protocol):
    """What reading project pages needs of the index client (satisfied by `IndexClient`)."""

    def project_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None: ...


class IndexReader(PageReader, Protocol):
    """What `FencedSource` needs of the index client (satisfied by `IndexClient`)."""

    def metadata(self, source: Source, request_url: str, file: DistFile) -> CoreMetadata | None: ...

    def download(
        self, source: Source, request_url: str, file: DistFile, dest_dir: Path
    ) -> Path: ...


class FencedSource:
    """Answers the resolver for each name from the one index the fence gives it.

    ``routes`` gives the URL each source's requests go to (mirror substituted, credentials
    expanded at the moment of use). ``sdist_metadata`` reads a version's metadata from
    its sdist, and is called only when no wheel of that version is usable; without it such a
    version is a `UsageError`. ``direct`` holds the path, file and git entries, already built:
    each name answers with its one stand-in file and metadata, and no index hears it; their
    dependencies are fenced as those of a package from the default source. ``parents`` seeds
    the parents of names the resolver is given directly (a build's requirements, whose parent
    is the package being built). ``uploaded_before`` (``[pipenv] cool-down-period``) leaves out
    the files an index says were uploaded at that time or later; the fence still compares
    every file.
    Thread-safe: pages and metadata are fetched on a pool of ``workers`` threads.
    """

    def __init__(
        self,
        client: IndexReader,
        fence: Fence,
        routes: Routes,
        target: Target,
        *,
        workers: int = 32,
        on_fetch: Callable[[str], None] | None = None,
        speculate: bool = True,
        sdist_metadata: SdistMetadata | None = None,
        direct: Mapping[NormalizedName, tuple[DistFile, CoreMetadata]] | None = None,
        parents: Mapping[NormalizedName, Sequence[Parent]] | None = None,
        uploaded_before: dt.datetime | None = None,
    ) -> None:
        self._client = client
        self._uploaded_before = uploaded_before
        self._direct = dict(direct or {})
        self._sdist_metadata = sdist_metadata
        self._fence = fence
        self._routes = routes
        self._target = target
        few_malloc_arenas()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipfence-fetch")
        self._lock = threading.Lock()
        self._pages: dict[tuple[str, NormalizedName], Future[ProjectPage | None]] = {}
        self._metadata: dict[tuple[str, str], Future[CoreMetadata]] = {}
        # Parents learned from metadata the resolver read (resolver thread only).
        # Each value is replaced whole (never mutated), so the workers can read it unlocked.
        self._seeded = {
            name: tuple(dict.fromkeys(seeded)) for name, seeded in (parents or {}).items()
        }
        self._parents: dict[NormalizedName, tuple[Parent, ...]] = dict(self._seeded)
        self._on_fetch = on_fetch
        self._speculate = speculate
        #: name → the fence's decision for it (the source it was taken from, and why).
        self.origins: dict[NormalizedName, Decision] = {}
        # name → (source taken, sources with other files of the version chosen): what the
        # check, being off, let through at `verify`.
        self._let_through: dict[NormalizedName, tuple[str, tuple[str, ...]]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            # Stopped (Ctrl-C) or failed: do not wait for requests still in flight.
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- pages -------------------------------------------------------------------------

    def _page(self, source: Source, name: NormalizedName) -> Future[ProjectPage | None]:
        key = (source.name, name)
        # Most asks find the page already asked for: a dict read needs no lock, and taking
        # one the workers also take costs the resolver a GIL hand-over (milliseconds) each.
        future = self._pages.get(key)
        if future is not None:
            return future
        with self._lock:
            future = self._pages.get(key)
            if future is not None:
                return future
            future = self._pool.submit(self._fetch_page, source, name)
            self._pages[key] = future
        if self._on_fetch is not None:
            self._on_fetch(name)
        return future

    def _fetch_page(self, source: Source, name: NormalizedName) -> ProjectPage | None:
        page = self._client.project_page(source, self._routes.url(source), name)
        if page is not None and self._speculate and source == self._fence.default:
            self._speculate_on(name, source, page)
        return page

    def _speculate_on(self, name: NormalizedName, source: Source, page: ProjectPage) -> None:
        """Fetch the metadata of the version the resolver will most likely pick (the newest
        final release with a wheel for the target), and so the pages of its dependencies:
        the workers walk the dependency tree at network speed while the resolver catches up.
        A wrong guess costs one metadata request; the resolver asks for what it needs. Only
        on the default source: a guess at an unused version of a private package must not
        send its dependencies' names to the default. Only for a page that took a request: a
        page the cache held is read in a moment, and so, most likely, is the metadata; there
        a guess only takes the interpreter lock from the resolver."""
        if not page.requested:
            return
        best = _likely_version(page.releases, self._target)
        if best is not None:
            self._metadata_future(name, best[0], best[1], source=source)

    def _parents_of(self, name: NormalizedName) -> tuple[Parent, ...]:
        return self._parents.get(name, ())

    def pages_read(self) -> dict[tuple[str, NormalizedName], float | None] | None:
        """Each page fetched so far, by source and name: the fetch time of the cache entry it
        was read from (``ProjectPage.cached_at``), or None where the source did not have the
        name. Pages still in flight or failed were used by no one and are left out. None when
        a page came from no cache entry (a folder): what it was cannot be told again."""
        with self._lock:
            futures = list(self._pages.items())
        read: dict[tuple[str, NormalizedName], float | None] = {}
        for key, future in futures:
            if not future.done() or future.cancelled() or future.exception() is not None:
                continue
            page = future.result()
            if page is not None and page.cached_at is None:
                return None
            read[key] = None if page is None else page.cached_at
        return read

    def prefetch_pages(self, names: Sequence[NormalizedName]) -> None:
        """Start fetching the project pages the resolver will ask for."""
        for name in names:
            if name not in self._direct:
                for source in self._fence.sources_to_ask(name, self._parents_of(name)):
                    self._page(source, name)

    def _answers(
        self, name: NormalizedName, asked: Sequence[Source]
    ) -> tuple[dict[str, ProjectPage | None], dict[str, Listing | None]]:
        futures = [(s, self._page(s, name)) for s in asked]
        pages = {
            s.name: self._now(self._pages, (s.name, name), future, self._fetch_page, s, name)
            for s, future in futures
        }
        listings = {n: Listing(p.releases) if p is not None else None for n, p in pages.items()}
        return pages, listings

    def releases(self, name: NormalizedName) -> Mapping[str, Sequence[DistFile]]:
        if name in self._direct:
            return group_by_version((self._direct[name][0],), name)
        parents = self._parents_of(name)
        asked = self._fence.sources_to_ask(name, parents)
        pages, listings = self._answers(name, asked)
        decision = self._fence.decide(name, listings, parents)
        self.origins[name] = decision  # one dict store: atomic, no lock needed
        page = pages[decision.source.name]
        if page is None:  # pragma: no cover - the fence took a page it has
            return {}
        if self._uploaded_before is not None:
            return UploadedBefore(page.releases, self._uploaded_before)
        return page.releases

    def verify(self, resolution: Resolution) -> None:
        """Check every dependency's decision against the resolution's final graph: a parent
        from a non-default source learned after the name was decided has its source asked now,
        a parent the resolver dropped no longer counts, and a name on two sources is taken only
        if the other holds a byte-identical copy of the version chosen (`Fence.confirm`).
        Raises what `Fence.decide` raises (`FenceError`, `PackageNotFound`); nothing is written
        then."""
        fence = self._fence
        for name, package in resolution.packages.items():
            if name in self._direct or not fence.is_dependency(name):
                continue
            parents = self._seeded.get(name, ()) + tuple(
                Parent(parent, self._source_of(parent).name) for parent in package.parents
            )
            asked = fence.sources_to_ask(name, parents)
            _pages, listings = self._answers(name, asked)
            decision = fence.decide(name, listings, parents)
            differing = fence.confirm(name, decision, str(package.version), listings)
            if differing:
                self._let_through[name] = (decision.source.name, differing)
            before = self.origins.get(name)
            if before is not None and before.source != decision.source:
                raise FenceError(
                    f"`{name}` was resolved from `{before.source.name}`, but its final "
                    f"dependents put it on `{decision.source.name}`",
                    hint="run `pipfence lock` again; if it persists, pin it with `index =`",
                )
            self.origins[name] = decision

    def warnings(self) -> list[str]:
        """One sentence per name taken although another source serves other files under it
        (only with ``pipfence_confusion_check = false``), for the lock to show."""
        found = dict(self._let_through)
        for name, decision in self.origins.items():
            if decision.rule == Rule.CHECK_OFF:
                found[name] = (decision.source.name, decision.others)
        return [
            f"`{name}` was taken from `{source}` although "
            + ", ".join(f"`{other}`" for other in others)
            + " serves other files under the name (pipfence_confusion_check = false)"
            for name, (source, others) in sorted(found.items())
        ]

    def _source_of(self, name: NormalizedName) -> Source:
        decided = self.origins.get(name)
        return decided.source if decided is not None else self._fence.default

    # -- metadata ----------------------------------------------------------------------

    def _fetch_metadata(
        self, name: NormalizedName, files: Sequence[DistFile], source: Source | None = None
    ) -> CoreMetadata:
        source = source or self.origins[name].source
        url = self._routes.url(source)
        metadata = None
        for file in files:
            if file.is_wheel:
                metadata = self._client.metadata(source, url, file)
                if metadata is not None:
                    break
        if metadata is None:
            # Lazily: only a version without a usable wheel is built.
            sdist = next((f for f in files if not f.is_wheel), None)
            if sdist is None or self._sdist_metadata is None:
                raise UsageError(
                    f"`{name}` {files[0].filename}: pipfence cannot read its metadata here",
                    hint=f"pin a version of `{name}` that has wheels",
                )
            metadata = self._sdist_metadata(source, url, sdist)
        self._prefetch_children(name, source, metadata, asked=False)
        return metadata

    def _children(self, metadata: CoreMetadata) -> list[NormalizedName]:
        """The names ``metadata`` requires on the target (extras' dependencies left out)."""
        children: list[NormalizedName] = []
        for text in metadata.requires_dist:
            requirement = parsed_requirement(text)
            if requirement is None:
                continue
            marker = requirement.marker
            try:
                needed = marker is None or (
                    "extra" not in str(marker) and self._target.evaluate(marker)
                )
            except InvalidMarker:
                needed = False  # the resolver reports it; this is only a prefetch
            if needed:
                children.append(canonical_name(requirement.name))
        return children

    def _prefetch_children(
        self, name: NormalizedName, source: Source, metadata: CoreMetadata, *, asked: bool
    ) -> None:
        """Start the pages of ``metadata``'s dependencies on the sources the fence would ask.
        Until the resolver has ``asked`` for this metadata, a dependency declared by a
        package from a non-default source is fetched only from that source."""
        parent = Parent(name, source.name)
        hold_back = not asked and source != self._fence.default
        for child in self._children(metadata):
            if child in self._direct:
                continue
            for where in self._fence.sources_to_ask(child, (*self._parents_of(child), parent)):
                if hold_back and where == self._fence.default and self._fence.is_dependency(child):
                    continue
                self._page(where, child)

    def _learn_parents(self, name: NormalizedName, source: Source, metadata: CoreMetadata) -> None:
        parent = Parent(name, source.name)
        for text in metadata.requires_dist:
            requirement = parsed_requirement(text)
            if requirement is None:
                continue
            child = canonical_name(requirement.name)
            known = self._parents.get(child, ())
            if parent not in known:
                self._parents[child] = (*known, parent)

    def _now(
        self,
        table: dict[Any, Future[Any]],
        key: object,
        future: Future[_T],
        work: Callable[..., _T],
        *arguments: Any,
    ) -> _T:
        """The result of ``future``, which the resolver needs now. When no worker has started
        it yet (it waits behind prefetches and guesses), it is done here instead, at once:
        the resolver waits for what it asked for, not for the queue ahead of it. The table
        entry is replaced under the lock, so nobody else ever gets the cancelled future."""
        if not future.done():
            with self._lock:
                mine = table.get(key) is future and future.cancel()
                if mine:
                    replacement: Future[_T] = Future()
                    table[key] = replacement
            if mine:
                try:
                    replacement.set_result(work(*arguments))
                except BaseException as exc:
                    replacement.set_exception(exc)
                    raise
                return replacement.result()
        return future.result()

    def _metadata_future(
        self,
        name: NormalizedName,
        version: Version,
        files: Sequence[DistFile],
        *,
        source: Source | None = None,
    ) -> Future[CoreMetadata]:
        key = (name, str(version))
        future = self._metadata.get(key)  # see `_page`
        if future is not None:
            return future
        with self._lock:
            future = self._metadata.get(key)
            if future is None:
                future = self._pool.submit(self._fetch_metadata, name, tuple(files), source)
                self._metadata[key] = future
        return future

    def metadata(
        self, name: NormalizedName, version: Version, files: Sequence[DistFile]
    ) -> CoreMetadata:
        if name in self._direct:
            metadata = self._direct[name][1]
            source = self._fence.default
        else:
            source = self.origins[name].source
            future = self._metadata_future(name, version, files, source=source)
            metadata = self._now(
                self._metadata,
                (name, str(version)),
                future,
                self._fetch_metadata,
                name,
                tuple(files),
                source,
            )
        self._learn_parents(name, source, metadata)
        if source != self._fence.default:
            self._prefetch_children(name, source, metadata, asked=True)
        return metadata

    def requires_of(self, name: NormalizedName, version: Version) -> tuple[str, ...] | None:
        """The ``Requires-Dist`` of a version whose metadata was read during the resolution;
        None when it was not (nothing is fetched here)."""
        if name in self._direct:
            return self._direct[name][1].requires_dist
        future = self._metadata.get((name, str(version)))
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result().requires_dist

    def sha256_of(self, name: NormalizedName, files: Sequence[DistFile]) -> dict[str, str]:
        """filename → sha256 for ``files`` of ``name``; a file whose index gave no hash is
        downloaded (from the name's one source) and hashed, concurrently."""
        known = {f.filename: f.sha256 for f in files if f.sha256}
        missing = [f for f in files if not f.sha256]
        if not missing:
            return known
        source = self.origins[name].source
        url = self._routes.url(source)
        with tempfile.TemporaryDirectory(prefix="pipfence-hash-") as tmp:
            futures = {
                f.filename: self._pool.submit(self._client.download, source, url, f, Path(tmp))
                for f in missing
            }
            for filename, future in futures.items():
                path = future.result()
                known[filename] = _sha256_file(path)
        return known

    def prefetch(self, name: NormalizedName, version: Version, files: Sequence[DistFile]) -> None:
        # An sdist-only version is built only when the resolver really asks for it.
        decided = self.origins.get(name)
        if decided is not None and name not in self._direct and any(f.is_wheel for f in files):
            self._metadata_future(name, version, files, source=decided.source)


def _likely_version(
    releases: Mapping[str, Sequence[DistFile]], target: Target
) -> tuple[Version, tuple[DistFile, ...]] | None:
    """The newest final version with a non-yanked wheel installable on ``target``, and its
    wheels best first; None when there is none. Only the newest versions' files are looked at
    (and so made, see `Releases`)."""
    versions: list[tuple[Version, str]] = []
    for text in releases:
        version = version_of(text)
        if version is not None and not version.is_prerelease:
            versions.append((version, text))
    # The newest eight, without sorting every release of a long page.
    for version, text in heapq.nlargest(8, versions, key=lambda entry: entry[0]):
        wheels = best_first(
            (
                file
                for file in releases[text]
                if file.is_wheel and not file.yanked and target.allows_python(file.requires_python)
            ),
            target,
        )
        if wheels:
            return version, wheels
    return None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
