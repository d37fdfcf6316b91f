"""A static server for a benchmark snapshot: the public index's pages and files, on loopback.

It answers the requests pipfence, uv and pip (under pipenv) send to a PEP 503/691 index, from
a folder written by recording (see ``bench/snapshot.py``)::

    <root>/simple/<name>/page.json        the project's PEP 691 page (JSON)
    <root>/simple/<name>/page.html        the same page as PEP 503 HTML
    <root>/simple/<name>/headers.json     the upstream's caching headers of each form
    <root>/simple/<name>/missing          the upstream index has no such project (404)
    <root>/packages/<path>                distribution files and PEP 658 ``.metadata`` files, at
                                          the path they have on the upstream file host

File URLs in the stored pages start with ``ORIGIN`` (a placeholder); the server puts its own
``http://127.0.0.1:<port>`` there when it serves a page, so a snapshot works on any port.

Behaviour, as the public index has it: ``/simple/`` and ``/simple/<name>/`` answer JSON
(``application/vnd.pypi.simple.v1+json``) or HTML by the ``Accept`` header (or ``?format=``),
``406`` when neither is acceptable; a name that is not normalized, or lacks its trailing slash,
is redirected (301); files answer single byte ranges (206, or 416 when unsatisfiable); nothing
is compressed. Caching headers (``cache_headers``): ``"upstream"`` (default) replays the ones
the upstream index sent with each page when it was recorded (none, from some mirrors), so the
tools cache and revalidate as they do against it; ``"pypi"`` sends what the public index's
own servers send (pages: a strong ``ETag`` and ``Cache-Control: max-age=600, public``; files:
an ``ETag`` and a year-long immutable ``Cache-Control``). ``If-None-Match`` gets a 304 when
an ``ETag`` was sent. HTTP/1.1 with keep-alive and ``TCP_NODELAY``. ``latency`` delays every
answer by that many seconds (in the thread of that connection, so parallel requests overlap).

With a `Recorder` (record mode), whatever is not in the folder yet is fetched from the upstream
index once, stored, and served; without one (replay), it is a 404 counted as a miss.
``GET /_snapshot/stats`` answers ``{"requests": N, "misses": [...], "recorded": N}``.

The module only needs the standard library, plus ``httpx`` in record mode; the benchmark runs
it as ``python bench/snapshot_server.py ROOT [--port P] [--latency-ms MS] [--record]``, which
prints the server's URL on its first line of stdout once it listens.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

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
                    lambda f=form: self.client.get(url, headers={"Accept": f})
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
            return self._retrying(lambda: self._download(path, target))

    def _download(self, path: str, target: Path) -> int:
        with self.client.stream("GET", self.files_origin + path) as response:
            if response.status_code != 200:
                return response.status_code
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


# --------------------------------------------------------------------------- HTTP


class SnapshotServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        snapshot: Snapshot,
        port: int = 0,
        latency: float = 0.0,
        recorder: Recorder | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.snapshot = snapshot
        self.latency = latency
        self.recorder = recorder
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests = 0
        self.misses: list[str] = []
        self.stats_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.origin}/simple/"

    def count(self, miss: str | None = None) -> None:
        with self.stats_lock:
            self.requests += 1
            if miss is not None:
                self.misses.append(miss)

    def stats(self) -> dict[str, Any]:
        with self.stats_lock:
            recorded = self.recorder.recorded if self.recorder else 0
            return {"requests": self.requests, "misses": list(self.misses), "recorded": recorded}


class _Handler(BaseHTTPRequestHandler):
    server: SnapshotServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # an idle keep-alive connection's thread ends after this

    def version_string(self) -> str:
        return "pipfence-bench-snapshot"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # --- plumbing ----------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        send_body: bool = True,
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _plain(self, status: int, text: str, *, send_body: bool) -> None:
        body = f"{status} {text}\n".encode()
        self._send(status, body, {"Content-Type": "text/plain"}, send_body=send_body)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    # --- routing -----------------------------------------------------------------------------

    def _answer(self, *, send_body: bool) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if path == "/_snapshot/stats":
            body = json.dumps(self.server.stats()).encode()
            self._send(200, body, {"Content-Type": "application/json"}, send_body=send_body)
            return
        if self.server.latency > 0:
            time.sleep(self.server.latency)
        try:
            if path == "/simple/" or path.startswith("/simple/"):
                self._simple(path, parts.query, send_body=send_body)
            elif path.startswith("/packages/"):
                self._file(path, send_body=send_body)
            else:
                self.server.count(miss=path)
                self._plain(404, "Not Found", send_body=send_body)
        except Exception as exc:  # noqa: BLE001 - an upstream failure while recording
            self.server.count(miss=f"{path} ({exc.__class__.__name__}: {exc})")
            self._plain(502, f"Bad Gateway: {exc}", send_body=send_body)

    def _form(self, query: str) -> str | None:
        wanted = parse_qs(query).get("format")
        return negotiate(wanted[-1] if wanted else self.headers.get("Accept"))

    def _simple(self, path: str, query: str, *, send_body: bool) -> None:
        rest = path.removeprefix("/simple/")
        name = rest.removesuffix("/")
        if "/" in name:
            self.server.count(miss=path)
            self._plain(404, "Not Found", send_body=send_body)
            return
        if name and (normalize(name) != name or not rest.endswith("/")):
            self.server.count()  # one redirect to the normalized name with its slash
            location = f"/simple/{quote(normalize(name))}/"
            self._send(301, headers={"Location": location}, send_body=send_body)
            return
        form = self._form(query)
        if form is None:
            self.server.count()
            self._plain(406, "Not Acceptable", send_body=send_body)
            return
        if not name:
            self.server.count()
            body = root_page(self.server.snapshot.projects(), form)
            self._send(200, body, {"Content-Type": form}, send_body=send_body)
            return
        snapshot = self.server.snapshot
        if self.server.recorder is not None and not snapshot.has_page(name):
            self.server.recorder.page(name)
        found = snapshot.page(name, form, self.server.origin)
        if found is None:
            missing = (snapshot.page_dir(name) / "missing").is_file()
            self.server.count(miss=None if missing else path)
            self._plain(404, "Not Found", send_body=send_body)
            return
        self.server.count()
        body, cache = found
        headers = {"Content-Type": form, "Vary": "Accept", **cache}
        if _matches(headers, self.headers.get("If-None-Match")):
            self._send(304, headers=headers, send_body=send_body)
            return
        self._send(200, body, headers, send_body=send_body)

    def _file(self, path: str, *, send_body: bool) -> None:
        snapshot = self.server.snapshot
        target = snapshot.file(path)
        if target is None and self.server.recorder is not None:
            self.server.recorder.file(path)
            target = snapshot.file(path)
        if target is None:
            self.server.count(miss=path)
            self._plain(404, "Not Found", send_body=send_body)
            return
        self.server.count()
        stat = target.stat()
        size = stat.st_size
        kind = (
            "application/zip" if target.suffix in {".whl", ".zip"} else "application/octet-stream"
        )
        headers = {"Content-Type": kind, "Accept-Ranges": "bytes"}
        if snapshot.cache_headers == "pypi":
            headers["ETag"] = f'"{stat.st_mtime_ns:x}-{size:x}"'
            headers["Cache-Control"] = FILE_CACHE_CONTROL
        if _matches(headers, self.headers.get("If-None-Match")):
            self._send(304, headers=headers, send_body=send_body)
            return
        span = parse_range(self.headers.get("Range"), size)
        if span == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{size}"
            self._plain_with(416, headers, send_body=send_body)
            return
        status, start, end = 200, 0, size
        if isinstance(span, tuple):
            status, (start, end) = 206, span
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if send_body and end > start:
            with target.open("rb") as handle:
                self.connection.sendfile(handle, start, end - start)

    def _plain_with(self, status: int, headers: dict[str, str], *, send_body: bool) -> None:
        body = f"{status} Range Not Satisfiable\n".encode()
        self._send(status, body, {**headers, "Content-Type": "text/plain"}, send_body=send_body)


def _matches(headers: dict[str, str], if_none_match: str | None) -> bool:
    """Whether a conditional request's ``If-None-Match`` names the ``ETag`` being sent."""
    etag = headers.get("ETag")
    if not etag or not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


