"""The index client: project pages, core metadata and verified downloads from one source at a time.

    project ──► IndexClient ──► Http (libcurl or httpx, auth, redirects, retries) ──► the index
                    │
                    ├── simple.parse_project_page   (pure)
                    ├── remote_metadata.MetadataReader: PEP 658 files, or
                    │       metadata.read_wheel_metadata over RangeFile (range requests)
                    ├── downloads.Downloader        (verified while streaming)
                    └── IndexCache                  (pages revalidated, files by sha256;
                                                     everything scoped by the credentials sent)

Project pages are read here; core metadata and downloads in the two modules above, over the
same `Http` and cache.

Every method takes the `Source` to name in messages and its ``request_url``: the URL with
``${VAR}`` expanded (and a PyPI mirror substituted) by the caller, which may hold credentials.
The client never decides which source a package may come from: the caller's fence does. One
`IndexClient` is safe to use from many threads at once.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from pipfence.errors import IndexServerError
from pipfence.index.cache import CachedPage, IndexCache
from pipfence.index.downloads import Downloader
from pipfence.index.folder import FolderIndex, is_file_url
from pipfence.index.http import (
    ClientSettings,
    Endpoint,
    Http,
    Reply,
)
from pipfence.index.page_answers import (
    broken_source,
    page_headers,
    sent_digest,
    unchanged_since,
    unreadable_page,
)
from pipfence.index.page_blob import dump_page, load_page
from pipfence.models.files import CoreMetadata, DistFile, ProjectPage
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source

if TYPE_CHECKING:
    import httpx

    from pipfence.index.page_worker import PageJob
    from pipfence.index.page_workers import PageWorkers
    from pipfence.index.remote_metadata import MetadataReader

__all__ = ["IndexClient"]

#: The content type under which the cache stores a page's parsed form.
_PARSED_PAGE = "application/x-pipfence-parsed-page"


class IndexClient:
    """Reads one source at a time over a shared, pooled HTTP client.

    ``clock`` gives the current time in seconds (``time.time`` in production): it decides
    whether a cached page is fresh. ``client`` / ``insecure_client``, ``sleep`` and ``rng`` are
    for tests (see `Http`).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        clock: Callable[[], float],
        client: httpx.Client | None = None,
        insecure_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.cache = IndexCache(settings.cache_dir) if settings.cache_dir is not None else None
        self._clock = clock
        # Parsing holds the GIL, so two parses at a time are as fast as thirty; the cap keeps
        # the decoded JSON of only that many pages in memory when many arrive at once.
        self._parsing = threading.BoundedSemaphore(2)
        self._roots: dict[tuple[str, str], bool] = {}
        self._roots_lock = threading.Lock()
        # (source, request URL) → its pages' URL prefix and credential scope, for page_stamp.
        self._stamp_bases: dict[tuple[Source, str], tuple[str, str | None]] = {}
        self._http = Http(
            settings,
            client=client,
            insecure_client=insecure_client,
            sleep=sleep,
            rng=rng,
            wall_clock=clock,
        )
        self._downloads = Downloader(self._http, settings, self.cache)
        # The page parser, the page workers and the metadata reader are made (and their
        # modules imported) when first needed: a sync from the cache and a remembered lock
        # read no page and no metadata.
        self._made_lock = threading.Lock()
        self._metadata_reader: MetadataReader | None = None
        self._page_workers: PageWorkers | None = None
        self._closed = False

    @property
    def _metadata(self) -> MetadataReader:
        with self._made_lock:
            if self._metadata_reader is None:
                from pipfence.index.remote_metadata import MetadataReader

                self._metadata_reader = MetadataReader(self._http, self.settings, self.cache)
            return self._metadata_reader

    @property
    def _workers(self) -> PageWorkers:
        with self._made_lock:
            if self._page_workers is None:
                from pipfence.index.page_workers import PageWorkers, default_page_workers

                count = self.settings.page_workers
                if count is None:
                    count = default_page_workers()
                # Once closed, no worker is started any more: the parent parses.
                self._page_workers = PageWorkers(0 if self._closed else count)
            return self._page_workers

    def close(self) -> None:
        with self._made_lock:
            self._closed = True
            workers = self._page_workers
        if workers is not None:
            workers.close()
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def skips_tls_verification(source: Source, request_url: str) -> bool:
        """Whether requests to this source's host skip TLS verification (``verify_ssl =
        false`` on an https URL): the caller's cue to warn."""
        if is_file_url(request_url):
            return False
        return Endpoint.of(source, request_url).skips_tls_verification

    @property
    def requests_sent(self) -> dict[str, int]:
        """Requests sent so far per source name (see `Http.sent`)."""
        return self._http.sent

    def clear_cache(self) -> None:
        """Empty the on-disk cache (``lock --clear``); nothing when there is none."""
        if self.cache is not None:
            self.cache.clear()

    # --- project pages -----------------------------------------------------------------------

    def project_page(
        self,
        source: Source,
        request_url: str,
        name: NormalizedName,
        *,
        max_age: float | None = None,
    ) -> ProjectPage | None:
        """The project page of ``name`` on ``source`` (PEP 691 JSON preferred, PEP 503 HTML).

        GET ``{request_url}/{name}/``. A cached page younger than ``page_max_age`` is used
        without a request; an older one is revalidated (``If-None-Match`` /
        ``If-Modified-Since``; 304 keeps it). ``max_age`` overrides the settings' for this call
        (0: always ask). Returns None when the index answers 404.
        Raises `IndexServerError` naming the source for 401/403, 5xx or 429 after retries,
        network and TLS failures, a body over ``max_page_bytes``, or a body that is not a
        project page.
        """
        if is_file_url(request_url):
            return self._folder_page(source, request_url, name)
        endpoint = Endpoint.of(source, request_url)
        url = f"{endpoint.url.rstrip('/')}/{name}/"
        what = f"the project page of `{name}`"
        now = self._clock()
        limit = self.settings.page_max_age if max_age is None else max_age
        # The cache keeps a page in its parsed form (see `dump_page`), never the raw body, and
        # only for requests made with the same credentials (none, or these).
        scope = self._http.credential_scope(endpoint) if self.cache is not None else None
        cached, known = self._cached_page(url, scope)
        if cached is not None and known is not None and known.name == name:
            if 0 <= now - cached.fetched_at < limit:
                return dataclasses.replace(
                    known, etag=cached.etag, cached_at=cached.since, requested=False
                )
        else:
            cached = known = None
        reply = self._http.get(
            endpoint,
            url,
            what=what,
            limit=self.settings.max_page_bytes,
            headers=page_headers(cached),
            accept=(200, 304, 404),
        )
        if reply.status == 404:  # noqa: PLR2004
            if not self._root_exists(endpoint):
                raise broken_source(endpoint.label, source, endpoint.url, name)
            return None
        if reply.status == 304 and (cached is None or known is None):  # noqa: PLR2004
            raise IndexServerError(
                f"source {endpoint.label} answered 304 Not Modified for {what} "
                "to a request that was not conditional",
                source=endpoint.name,
                status=304,
            )
        # The digest of what was sent is needed now only to compare it with the entry's; a
        # worker that stores a fresh page works it out itself, off this process, whose
        # interpreter lock is what a cold lock waits on.
        unchanged = reply.status == 304  # noqa: PLR2004
        sent = sent_digest(reply) if known is not None and not unchanged else None
        if cached is not None and known is not None and (sent is None or sent == cached.sent):
            # Not modified, or the very answer the entry was made from: no parse, no dump.
            if self.cache is not None:
                self.cache.restamp_page(url, cached, scope, fetched_at=now)
            return dataclasses.replace(known, etag=cached.etag, cached_at=cached.since)
        if known is None:  # nothing to compare it with: a worker may parse it
            entry = CachedPage(
                url=reply.url,
                content_type=_PARSED_PAGE,
                body=b"",
                etag=reply.headers.get("etag"),
                last_modified=reply.headers.get("last-modified"),
                fetched_at=now,
                sent=None,  # the worker's to work out
            )
            from pipfence.index.page_worker import PageJob

            job = PageJob(
                content_type=reply.headers.get("content-type") or "",
                final_url=reply.url,
                name=name,
                # absolute: the worker's working folder need not stay ours
                cache_root=None if self.cache is None else os.path.abspath(self.cache.root),  # noqa: PTH100
                url=url,
                scope=scope,
                entry=entry,
            )
            offloaded = self._offloaded(endpoint, what, job, reply.body)
            if offloaded is not None:
                return offloaded
        sent = sent or sent_digest(reply)
        with self._parsing:
            page = self._parse(endpoint, name, what, reply.url, reply)
            blob = dump_page(page)
        fresh = CachedPage(
            url=reply.url,
            content_type=_PARSED_PAGE,
            body=blob or b"",
            etag=reply.headers.get("etag"),
            last_modified=reply.headers.get("last-modified"),
            fetched_at=now,
            content_at=unchanged_since(cached, known, page),
            sent=sent,
        )
        if self.cache is not None and fresh.body:
            page = self._stored_page(self.cache, url, fresh, scope, page)
        return dataclasses.replace(page, etag=fresh.etag)

    @property
    def page_max_age(self) -> float:
        """Seconds a cached project page is used without asking the index."""
        return self.settings.page_max_age

    def page_stamp(self, source: Source, request_url: str, name: NormalizedName) -> float | None:
        """The ``cached_at`` of the page `project_page` would return now without asking the
        index (since when its cache entry's page is the same, `CachedPage.since`), while that
        entry is young enough. None when
        `project_page` would send a request (or reads a folder): no entry, an old one, or no
        cache. Reads one header line; sends nothing."""
        if self.cache is None or is_file_url(request_url):
            return None
        where = self._stamp_bases.get((source, request_url))
        if where is None:
            endpoint = Endpoint.of(source, request_url)
            where = (endpoint.url.rstrip("/"), self._http.credential_scope(endpoint))
            self._stamp_bases[(source, request_url)] = where
        base, scope = where
        times = self.cache.page_times(f"{base}/{name}/", scope)
        if times is None or not 0 <= self._clock() - times[0] < self.settings.page_max_age:
            return None
        return times[1]

    def load_resolution(self, key: str) -> bytes | None:
        """What `store_resolution` kept under ``key`` in the on-disk cache, or None."""
        return None if self.cache is None else self.cache.load_resolution(key)

    def store_resolution(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key`` (a sha256 hex digest) in the on-disk cache, if any."""
        if self.cache is not None:
            self.cache.store_resolution(key, data)

    def _folder_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None:
        """`project_page` of a source that is a local folder (a ``file:`` URL)."""
        folder = FolderIndex(source, request_url)
        page = folder.project_page(name, self.settings.max_page_bytes)
        if page is None and not folder.exists():
            raise broken_source(folder.label, source, request_url, name)
        return page

    def _stored_page(
        self, cache: IndexCache, url: str, fresh: CachedPage, scope: str | None, page: ProjectPage
    ) -> ProjectPage:
        """Store ``fresh`` (the parsed ``page``) in the cache and return the page as stored:
        its groups stay in the file, and memory holds only what is read (a big lock's pages
        are about 90 MB, of which a few groups are used). ``page`` itself when the entry read
        back is not this one."""
        cache.store_page(url, fresh, scope, checked_by_content=True)
        stored, mapped = self._cached_page(url, scope)
        if (
            stored is not None
            and mapped is not None
            and stored.fetched_at == fresh.fetched_at
            and mapped.name == page.name
        ):
            # this very entry, not an older one a failed write left
            return dataclasses.replace(mapped, cached_at=stored.since)
        return page

    def _offloaded(
        self, endpoint: Endpoint, what: str, job: PageJob, body: bytes
    ) -> ProjectPage | None:
        """The page of ``job`` as a worker process parsed it (and stored it, with a cache),
        groups left in the cache file; None when no worker did (the caller parses it)."""
        answer = self._workers.parse(job, body)
        if answer is None or answer.outcome == "failed":
            return None
        if answer.outcome == "unreadable":
            raise unreadable_page(endpoint, what, answer.text)
        if answer.outcome == "blob":
            page = load_page(answer.data)
        else:
            stored, page = self._cached_page(job.url, job.scope)
            if stored is None or page is None or stored.fetched_at != job.entry.fetched_at:
                return None  # not this very entry (a write that failed left an older one)
            page = dataclasses.replace(page, cached_at=stored.since)
        if page is None or page.name != job.name:
            return None
        return dataclasses.replace(page, etag=job.entry.etag)

    def _cached_page(
        self, url: str, scope: str | None
    ) -> tuple[CachedPage, ProjectPage] | tuple[None, None]:
        """The cached entry for ``url`` and its page, groups left in the file; (None, None)
        when there is none this client can read."""
        if self.cache is None:
            return None, None
        entry = self.cache.open_page(url, scope)
        if entry is None:
            return None, None
        cached, data = entry
        if cached.content_type != _PARSED_PAGE:
            return None, None
        known = load_page(data, cached.body_offset)
        return (cached, known) if known is not None else (None, None)

    def _root_exists(self, endpoint: Endpoint) -> bool:
        """Whether the source's own index page (its URL, which names no package) is there:
        asked once per source, on its first 404, to tell a wrong URL from a missing project.
        Anything but 404 or 410 counts as there (a server that hides its index list, asks
        for sign-in or fails says nothing about the URL)."""
        key = (endpoint.name, endpoint.url)
        with self._roots_lock:
            known = self._roots.get(key)
        if known is not None:
            return known
        root = endpoint.url if endpoint.url.endswith("/") else endpoint.url + "/"
        try:
            status = self._http.stream(
                endpoint,
                root,
                what="the index page",
                accept=range(100, 600),
                consume=lambda response, _url: response.status_code,
            )
        except IndexServerError:
            return True  # the project page answered: this is no proof of a wrong URL
        exists = status not in {404, 410}
        with self._roots_lock:
            self._roots[key] = exists
        return exists

    @staticmethod
    def _parse(
        endpoint: Endpoint, name: NormalizedName, what: str, final_url: str, reply: Reply
    ) -> ProjectPage:
        from pipfence.index.simple import parse_project_page

        try:
            return parse_project_page(
                reply.body, reply.headers.get("content-type") or "", final_url, project=name
            )
        except ValueError as exc:
            raise unreadable_page(endpoint, what, str(exc)) from exc

    # --- core metadata -----------------------------------------------------------------------

    def metadata(self, source: Source, request_url: str, file: DistFile) -> CoreMetadata | None:
        """The core metadata of a wheel; None for an sdist (or any file that is not a wheel).

        An sdist's metadata needs a PEP 517 build, which is the caller's job: download it with
        `download` and build it. For a wheel, in order: the cache; the PEP 658/714
        ``{url}.metadata`` file when the page offers one (its sha256 checked when given);
        else HTTP range requests for only the zip's central directory and METADATA; else,
        when the server ignores ``Range``, the whole wheel (its sha256 checked when the page
        gives one). The cache keys metadata by the source's request URL, the credentials
        sent, the wheel's sha256 the page lists and the metadata file's own sha256 (when the
        bytes were checked against it): what one index said is never taken for another's.

        Raises `IndexServerError` for network/HTTP failures, `HashMismatch` when the metadata
        file or wheel does not match the page's hash, `ArchiveError` for an unreadable wheel or
        METADATA, and `IntegrityError` when METADATA names another project or version than the
        filename.
        """
        return self._metadata.metadata(source, request_url, file)

    # --- downloads ---------------------------------------------------------------------------

    def download(
        self,
        source: Source,
        request_url: str,
        file: DistFile,
        dest_dir: Path,
        allowed_sha256: Collection[str] = (),
    ) -> Path:
        """Download ``file`` to ``dest_dir / file.filename`` and return that path.

        ``allowed_sha256`` holds the hex digests (``sha256:`` prefix optional) the file may
        have, normally the lock's; when empty, the page's sha256 is required if it gives one,
        and otherwise any content is accepted: refusing hash-less entries is the caller's
        policy. A cached file with an allowed hash is used without a request. The body is
        hashed while it streams into a temporary file in ``dest_dir``, which is renamed into
        place only after verification, so ``dest_dir / file.filename`` is never partial.

        Raises `HashMismatch` naming the file, the source, the allowed and the actual digest;
        `IndexServerError` for HTTP/network failures, including a body that stays shorter
        than its ``Content-Length`` after retries ("truncated"); `ArchiveError` for a filename
        that is not a plain file name.
        """
        return self._downloads.download(source, request_url, file, dest_dir, allowed_sha256)

    def holds_file(self, source: Source, request_url: str, sha256: str) -> bool:
        """Whether the cache holds the file with this sha256 for a request to ``source`` with
        the credentials it has now (fetched without credentials, or with these): the
        caller's leave to use its own copy of that file (an unpacked wheel) without asking
        the index. False without a cache."""
        return self._downloads.holds_file(source, request_url, sha256)
