"""The on-disk cache of the index layer: pages (revalidated) and files by sha256 (immutable).

Layout under the root the caller gives::

    pages-v2/<aa>/<sha256 of page URL>     a header line (JSON) then the page (the client
                                           stores its parsed form)
    metadata-v1/<aa>/<sha256 of the dist>  a line with the body's sha256, then core metadata
    files-v1/<aa>/<sha256 of the file>     the distribution file itself

Keys are hashes of credential-free URLs or of content, so no key holds a secret. Every write is
a temporary file in the destination folder and `os.replace`, so processes sharing the cache
never see half a file. An entry that cannot be read or whose bytes do not match their hash is
deleted and reported as a miss. Nothing here knows the time: callers pass ``fetched_at`` in and
compare ages themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

__all__ = ["CachedPage", "IndexCache", "page_key"]

_PAGES = "pages-v2"
_METADATA = "metadata-v1"
_FILES = "files-v1"
#: Folders of earlier layouts, removed by `IndexCache.clear`.
_OLD = ("pages-v1", "parsed-v1")
_CHUNK = 1024 * 1024
_SHA256_HEX = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedPage:
    """A project page as last fetched: the body, how to revalidate it, and when it was fetched.

    ``url`` is the credential-free URL the body was finally served from (after redirects).
    """

    url: str
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: float = 0.0


def page_key(url: str) -> str:
    """The cache key of the page at ``url``: sha256 of the URL with user-info removed and the
    scheme and host lower-cased."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2].lower()
    normal = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, ""))
    return hashlib.sha256(normal.encode()).hexdigest()


def _is_sha256(value: str) -> bool:
    return len(value) == _SHA256_HEX and all(c in "0123456789abcdef" for c in value)


class IndexCache:
    """A cache directory; safe to share between threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[Path] = set()  # made (or found) by this object

    # --- pages -----------------------------------------------------------------------------

    def load_page(self, url: str) -> CachedPage | None:
        """The cached page for ``url``, or None (missing, unreadable or corrupted)."""
        path = self._path(_PAGES, page_key(url))
        data = self._read(path)
        if data is None:
            return None
        header_line, _, body = data.partition(b"\n")
        try:
            header = json.loads(header_line)
            page = CachedPage(
                url=str(header["url"]),
                content_type=str(header["content_type"]),
                body=body,
                etag=header.get("etag"),
                last_modified=header.get("last_modified"),
                fetched_at=float(header["fetched_at"]),
            )
            valid = header["sha256"] == hashlib.sha256(body).hexdigest()
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            self._evict(path)
            return None
        return page

    def store_page(self, url: str, page: CachedPage) -> None:
        """Store ``page`` as the entry for ``url`` (replacing any)."""
        header = {
            "url": page.url,
            "content_type": page.content_type,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "fetched_at": page.fetched_at,
            "sha256": hashlib.sha256(page.body).hexdigest(),
        }
        data = json.dumps(header).encode() + b"\n" + page.body
        self._write(self._path(_PAGES, page_key(url)), data)

    # --- metadata ----------------------------------------------------------------------------

    def load_metadata(self, dist_sha256: str) -> bytes | None:
        """Core metadata cached for the distribution file with this sha256, or None."""
        if not _is_sha256(dist_sha256):
            return None
        path = self._path(_METADATA, dist_sha256)
        data = self._read(path)
        if data is None:
            return None
        digest, _, body = data.partition(b"\n")
        if digest.decode("ascii", "replace") != hashlib.sha256(body).hexdigest():
            self._evict(path)
            return None
        return body

    def store_metadata(self, dist_sha256: str, data: bytes) -> None:
        """Cache the core metadata of the distribution file with this sha256."""
        if not _is_sha256(dist_sha256):
            return
        digest = hashlib.sha256(data).hexdigest().encode()
        self._write(self._path(_METADATA, dist_sha256), digest + b"\n" + data)

    # --- distribution files ------------------------------------------------------------------

    def load_file(self, sha256: str) -> Path | None:
        """The cached file whose content has this sha256, verified now; None otherwise."""
        if not _is_sha256(sha256):
            return None
        path = self._path(_FILES, sha256)
        try:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return None
        if digest != sha256:
            self._evict(path)
            return None
        return path

    def store_file(self, sha256: str, source: Path) -> None:
        """Cache a copy of ``source``, whose content the caller has verified to have this
        sha256. A hard link when possible, a copy otherwise."""
        if not _is_sha256(sha256):
            return
        target = self._path(_FILES, sha256)
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

    # --- housekeeping ------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every entry (``pipfence lock --clear``); other files under the root stay."""
        self._folders.clear()
        for name in (_PAGES, _METADATA, _FILES, *_OLD):
            shutil.rmtree(self.root / name, ignore_errors=True)

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _write(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically (a unique temporary name, then a rename)."""
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
            temp.replace(path)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()

    @staticmethod
    def _evict(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
