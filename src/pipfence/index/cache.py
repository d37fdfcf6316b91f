"""The on-disk cache of the index layer: pages (revalidated), metadata and files.

Layout under the root the caller gives::

    pages-v3/<aa>/<page key>                 a header line (JSON) then the page (the client
                                             stores its parsed form, which carries its own
                                             digests and is read in place: `open_page`)
    metadata-v2/<aa>/<metadata key>          a line with the body's sha256, then core metadata
    files-v2/<aa>/<sha256 of the file>       a file fetched without credentials
    private-files-v1/<aa>/<scoped key>       a file fetched with credentials
    resolutions-v1/<aa>/<key>                a line with the body's sha256, then what a
                                             caller remembered of a resolution

Everything an index said is scoped by who asked: ``scope`` is None for a request sent
without credentials, else a hash of the credentials and their origins (see
`pipfence.index.http.Http.credential_scope`), so an answer given to one set of credentials is
never served to a request without them or with others. Metadata is also keyed by the source
that served it (`metadata_key`): one index's metadata is never taken for another's, whatever
wheel hash both claim. A file fetched without credentials is public and shared by content;
one fetched with credentials is found only by the same scope.

Keys are hashes of credential-free URLs, scopes or content, so no key holds a secret. Every
write is a temporary file in the destination folder and `os.replace`, so processes sharing
the cache never see half a file. An entry that cannot be read or whose bytes do not match
their hash is deleted and reported as a miss. Nothing here knows the time: callers pass
``fetched_at`` (and ``content_at``) in and compare ages themselves.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
from msgspec.structs import replace

from pipfence.index.cache_files import HANDLES, Blob, FileBlob, close_handle

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

__all__ = ["Blob", "CachedPage", "IndexCache", "metadata_key", "page_key"]

_PAGES = "pages-v3"
_METADATA = "metadata-v2"
_FILES = "files-v2"
_PRIVATE_FILES = "private-files-v1"
_RESOLUTIONS = "resolutions-v1"
#: Folders of earlier layouts, removed by `IndexCache.clear`. Their entries were not scoped by
#: credentials or source, so they are never read.
_OLD = ("pages-v1", "parsed-v1", "pages-v2", "metadata-v1", "files-v1")
_CHUNK = 1024 * 1024
_HEADER_LIMIT = 64 * 1024
#: The header's digest of a body that carries its own (`IndexCache.open_page`).
_CHECKED_BY_CONTENT = "checked-by-content"
_SHA256_HEX = 64


def _page_of_header(header_line: bytes) -> CachedPage | None:
    """The page a header line describes, when its body carries its own digests."""
    try:
        header = json.loads(header_line)
        if header.get("sha256") != _CHECKED_BY_CONTENT:
            return None
        return _page_of(header, b"", body_offset=len(header_line))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _page_of(header: dict[str, Any], body: bytes, *, body_offset: int = 0) -> CachedPage:
    """The entry a decoded header line describes (`_page_header` wrote it), with ``body``.
    Raises KeyError, TypeError or ValueError for a header that is not one."""
    return CachedPage(
        url=str(header["url"]),
        content_type=str(header["content_type"]),
        body=body,
        etag=header.get("etag"),
        last_modified=header.get("last_modified"),
        fetched_at=float(header["fetched_at"]),
        content_at=_optional_time(header.get("content_at")),
        sent=_optional_text(header.get("sent")),
        body_offset=body_offset,
    )


class CachedPage(msgspec.Struct, frozen=True, kw_only=True):
    """A project page as last fetched: the body, how to revalidate it, and when it was fetched.

    ``url`` is the credential-free URL the body was finally served from (after redirects).
    ``content_at`` is when the index first sent this very body, when that was before
    ``fetched_at`` (a revalidation that found the page unchanged keeps it); None: at
    ``fetched_at`` (see `since`). ``sent`` is a digest of the answer the body was made from
    (`IndexClient` compares the next answer's with it before parsing that).
    """

    url: str
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: float = 0.0
    content_at: float | None = None
    sent: str | None = None
    body_offset: int = 0  # where the body starts in the file (`IndexCache.open_page`)

    @property
    def since(self) -> float:
        """When the index first sent this body: it has not changed since."""
        return self.fetched_at if self.content_at is None else self.content_at


def _optional_time(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _page_header(page: CachedPage, *, checked_by_content: bool) -> bytes:
    """The header line of a page entry (its body follows)."""
    header = {
        "url": page.url,
        "content_type": page.content_type,
        "etag": page.etag,
        "last_modified": page.last_modified,
        "fetched_at": page.fetched_at,
        **({} if page.content_at is None else {"content_at": page.content_at}),
        **({} if page.sent is None else {"sent": page.sent}),
        "sha256": (
            _CHECKED_BY_CONTENT if checked_by_content else hashlib.sha256(page.body).hexdigest()
        ),
    }
    return json.dumps(header).encode() + b"\n"


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _normal_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2].lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))


def _scoped(key: str, scope: str | None) -> str:
    if scope is None:
        return key
    return hashlib.sha256(f"{key}\0{scope}".encode()).hexdigest()


def page_key(url: str, scope: str | None = None) -> str:
    """The cache key of the page at ``url`` as fetched by ``scope``: sha256 of the URL with
    user-info removed and the scheme and host lower-cased, then of that and the scope."""
    return _scoped(hashlib.sha256(_normal_url(url).encode()).hexdigest(), scope)


def metadata_key(
    source_url: str, scope: str | None, dist_sha256: str, metadata_sha256: str | None
) -> str:
    """The cache key of a wheel's core metadata as the source at ``source_url`` (its
    credential-free request URL, so a mirror is a source of its own) served it to ``scope``:
    for the wheel the page lists with ``dist_sha256`` and, when the page gives it and the
    bytes were checked against it, the metadata file's own ``metadata_sha256`` (PEP 658/714).
    """
    text = "\0".join(
        (_normal_url(source_url), scope or "", dist_sha256.lower(), (metadata_sha256 or "").lower())
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _is_sha256(value: str) -> bool:
    return len(value) == _SHA256_HEX and all(c in "0123456789abcdef" for c in value)


class IndexCache:
    """A cache directory; safe to share between threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[Path] = set()  # made (or found) by this object

    # --- pages -----------------------------------------------------------------------------

    def load_page(self, url: str, scope: str | None = None) -> CachedPage | None:
        """The page cached for ``url`` as fetched by ``scope``, or None (missing, unreadable
        or corrupted)."""
        path = self._path(_PAGES, page_key(url, scope))
        data = self._read(path)
        if data is None:
            return None
        header_line, _, body = data.partition(b"\n")
        try:
            header = json.loads(header_line)
            page = _page_of(header, body)
            if header["sha256"] == _CHECKED_BY_CONTENT:
                return None  # read with `open_page`
            valid = header["sha256"] == hashlib.sha256(body).hexdigest()
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            self._evict(path)
            return None
        return page

    def open_page(self, url: str, scope: str | None = None) -> tuple[CachedPage, Blob] | None:
        """The entry for ``url`` as fetched by ``scope`` with its body left in the file: the
        page (``body`` empty, ``body_offset`` where the body starts) and the open file, read
        at an offset when asked. Only for an entry stored with ``checked_by_content`` (a body
        that carries its own digests, checked as it is read); None for any other entry, or
        one that is missing or unreadable. The open file keeps reading the entry it opened,
        even when another process replaces it. When this process holds many pages open
        already (`cache_files.Handles`), or is short of file handles, the body is read into memory
        instead."""
        path = self._path(_PAGES, page_key(url, scope))
        if not HANDLES.take():
            return self._read_page(path)
        try:
            handle = path.open("rb")
        except OSError as exc:
            HANDLES.give_back()
            if exc.errno not in (errno.EMFILE, errno.ENFILE):
                return None
            return self._read_page(path)
        try:
            header_line = handle.readline(_HEADER_LIMIT)
            page = _page_of_header(header_line)
        except OSError:
            page = None
        if page is None:
            close_handle(handle)
            return None
        try:
            return page, FileBlob(handle)
        except OSError:  # fstat failed; the finalizer has closed the file and given it back
            return None

    def _read_page(self, path: Path) -> tuple[CachedPage, Blob] | None:
        data = self._read(path)
        if data is None:
            return None
        header_line, newline, _body = data.partition(b"\n")
        page = _page_of_header(header_line + newline)
        return None if page is None else (page, data)

    def store_page(
        self,
        url: str,
        page: CachedPage,
        scope: str | None = None,
        *,
        checked_by_content: bool = False,
    ) -> None:
        """Store ``page`` as the entry for ``url`` fetched by ``scope`` (replacing any). With
        ``checked_by_content`` the body is not hashed here: it carries its own digests (see
        `open_page`), and `load_page` does not return it."""
        data = _page_header(page, checked_by_content=checked_by_content) + page.body
        self._write(self._path(_PAGES, page_key(url, scope)), data)

    def restamp_page(
        self, url: str, page: CachedPage, scope: str | None = None, *, fetched_at: float
    ) -> None:
        """Date the entry for ``url`` (``page``, as `open_page` read it) as fetched at
        ``fetched_at`` and unchanged since ``page.since``, its body kept byte for byte (the
        index said, or showed, that the page is the same). Nothing when the entry is no
        longer that one (another process replaced it) or cannot be read."""
        path = self._path(_PAGES, page_key(url, scope))
        try:
            with path.open("rb") as old:
                current = _page_of_header(old.readline(_HEADER_LIMIT))
                if current is None or current.fetched_at != page.fetched_at:
                    return
                dated = replace(current, fetched_at=fetched_at, content_at=page.since)
                # The body is copied through a buffer: a big page is never held whole.
                self._write(path, _page_header(dated, checked_by_content=True), rest=old)
        except OSError:
            return

    def page_times(self, url: str, scope: str | None = None) -> tuple[float, float] | None:
        """When the entry `open_page` would return for ``url`` and ``scope`` was fetched,
        and since when its body is the same (`CachedPage.since`): its header alone is read.
        None when there is no such entry."""
        path = self._path(_PAGES, page_key(url, scope))
        try:
            with path.open("rb") as handle:
                page = _page_of_header(handle.readline(_HEADER_LIMIT))
        except OSError:
            return None
        return None if page is None else (page.fetched_at, page.since)

    # --- remembered resolutions --------------------------------------------------------------

    def load_resolution(self, key: str) -> bytes | None:
        """What `store_resolution` stored under ``key`` (a sha256 hex digest), checked against
        its digest; None when there is nothing, or it is damaged (then it is deleted)."""
        return self._load_checked(_RESOLUTIONS, key)

    def store_resolution(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key`` (a sha256 hex digest), replacing what was there."""
        self._store_checked(_RESOLUTIONS, key, data)

    # --- metadata ----------------------------------------------------------------------------

    def load_metadata(self, key: str, metadata_sha256: str | None = None) -> bytes | None:
        """Core metadata cached under ``key`` (see `metadata_key`), or None; with
        ``metadata_sha256``, only bytes that have that digest."""
        body = self._load_checked(_METADATA, key)
        if body is None or metadata_sha256 is None:
            return body
        if hashlib.sha256(body).hexdigest() != metadata_sha256.lower():
            self._evict(self._path(_METADATA, key))
            return None
        return body

    def store_metadata(self, key: str, data: bytes) -> None:
        """Cache core metadata under ``key`` (see `metadata_key`)."""
        self._store_checked(_METADATA, key, data)

    def _load_checked(self, kind: str, key: str) -> bytes | None:
        """The body of a `_store_checked` entry, whose first line is the body's sha256; None
        for a missing entry or a damaged one (deleted)."""
        if not _is_sha256(key):
            return None
        path = self._path(kind, key)
        data = self._read(path)
        if data is None:
            return None
        digest, _, body = data.partition(b"\n")
        if digest.decode("ascii", "replace") != hashlib.sha256(body).hexdigest():
            self._evict(path)
            return None
        return body

    def _store_checked(self, kind: str, key: str, data: bytes) -> None:
        if not _is_sha256(key):
            return
        digest = hashlib.sha256(data).hexdigest().encode()
        self._write(self._path(kind, key), digest + b"\n" + data)

    # --- distribution files ------------------------------------------------------------------

    def load_file(self, sha256: str, scope: str | None = None) -> Path | None:
        """A cached file whose content has this sha256, verified now, that ``scope`` may
        have: one fetched with its credentials, or one fetched without any; None otherwise."""
        if not _is_sha256(sha256):
            return None
        paths = [self._path(_FILES, sha256)]
        if scope is not None:
            paths.insert(0, self._path(_PRIVATE_FILES, _scoped(sha256, scope)))
        for path in paths:
            try:
                with path.open("rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError:
                continue
            if digest == sha256:
                return path
            self._evict(path)
        return None

    def holds_file(self, sha256: str, scope: str | None = None) -> bool:
        """Whether ``scope`` may have the file with this sha256 from the cache (as
        `load_file`, without reading it): what lets a copy kept elsewhere (an unpacked wheel)
        be used without asking the index."""
        if not _is_sha256(sha256):
            return False
        if self._path(_FILES, sha256).is_file():
            return True
        return scope is not None and self._path(_PRIVATE_FILES, _scoped(sha256, scope)).is_file()

    def store_file(self, sha256: str, source: Path, scope: str | None = None) -> None:
        """Cache a copy of ``source``, whose content the caller has verified to have this
        sha256, as fetched by ``scope``. A hard link when possible, a copy otherwise."""
        if not _is_sha256(sha256):
            return
        target = self._file_path(sha256, scope)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-")) / "file"
        except OSError:
            return  # a cache that cannot be written is only a slower run
        try:
            try:
                os.link(source, temp)
            except OSError:
                shutil.copyfile(source, temp)
            temp.replace(target)
        except OSError:
            pass
        finally:
            shutil.rmtree(temp.parent, ignore_errors=True)

    def store_file_from(self, sha256: str, stream: IO[bytes], scope: str | None = None) -> None:
        """`store_file` for the content of ``stream`` (read from its start, left at its end),
        which the caller has verified to have this sha256: a wheel read whole for its
        metadata (an index that ignores range requests) is not downloaded again to install."""
        if not _is_sha256(sha256):
            return
        stream.seek(0)
        self._write(self._file_path(sha256, scope), b"", stream)

    def _file_path(self, sha256: str, scope: str | None) -> Path:
        if scope is None:
            return self._path(_FILES, sha256)
        return self._path(_PRIVATE_FILES, _scoped(sha256, scope))

    # --- housekeeping ------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every entry (``pipfence lock --clear``); other files under the root stay."""
        self._folders.clear()
        for name in (_PAGES, _METADATA, _FILES, _PRIVATE_FILES, _RESOLUTIONS, *_OLD):
            shutil.rmtree(self.root / name, ignore_errors=True)

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _write(self, path: Path, data: bytes, rest: IO[bytes] | None = None) -> None:
        """Write ``data`` (then what is left to read of ``rest``) to ``path`` atomically (a
        unique temporary name, then a rename)."""
        folder = path.parent
        temp = folder / f".tmp-{secrets.token_hex(8)}"
        try:
            if folder not in self._folders:
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(folder)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
        except OSError:
            return  # a cache that cannot be written is only a slower run
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if rest is not None:
                    shutil.copyfileobj(rest, handle, _CHUNK)
            temp.replace(path)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()

    @staticmethod
    def _evict(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
