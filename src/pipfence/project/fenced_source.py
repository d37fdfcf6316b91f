"""The resolver's `PackageSource` over the index client, with the fence applied per name.

    resolver ──files/metadata/prefetch──► FencedSource ──► IndexClient ──► one index per name

Which index answers for a name:

- a name with ``index = "X"`` in the Pipfile: X only; no other index ever hears the name;
- a name required by a package that came from a non-default source X and not pinned itself:
  X and the default are both asked; found on X only → taken from X (and recorded); found on
  both → `FenceError` (the classic dependency-confusion set-up), asking for an explicit pin;
- every other name: the default source. When the check is on, the other declared sources
  that are not PyPI are asked too, and a name they also serve stops the lock (the attacker
  publishes a private name on the public default). PyPI as a second source is never asked:
  a private default that mirrors PyPI would otherwise clash on every name.

A name missing from its index raises `PackageNotFound`; when another declared source has it,
the hint shows the Pipfile line that pins it there.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Self

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from pipfence.errors import FenceError, IndexServerError, PackageNotFound, UsageError
from pipfence.models.files import (
    CoreMetadata,
    DistFile,
    ProjectPage,
    group_by_version,
    parse_filename,
    version_of,
)
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.fence import Fence
from pipfence.models.sources import Source, is_pypi_url, redact_url
from pipfence.models.target import Target
from pipfence.project.concurrency import few_malloc_arenas

__all__ = ["FencedSource", "IndexReader", "Origin", "SdistMetadata"]

#: Reads an sdist's core metadata by building it (see `pipfence.project.builds.Builds`):
#: ``(source, request_url, sdist file) -> CoreMetadata``.
SdistMetadata = Callable[[Source, str, DistFile], CoreMetadata]


class IndexReader(Protocol):
    """What `FencedSource` needs of the index client (satisfied by `IndexClient`)."""

    def project_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None: ...

    def metadata(self, source: Source, request_url: str, file: DistFile) -> CoreMetadata | None: ...

    def download(
        self, source: Source, request_url: str, file: DistFile, dest_dir: Path
    ) -> Path: ...


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a name was taken from and by which rule (for the lock and `pipfence why`)."""

    source: Source
    rule: str


