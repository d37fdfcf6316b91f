"""The snapshot folder and the rules it is served by: content negotiation, byte ranges, each
page kept in both forms, and recording from the upstream index (bench/snapshot_server.py
serves it over HTTP)."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

T = TypeVar("T")
ORIGIN = "@@SNAPSHOT-ORIGIN@@"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
#: The upstream page headers a recording keeps (``headers.json``) and replays.
KEPT_HEADERS = ("etag", "cache-control", "last-modified", "x-pypi-last-serial")
#: What a page can be served as, in the order preferred when a client accepts several equally.
OFFERS = (JSON_TYPE, HTML_TYPE, TEXT_HTML)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON_TYPE,
    "application/vnd.pypi.simple.latest+html": HTML_TYPE,
}
PAGE_CACHE_CONTROL = "max-age=600, public"
FILE_CACHE_CONTROL = "max-age=365000000, immutable, public"
DEFAULT_UPSTREAM = "https://pypi.org/simple/"
DEFAULT_FILES_ORIGIN = "https://files.pythonhosted.org"
_NAME = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return _NAME.sub("-", name).lower()


# --------------------------------------------------------------------------- pure rules


def negotiate(accept: str | None) -> str | None:
    """The page form to answer an ``Accept`` header with, or None (406).

    Each offer gets the quality of the most specific media range that matches it; the highest
    quality wins, then the most specific match. Among offers matched only by a wildcard (or
    with no header at all) ``text/html`` wins, as on the public index; among offers named
    outright JSON wins, then the versioned HTML.
    """
    if accept is None or not accept.strip():
        return TEXT_HTML
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        ranges.append((_ALIASES.get(media, media), quality))
    best: tuple[float, int, int] | None = None
    chosen = None
    for order, offer in enumerate(OFFERS):
        kind = offer.split("/", 1)[0]
        matches = [
            (specificity, quality)
            for media, quality in ranges
            for specificity in (
                2 if media == offer else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1,
            )
            if specificity >= 0
        ]
        if not matches:
            continue
        specificity, quality = max(matches)
        if quality <= 0:
            continue
        # a tie goes to the first offer, except that text/html wins a tie of wildcards
        wildcard_html = specificity < 2 and offer == TEXT_HTML
        rank = (quality, specificity, len(OFFERS) if wildcard_html else -order)
        if best is None or rank > best:
            best, chosen = rank, offer
    return chosen


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The byte span ``[start, end)`` a ``Range`` header asks of a file of ``size`` bytes.

    None: serve the whole file (no header, or one that is not a single valid ``bytes=``
    range); ``"unsatisfiable"``: answer 416.
    """
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # several ranges, or another unit: the whole file, as servers may do
    first, dash, last = (p.strip() for p in spec.partition("-"))
    if not dash:
        return None
    try:
        if not first:  # a suffix: the last N bytes
            count = int(last)
            if count <= 0:
                return "unsatisfiable"
            return (max(0, size - count), size)
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start < 0 or (last and end <= start):
        return None  # not a valid range: ignored, as RFC 9110 lets a server do
    if start >= size:
        return "unsatisfiable"
    return (start, min(end, size))


def root_page(names: list[str], form: str) -> bytes:
    """The ``/simple/`` listing of the projects in the snapshot, in the form negotiated."""
    if form == JSON_TYPE:
        data = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
        return json.dumps(data).encode()
    links = "".join(f'<a href="/simple/{quote(n)}/">{html.escape(n)}</a>\n' for n in names)
    return (
        '<!DOCTYPE html>\n<html>\n<head><meta name="pypi:repository-version" content="1.1">'
        f"<title>Simple index</title></head>\n<body>\n{links}</body>\n</html>\n"
    ).encode()


# --------------------------------------------------------------------------- the folder