# --------------------------------------------------------------------------- entry point


def serve(
    root: Path,
    *,
    port: int = 0,
    latency_ms: float = 0.0,
    record: bool = False,
    cache_headers: str = "upstream",
    upstream: str = DEFAULT_UPSTREAM,
    files_origin: str = DEFAULT_FILES_ORIGIN,
) -> SnapshotServer:
    """A started server (in a daemon thread) for the snapshot at ``root``."""
    snapshot = Snapshot(root, cache_headers)
    recorder = Recorder(snapshot, upstream, files_origin) if record else None
    server = SnapshotServer(snapshot, port, latency_ms / 1000, recorder)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", type=Path, help="the snapshot folder")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer")
    parser.add_argument(
        "--record", action="store_true", help="fetch and store what is missing from upstream"
    )
    parser.add_argument(
        "--cache-headers",
        choices=("upstream", "pypi"),
        default="upstream",
        help="caching headers: as recorded from upstream (default), or the public index's own",
    )
    parser.add_argument("--upstream", default=DEFAULT_UPSTREAM, help="upstream simple index")
    parser.add_argument("--files-origin", default=DEFAULT_FILES_ORIGIN, help="upstream file host")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    server = serve(
        args.root,
        port=args.port,
        latency_ms=args.latency_ms,
        record=args.record,
        cache_headers=args.cache_headers,
        upstream=args.upstream,
        files_origin=args.files_origin,
    )
    print(server.url, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.shutdown()
    server.server_close()
    stats = server.stats()
    print(
        f"{stats['requests']} requests, {len(stats['misses'])} misses, "
        f"{stats['recorded']} recorded",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