class FencedSource:
    """Answers the resolver for each name from the one index the fence allows.

    ``request_urls`` maps a source name to the URL requests go to (mirror substituted and
    credentials expanded by the caller). ``confusion_check`` turns the both-places check on.
    ``sdist_metadata`` reads a version's metadata from its sdist, and is called only when no
    wheel of that version is usable; without it such a version is a `UsageError`. ``direct``
    holds the path, file and git entries, already built: each name answers with its one
    stand-in file and metadata, and no index hears it; their dependencies are fenced as
    those of a package from the default source.
    Thread-safe: pages and metadata are fetched on a pool of ``workers`` threads.
    """

    def __init__(
        self,
        client: IndexReader,
        fence: Fence,
        request_urls: Mapping[str, str],
        target: Target,
        *,
        confusion_check: bool = True,
        workers: int = 32,
        on_fetch: Callable[[str], None] | None = None,
        speculate: bool = True,
        sdist_metadata: SdistMetadata | None = None,
        direct: Mapping[NormalizedName, tuple[DistFile, CoreMetadata]] | None = None,
    ) -> None:
        self._client = client
        self._direct = dict(direct or {})
        self._sdist_metadata = sdist_metadata
        self._fence = fence
        self._urls = request_urls
        self._target = target
        self._check = confusion_check
        few_malloc_arenas()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipfence-fetch")
        self._lock = threading.Lock()
        self._pages: dict[tuple[str, NormalizedName], Future[ProjectPage | None]] = {}
        self._metadata: dict[tuple[str, str], Future[CoreMetadata]] = {}
        self._parent_sources: dict[NormalizedName, set[str]] = {}
        self._pins = {name: fence.source_named(index) for name, index in fence.pins.items()}
        self._on_fetch = on_fetch
        self._speculate = speculate
        self.origins: dict[NormalizedName, Origin] = {}

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
        page = self._client.project_page(source, self._urls[source.name], name)
        if page is not None and self._speculate and source == self._assigned(name):
            self._speculate_on(name, source, page)
        return page

    def _assigned(self, name: NormalizedName) -> Source:
        """The source the fence gives ``name`` before any parent's index is known."""
        return self._pins.get(name) or self._fence.default

    def _speculate_on(self, name: NormalizedName, source: Source, page: ProjectPage) -> None:
        """Fetch the metadata of the version the resolver will most likely pick (the newest
        final release with a wheel for the target), and so the pages of its dependencies:
        the workers walk the dependency tree at network speed while the resolver catches up.
        A wrong guess costs one metadata request; the resolver asks for what it needs."""
        best = _likely_version(page.releases, self._target)
        if best is not None:
            self._metadata_future(name, best[0], best[1], source=source)

    def _candidate_sources(self, name: NormalizedName) -> list[Source]:
        """The default first, then the non-default sources that ask or may serve ``name``."""
        default = self._fence.default
        extra = [self._fence.source_named(n) for n in sorted(self._parent_sources.get(name, ()))]
        if self._check:
            extra.extend(
                s for s in self._fence.sources[1:] if not is_pypi_url(s.url) and s not in extra
            )
        return [default, *[s for s in extra if s != default]]

    def prefetch_pages(self, names: Sequence[NormalizedName]) -> None:
        """Start fetching the project pages the resolver will ask for."""
        for name in names:
            if name in self._direct:
                continue
            pinned = self._pins.get(name)
            for source in [pinned] if pinned else self._candidate_sources(name):
                self._page(source, name)

    def releases(self, name: NormalizedName) -> Mapping[str, Sequence[DistFile]]:
        if name in self._direct:
            return group_by_version((self._direct[name][0],))
        pinned = self._pins.get(name)
        if pinned is not None:
            page = self._page(pinned, name).result()
            if page is None:
                raise self._not_found(name, pinned, pinned=True)
            _require_files(name, pinned, page)
            self._remember(name, Origin(pinned, f'pinned with index = "{pinned.name}"'))
            return page.releases
        sources = self._candidate_sources(name)
        futures = [(s, self._page(s, name)) for s in sources]
        found = [(s, page) for s, future in futures if (page := future.result()) is not None]
        default = self._fence.default
        parents = self._parent_sources.get(name, set())
        on_default = next((page for s, page in found if s == default), None)
        elsewhere = [s for s, _ in found if s != default]
        if on_default is not None:
            _require_files(name, default, on_default)
            if elsewhere:
                raise self._confusion(
                    name, default, elsewhere[0], via_parent=elsewhere[0].name in parents
                )
            self._remember(name, Origin(default, "the default source"))
            return on_default.releases
        from_parent = [(s, page) for s, page in found if s.name in parents]
        if from_parent:
            source, page = from_parent[0]
            self._remember(
                name,
                Origin(
                    source, f"required by a package from `{source.name}`, absent from the default"
                ),
            )
            return page.releases
        raise self._not_found(name, default, pinned=False, elsewhere=elsewhere)

    def _remember(self, name: NormalizedName, origin: Origin) -> None:
        self.origins[name] = origin  # one dict store: atomic, no lock needed

    def _not_found(
        self,
        name: NormalizedName,
        source: Source,
        *,
        pinned: bool,
        elsewhere: Sequence[Source] = (),
    ) -> PackageNotFound:
        where = f"source `{source.name}` ({redact_url(source.url)})"
        if pinned:
            return PackageNotFound(
                f"Package `{name}` was not found on {where}, the index its Pipfile entry names",
                source=source.name,
                hint="pipfence looks for it on no other index; check the name or the index",
            )
        if elsewhere:
            other = elsewhere[0]
            line = f'{name} = {{version = "*", index = "{other.name}"}}'
            return PackageNotFound(
                f"Package `{name}` was not found on the default {where}; "
                f"source `{other.name}` has it",
                source=source.name,
                hint=f"pin it there in the Pipfile: {line}",
            )
        return PackageNotFound(f"Package `{name}` was not found on {where}", source=source.name)

    def _confusion(
        self, name: NormalizedName, default: Source, other: Source, *, via_parent: bool
    ) -> FenceError:
        reason = (
            f"it is required by a package from `{other.name}`"
            if via_parent
            else f"source `{other.name}` serves it too"
        )
        return FenceError(
            f"`{name}` exists on the default source `{default.name}` and on `{other.name}`; "
            f"{reason}, so which one is meant is ambiguous (dependency confusion)",
            hint=(
                f'pin it in the Pipfile: {name} = {{version = "*", index = "{other.name}"}} '
                f'(or index = "{default.name}"); '
                "or set pipfence_confusion_check = false in [pipenv]"
            ),
        )

    # -- metadata ----------------------------------------------------------------------

    def _fetch_metadata(
        self, name: NormalizedName, files: Sequence[DistFile], source: Source | None = None
    ) -> CoreMetadata:
        source = source or self.origins[name].source
        url = self._urls[source.name]
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
        self._learn_dependencies(source, metadata)
        return metadata

    def _learn_dependencies(self, source: Source, metadata: CoreMetadata) -> None:
        children: list[NormalizedName] = []
        for text in metadata.requires_dist:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            child = canonical_name(requirement.name)
            if source != self._fence.default and child not in self._pins:
                with self._lock:
                    self._parent_sources.setdefault(child, set()).add(source.name)
            marker = requirement.marker
            try:
                needed = marker is None or (
                    "extra" not in str(marker) and self._target.evaluate(marker)
                )
            except InvalidMarker:
                needed = False  # the resolver reports it; this is only a prefetch
            if needed:
                children.append(child)
        self.prefetch_pages(children)

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
            self._learn_dependencies(self._fence.default, metadata)
            return metadata
        return self._metadata_future(name, version, files).result()

    def sha256_of(self, name: NormalizedName, files: Sequence[DistFile]) -> dict[str, str]:
        """filename → sha256 for ``files`` of ``name``; a file whose index gave no hash is
        downloaded (from the name's one source) and hashed, concurrently."""
        known = {f.filename: f.sha256 for f in files if f.sha256}
        missing = [f for f in files if not f.sha256]
        if not missing:
            return known
        origin = self.origins[name]
        url = self._urls[origin.source.name]
        with tempfile.TemporaryDirectory(prefix="pipfence-hash-") as tmp:
            futures = {
                f.filename: self._pool.submit(
                    self._client.download, origin.source, url, f, Path(tmp)
                )
                for f in missing
            }
            for filename, future in futures.items():
                path = future.result()
                known[filename] = _sha256_file(path)
        return known

    def prefetch(self, name: NormalizedName, version: Version, files: Sequence[DistFile]) -> None:
        # An sdist-only version is built only when the resolver really asks for it.
        if name in self.origins and name not in self._direct and any(f.is_wheel for f in files):
            self._metadata_future(name, version, files)


def _require_files(name: NormalizedName, source: Source, page: ProjectPage) -> None:
    """A project page listing no files at all is no answer: often a login or error page
    served with status 200, sometimes a project whose files were all deleted."""
    if not page.releases:
        raise IndexServerError(
            f"source `{source.name}` ({redact_url(source.url)}) answered with a page that lists "
            f"no files for `{name}`",
            source=source.name,
            hint="check that the URL is the index's simple API and that pipfence may read it "
            "(a sign-in page looks like this)",
        )


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
    versions.sort(key=lambda entry: entry[0], reverse=True)
    for version, text in versions[:8]:
        ranked: list[tuple[int, DistFile]] = []
        for file in releases[text]:
            if not file.is_wheel or file.yanked:
                continue
            parsed = parse_filename(file.filename)
            if (
                parsed is None
                or parsed[2] is None
                or not target.allows_python(file.requires_python)
            ):
                continue
            rank = target.tag_rank(parsed[2])
            if rank is not None:
                ranked.append((rank, file))
        if ranked:
            ranked.sort(key=lambda entry: entry[0])
            return version, tuple(file for _rank, file in ranked)
    return None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
