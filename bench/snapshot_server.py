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
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

if not __package__:  # run as a file: import the `bench` package from the repository's root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.snapshot_store import (
    DEFAULT_FILES_ORIGIN,
    DEFAULT_UPSTREAM,
    FILE_CACHE_CONTROL,
    Recorder,
    Snapshot,
    negotiate,
    normalize,
    parse_range,
    root_page,
)

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
