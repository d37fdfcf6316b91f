"""The index client: project pages, core metadata and verified downloads from one source at a time.

    project ──► IndexClient ──► Http (libcurl or httpx, auth, redirects, retries) ──► the index
                    │
                    ├── simple.parse_project_page   (pure)
                    ├── metadata.read_wheel_metadata over RangeFile (range requests)
                    └── IndexCache                  (pages revalidated, files by sha256;
                                                     everything scoped by the credentials sent)

Every method takes the `Source` to name in messages and its ``request_url``: the URL with
``${VAR}`` expanded (and a PyPI mirror substituted) by the caller, which may hold credentials.
The client never decides which source a package may come from: the caller's fence does. One
`IndexClient` is safe to use from many threads at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import io
import os
import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, NoReturn, Self
from urllib.parse import urlsplit

from pipfence.errors import ArchiveError, HashMismatch, IndexServerError, IntegrityError
from pipfence.index.cache import CachedPage, IndexCache, metadata_key
from pipfence.index.folder import FolderIndex, is_file_url
from pipfence.index.http import (
    ClientSettings,
    Endpoint,
    Http,
    Reply,
    Response,
    check_complete,
    content_length,
    raw_chunks,
)
from pipfence.index.metadata import RangeFile, read_wheel_metadata
from pipfence.index.page_blob import dump_page, load_page
from pipfence.index.simple import ACCEPT, parse_project_page
from pipfence.models.files import CoreMetadata, DistFile, ProjectPage, parse_filename
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url

if TYPE_CHECKING:
    import httpx
    from packaging.version import Version

__all__ = ["IndexClient"]

#: Bytes asked for first when reading a wheel's metadata by ranges: the zip's end record and, for
#: most wheels, its whole central directory.
_TAIL = 64 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)", re.IGNORECASE)
_IDENTITY = {"Accept-Encoding": "identity"}
#: The content type under which the cache stores a page's parsed form.
_PARSED_PAGE = "application/x-pipfence-parsed-page"
#: How alike (difflib's ratio) a URL's last path segment and ``simple`` must be to be taken
#: for a typo of it (``simpel``, ``simpl``, ``simple2``).
_TYPO_LIKENESS = 0.6


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
        self._http = Http(
            settings,
            client=client,
            insecure_client=insecure_client,
            sleep=sleep,
            rng=rng,
            wall_clock=clock,
        )

    def close(self) -> None:
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
                return dataclasses.replace(known, etag=cached.etag)
        else:
            cached = known = None
        reply = self._http.get(
            endpoint,
            url,
            what=what,
            limit=self.settings.max_page_bytes,
            headers=_page_headers(cached),
            accept=(200, 304, 404),
        )
        if reply.status == 404:  # noqa: PLR2004
            if not self._root_exists(endpoint):
                raise _broken_source(endpoint.label, source, endpoint.url, name)
            return None
        if reply.status == 304:  # noqa: PLR2004
            if cached is None or known is None:
                raise IndexServerError(
                    f"source {endpoint.label} answered 304 Not Modified for {what} "
                    "to a request that was not conditional",
                    source=endpoint.name,
                    status=304,
                )
            page = known
            fresh = dataclasses.replace(cached, fetched_at=now, body=dump_page(known) or b"")
        else:
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
            )
        if self.cache is not None and fresh.body:
            page = self._stored_page(self.cache, url, fresh, scope, page)
        return dataclasses.replace(page, etag=fresh.etag)

    def _folder_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None:
        """`project_page` of a source that is a local folder (a ``file:`` URL)."""
        folder = FolderIndex(source, request_url)
        page = folder.project_page(name, self.settings.max_page_bytes)
        if page is None and not folder.exists():
            raise _broken_source(folder.label, source, request_url, name)
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
            return mapped  # this very entry, not an older one a failed write left
        return page

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
        try:
            return parse_project_page(
                reply.body, reply.headers.get("content-type") or "", final_url, project=name
            )
        except ValueError as exc:
            raise IndexServerError(
                f"source {endpoint.label} sent an unreadable answer for {what}: {exc}",
                source=endpoint.name,
                hint="check that the source URL is the index's simple API "
                "(it often ends in /simple)",
            ) from exc

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
        parsed = parse_filename(file.filename)
        if parsed is None or parsed[2] is None:
            return None
        name, version, _tags = parsed
        if is_file_url(file.url):
            folder = self._folder(source, request_url, file)
            on_disk = folder.metadata(file, name, self.settings.max_metadata_bytes)
            return self._checked(folder.label, file, on_disk, name, version)
        endpoint = _endpoint(source, request_url, file.url)
        dist_sha256 = file.sha256
        keys: list[tuple[str, str | None]] = []
        if self.cache is not None and dist_sha256:
            scope = self._http.credential_scope(endpoint, file.url)
            promised = _metadata_sha256(file)
            if promised is not None:
                keys.append((metadata_key(endpoint.url, scope, dist_sha256, promised), promised))
            keys.append((metadata_key(endpoint.url, scope, dist_sha256, None), None))
            for key, digest in keys:
                data = self.cache.load_metadata(key, digest)
                if data is not None:
                    with contextlib.suppress(IntegrityError):
                        return self._check_metadata(endpoint.label, file, data, name)
        data = self._metadata_file(endpoint, file) if file.has_metadata_file else None
        verified = data is not None and _metadata_sha256(file) is not None
        if data is None:
            data = self._wheel_metadata(endpoint, file, name)
        result = self._checked(endpoint.label, file, data, name, version)
        if self.cache is not None and keys:
            self.cache.store_metadata(keys[0 if verified else -1][0], data)
        return result

    @classmethod
    def _checked(
        cls, label: str, file: DistFile, data: bytes, name: NormalizedName, version: Version
    ) -> CoreMetadata:
        result = cls._check_metadata(label, file, data, name)
        if result.version != version:
            raise IntegrityError(
                f"the metadata of `{file.filename}` from source {label} says version "
                f"{result.version}, not {version}"
            )
        return result

    @staticmethod
    def _check_metadata(
        label: str, file: DistFile, data: bytes, name: NormalizedName
    ) -> CoreMetadata:
        try:
            result = CoreMetadata.parse(data)
        except ValueError as exc:
            raise ArchiveError(
                f"the metadata of `{file.filename}` from source {label} is invalid: {exc}"
            ) from exc
        if result.name != name:
            raise IntegrityError(
                f"the metadata of `{file.filename}` from source {label} names "
                f"the project `{result.name}`, not `{name}`"
            )
        return result

    @staticmethod
    def _folder(source: Source, request_url: str, file: DistFile) -> FolderIndex:
        """The folder index a ``file:`` link is read through: only a ``file:`` source's page
        may list one (`parse_project_page` drops them elsewhere); refused otherwise."""
        if not is_file_url(request_url):
            raise IndexServerError(
                f"source `{source.name}` ({shown_url(request_url)}) lists `{file.filename}` "
                "as a local file; only a file: source may",
                source=source.name,
            )
        return FolderIndex(source, request_url)

    def _metadata_file(self, endpoint: Endpoint, file: DistFile) -> bytes | None:
        """PEP 658: ``{file.url}.metadata``; None when the index does not have it after all."""
        what = f"the metadata file of `{file.filename}`"
        reply = self._http.get(
            endpoint,
            file.url + ".metadata",
            what=what,
            limit=self.settings.max_metadata_bytes,
            accept=(200, 404),
        )
        if reply.status == 404:  # noqa: PLR2004 - promised but missing: read the wheel instead
            return None
        expected = _metadata_sha256(file)
        if expected:
            got = hashlib.sha256(reply.body).hexdigest()
            if got != expected.lower():
                raise HashMismatch(
                    f"{what} from source {endpoint.label} has sha256 {got}, "
                    f"but the project page lists {expected}"
                )
        return reply.body

    def _wheel_metadata(self, endpoint: Endpoint, file: DistFile, name: NormalizedName) -> bytes:
        what = f"`{file.filename}`"
        tail = self._http.stream(
            endpoint,
            file.url,
            what=what,
            headers={"Range": f"bytes=-{_TAIL}", **_IDENTITY},
            accept=(200, 206, 416),
            consume=lambda response, url: self._tail_or_whole(endpoint, file, response, url),
        )
        if tail is None:  # 416, or a 206 we cannot trust: fetch the whole file instead
            tail = self._http.stream(
                endpoint,
                file.url,
                what=what,
                headers=_IDENTITY,
                consume=lambda response, _url: self._spool(endpoint, file, response),
            )
        try:
            if isinstance(tail, _Tail):
                url = tail.url
                wheel: IO[bytes] = io.BufferedReader(
                    RangeFile(
                        tail.size,
                        lambda start, end: self._range(endpoint, file, url, start, end),
                        known=[(tail.start, tail.body)],
                    )
                )
            else:
                wheel = tail
            try:
                return read_wheel_metadata(wheel, name=name, limit=self.settings.max_metadata_bytes)
            except ValueError as exc:
                raise ArchiveError(
                    f"`{file.filename}` from source {endpoint.label} is not a usable wheel: {exc}"
                ) from exc
        finally:
            if not isinstance(tail, _Tail):
                tail.close()

    def _tail_or_whole(
        self, endpoint: Endpoint, file: DistFile, response: Response, url: str
    ) -> _Tail | IO[bytes] | None:
        if response.status_code == 200:  # noqa: PLR2004 - Range ignored: this is the whole wheel
            return self._spool(endpoint, file, response)
        if response.status_code != 206:  # noqa: PLR2004
            return None
        span = _content_range(response.headers.get("content-range"))
        body = self._http.read_body(response, endpoint, what=f"`{file.filename}`", limit=_TAIL)
        if span is None or span[0] + len(body) != span[1] or span[1] < len(body):
            return None
        return _Tail(url=url, start=span[0], size=span[1], body=body)

    def _range(self, endpoint: Endpoint, file: DistFile, url: str, start: int, end: int) -> bytes:
        what = f"bytes {start}-{end - 1} of `{file.filename}`"

        def consume(response: Response, _url: str) -> bytes:
            span = _content_range(response.headers.get("content-range"))
            if response.status_code != 206 or span is None or span[0] != start:  # noqa: PLR2004
                raise IndexServerError(
                    f"source {endpoint.label} answered a range request for {what} with "
                    "something else",
                    source=endpoint.name,
                )
            return self._http.read_body(response, endpoint, what=what, limit=end - start)

        return self._http.stream(
            endpoint,
            url,
            what=what,
            headers={"Range": f"bytes={start}-{end - 1}", **_IDENTITY},
            accept=(200, 206),
            consume=consume,
        )

    def _spool(self, endpoint: Endpoint, file: DistFile, response: Response) -> IO[bytes]:
        """The whole response body in a temporary file, its sha256 checked against the page."""
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - returned open
            max_size=_SPOOL_IN_MEMORY,
            dir=None if self.settings.temp_dir is None else str(self.settings.temp_dir),
        )
        hasher = hashlib.sha256()
        received = 0
        try:
            cap = self._size_cap(endpoint, file, response)
            for chunk in raw_chunks(response, self.settings.read_timeout * 3):
                received += len(chunk)
                if received > cap[0]:
                    self._oversized(endpoint, file, cap)
                hasher.update(chunk)
                spool.write(chunk)
            check_complete(response, received)
        except BaseException:
            spool.close()
            raise
        expected = file.sha256
        if expected and hasher.hexdigest() != expected:
            spool.close()
            raise HashMismatch(
                f"`{file.filename}` from source {endpoint.label} has sha256 "
                f"{hasher.hexdigest()}, but the project page lists {expected}"
            )
        spool.seek(0)
        return spool

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
        local = is_file_url(file.url)
        label = (
            self._folder(source, request_url, file).label
            if local
            else _endpoint(source, request_url, file.url).label
        )
        filename = file.filename
        if not filename or filename in {".", ".."} or "/" in filename or "\\" in filename:
            raise ArchiveError(f"source {label} lists a file named {filename!r}")
        allowed = {h.strip().lower().removeprefix("sha256:") for h in allowed_sha256}
        if not allowed and file.sha256:
            allowed = {file.sha256.lower()}
        target = dest_dir / filename
        dest_dir.mkdir(parents=True, exist_ok=True)
        if local:  # read from disk: nothing to cache
            temp, digest = self._folder(source, request_url, file).copy(file, dest_dir)
            return self._verified(label, temp, digest, allowed, target)
        endpoint = _endpoint(source, request_url, file.url)
        # A file fetched with credentials is reused only for the same credentials, even when
        # the lock's hash would verify it: without them the index would not have served it.
        scope = self._http.credential_scope(endpoint, file.url) if self.cache is not None else None
        if self.cache is not None:
            for digest in sorted(allowed):
                cached = self.cache.load_file(digest, scope)
                if cached is not None:
                    _place(cached, target)
                    return target

        def consume(response: Response, _url: str) -> tuple[Path, str]:
            cap = self._size_cap(endpoint, file, response)
            fd, name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
            temp = Path(name)
            hasher = hashlib.sha256()
            received = 0
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in raw_chunks(response, self.settings.read_timeout * 3):
                        received += len(chunk)
                        if received > cap[0]:
                            self._oversized(endpoint, file, cap)
                        hasher.update(chunk)
                        out.write(chunk)
                check_complete(response, received)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            return temp, hasher.hexdigest()

        temp, digest = self._http.stream(
            endpoint, file.url, what=f"`{filename}`", headers=_IDENTITY, consume=consume
        )
        self._verified(endpoint.label, temp, digest, allowed, target)
        if self.cache is not None:
            self.cache.store_file(digest, target, scope)
        return target

    @staticmethod
    def _verified(
        label: str, temp: Path, digest: str, allowed: Collection[str], target: Path
    ) -> Path:
        """Rename ``temp`` to ``target`` when ``digest`` is allowed (or nothing is required);
        else delete it and raise `HashMismatch`."""
        if allowed and digest not in allowed:
            temp.unlink(missing_ok=True)
            expected = ", ".join(f"sha256:{h}" for h in sorted(allowed))
            raise HashMismatch(
                f"`{target.name}` from source {label} has sha256:{digest}, "
                f"which is not among the allowed hashes ({expected})",
                hint="if the file was replaced on purpose, run `pipfence lock` again; "
                "otherwise something altered it between the index and you",
            )
        temp.replace(target)
        return target

    def holds_file(self, source: Source, request_url: str, sha256: str) -> bool:
        """Whether the cache holds the file with this sha256 for a request to ``source`` with
        the credentials it has now (fetched without credentials, or with these): the
        caller's leave to use its own copy of that file (an unpacked wheel) without asking
        the index. False without a cache."""
        if self.cache is None or is_file_url(request_url):
            return False
        endpoint = Endpoint.of(source, request_url)
        return self.cache.holds_file(sha256.lower(), self._http.credential_scope(endpoint))

    def _size_cap(self, endpoint: Endpoint, file: DistFile, response: Response) -> tuple[int, str]:
        """How many bytes the body of ``file`` may have, and who said so: the project page's
        ``size`` (PEP 700), else the ``Content-Length``, else ``max_download_bytes``. A
        ``Content-Length`` over the page's size or the limit is refused at once."""
        declared = content_length(response)
        if file.size is not None:
            cap = (file.size, "the project page lists")
        elif declared is not None:
            cap = (declared, "its Content-Length announced")
        else:
            cap = (self.settings.max_download_bytes, "pipfence accepts for one file")
        if declared is not None and declared > min(cap[0], self.settings.max_download_bytes):
            raise IntegrityError(
                f"`{file.filename}` from source {endpoint.label} is announced as {declared} "
                f"bytes, more than the {cap[0]} bytes {cap[1]}; refusing it"
            )
        return cap

    @staticmethod
    def _oversized(endpoint: Endpoint, file: DistFile, cap: tuple[int, str]) -> NoReturn:
        raise IntegrityError(
            f"`{file.filename}` from source {endpoint.label} sent more than the {cap[0]} bytes "
            f"{cap[1]}; the download was stopped there",
            hint="the index serves something other than the file it lists",
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Tail:
    """The end of a remote file fetched by a suffix range request."""

    url: str
    start: int
    size: int
    body: bytes


def _page_headers(cached: CachedPage | None) -> dict[str, str]:
    """The headers of a project page request: revalidating ``cached`` when there is one."""
    headers = {"Accept": ACCEPT}
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    return headers


def _broken_source(label: str, source: Source, url: str, name: NormalizedName) -> IndexServerError:
    """The error for a project page that is not found on a source whose own index page is
    not found either: the URL is wrong, whatever the package."""
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    hint = "check the source's `url` in the Pipfile"
    likeness = difflib.SequenceMatcher(None, last.lower(), "simple").ratio()
    if last.lower() != "simple" and likeness >= _TYPO_LIKENESS:
        hint += f": a typo in `/{last}`? (the simple API is usually at `/simple`)"
    return IndexServerError(
        f"source {label} answered 404 for its own index page, and for the project page of "
        f"`{name}`: the source's URL looks wrong",
        source=source.name,
        status=404,
        hint=hint,
    )


def _endpoint(source: Source, request_url: str, file_url: str) -> Endpoint:
    """The endpoint requests for a file of ``source`` go through. For a ``file:`` source
    whose page links to an http(s) file, the file's own origin, with no credentials."""
    if not is_file_url(request_url):
        return Endpoint.of(source, request_url)
    scheme, _, rest = file_url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2]
    return Endpoint.of(source, f"{scheme}://{host}/")


def _metadata_sha256(file: DistFile) -> str | None:
    """The sha256 the page gives for the file's PEP 658/714 metadata file, lower-cased."""
    if not isinstance(file.metadata, Mapping):
        return None
    digest = file.metadata.get("sha256")
    return digest.strip().lower() if digest else None


def _content_range(value: str | None) -> tuple[int, int] | None:
    """(first byte, total size) from ``Content-Range: bytes a-b/total``."""
    if value is None:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last, total = (int(g) for g in match.groups())
    if first > last or last >= total:
        return None
    return first, total


def _place(cached: Path, target: Path) -> None:
    """Put a copy (or hard link) of a cached file at ``target`` atomically."""
    temp_dir = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    temp = temp_dir / target.name
    try:
        try:
            os.link(cached, temp)
        except OSError:
            shutil.copyfile(cached, temp)
        temp.replace(target)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