class Snapshot:
    """A snapshot folder: stored pages (served with this server's origin) and files."""

    def __init__(self, root: Path, cache_headers: str = "upstream") -> None:
        self.root = root.resolve()
        self.cache_headers = cache_headers
        self._pages: dict[tuple[str, str], tuple[bytes, dict[str, str]] | None] = {}
        self._lock = threading.Lock()

    def page_dir(self, name: str) -> Path:
        return self.root / "simple" / name

    def has_page(self, name: str) -> bool:
        folder = self.page_dir(name)
        return (folder / "page.json").is_file() or (folder / "missing").is_file()

    def projects(self) -> list[str]:
        simple = self.root / "simple"
        if not simple.is_dir():
            return []
        return sorted(p.name for p in simple.iterdir() if (p / "page.json").is_file())

    def page(self, name: str, form: str, origin: str) -> tuple[bytes, dict[str, str]] | None:
        """(body, caching headers) of a stored page with ``origin`` in its file URLs; None: no
        such project."""
        key = (name, form)
        with self._lock:
            if key in self._pages:
                return self._pages[key]
        path = self.page_dir(name) / ("page.json" if form == JSON_TYPE else "page.html")
        try:
            body = path.read_bytes().replace(ORIGIN.encode(), origin.encode())
        except FileNotFoundError:
            found = None
        else:
            found = (body, self._page_headers(name, form, body))
        with self._lock:
            self._pages[key] = found
        return found

    def _page_headers(self, name: str, form: str, body: bytes) -> dict[str, str]:
        if self.cache_headers == "pypi":
            digest = hashlib.sha256(body).hexdigest()[:32]
            return {"ETag": f'"{digest}"', "Cache-Control": PAGE_CACHE_CONTROL}
        try:
            stored = json.loads((self.page_dir(name) / "headers.json").read_text())
        except (OSError, ValueError):
            return {}
        kept = stored.get("json" if form == JSON_TYPE else "html", {})
        return {key.title().replace("Etag", "ETag"): str(value) for key, value in kept.items()}

    def file(self, path: str) -> Path | None:
        """The stored file at URL path ``/packages/...``, or None."""
        candidate = (self.root / path.lstrip("/")).resolve()
        packages = self.root / "packages"
        if packages not in candidate.parents:
            return None
        return candidate if candidate.is_file() else None


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Recorder:
    """Record mode: fetches what the snapshot lacks from the upstream index, once, and stores it.

    Pages are stored in both forms (JSON and HTML) whichever form was asked, with the file
    host's origin replaced by ``ORIGIN``; files (and ``.metadata`` files) whole, under their
    upstream path. Concurrent requests for the same thing wait for one fetch. Each server
    thread has its own upstream client.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        upstream: str = DEFAULT_UPSTREAM,
        files_origin: str = DEFAULT_FILES_ORIGIN,
    ) -> None:
        self.snapshot = snapshot
        self.upstream = upstream.rstrip("/") + "/"
        self.files_origin = files_origin.rstrip("/")
        self._local = threading.local()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.recorded = 0

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @property
    def client(self) -> Any:
        """This thread's httpx client: one shared by the server's threads has been seen to mix
        up two threads' reads of one TLS connection."""
        client = getattr(self._local, "client", None)
        if client is None:
            import httpx

            client = httpx.Client(
                timeout=httpx.Timeout(120.0, connect=30.0),
                headers={"Accept-Encoding": "identity", "User-Agent": "pipfence-bench-snapshot"},
                follow_redirects=True,
            )
            self._local.client = client
        return client

    def _recorded(self) -> None:
        with self._guard:
            self.recorded += 1

    def _rewrite(self, body: bytes) -> bytes:
        return body.replace(self.files_origin.encode(), ORIGIN.encode())

    def page(self, name: str) -> None:
        """Store both forms of the project's page (or a ``missing`` marker) unless stored."""
        with self._lock_for(f"page:{name}"):
            if self.snapshot.has_page(name):
                return
            folder = self.snapshot.page_dir(name)
            url = f"{self.upstream}{name}/"
            bodies, headers = {}, {}
            for form, key in ((JSON_TYPE, "json"), (HTML_TYPE, "html")):
                response = self._retrying(
                    functools.partial(self.client.get, url, headers={"Accept": form})
                )
                if response.status_code == 404:
                    write_atomic(folder / "missing", b"")
                    self._recorded()
                    return
                response.raise_for_status()
                bodies[key] = self._rewrite(response.content)
                headers[key] = {
                    h: response.headers[h] for h in KEPT_HEADERS if h in response.headers
                }
            write_atomic(folder / "headers.json", json.dumps(headers, indent=1).encode())
            write_atomic(folder / "page.html", bodies["html"])
            write_atomic(folder / "page.json", bodies["json"])  # last: marks it complete
            self._recorded()

    def file(self, path: str) -> int:
        """Store the upstream file at URL path ``path``; its upstream status (200 when stored)."""
        with self._lock_for(f"file:{path}"):
            if self.snapshot.file(path) is not None:
                return 200
            target = (self.snapshot.root / path.lstrip("/")).resolve()
            if self.snapshot.root / "packages" not in target.parents:
                return 404
            target.parent.mkdir(parents=True, exist_ok=True)
            return self._retrying(functools.partial(self._download, path, target))

    def _download(self, path: str, target: Path) -> int:
        with self.client.stream("GET", self.files_origin + path) as response:
            if response.status_code != 200:
                return int(response.status_code)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
                Path(tmp).replace(target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        self._recorded()
        return 200

    @staticmethod
    def _retrying(fetch: Callable[[], T]) -> T:
        """``fetch()``, tried again (up to 4 times in all) after a transport error."""
        import httpx

        for attempt in range(4):
            try:
                return fetch()
            except httpx.TransportError:
                if attempt == 3:
                    raise
                time.sleep(0.5 * 2**attempt)
        raise AssertionError  # not reached
