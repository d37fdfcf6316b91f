"""A threaded loopback HTTP server that replays scripted responses and faults, and records requests.

Routes map an exact path (query string ignored) to a list of behaviours consumed one per request;
the last behaviour then repeats, so `route("/simple/a/", Respond(500), page)` answers 500 once and
`page` ever after. Unrouted paths answer 404. Every request is recorded (method, path, query,
lower-cased headers including Authorization, body). All waits are bounded and stop early when the
server stops; worker threads are daemons, so a forgotten server cannot hold the test run.

    with FaultServer() as server:
        server.route("/x", Respond(500), Respond(200, "ok"))
        httpx.get(server.url("/x"))
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol, Self
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from support.processes import Service

__all__ = [
    "Behaviour",
    "Delay",
    "Endless",
    "FaultServer",
    "Hang",
    "RecordedRequest",
    "Redirect",
    "Reset",
    "Respond",
    "RetryAfter",
    "Trickle",
    "Truncate",
]

_MAX_WAIT = 30.0


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Behaviour(Protocol):
    def serve(self, handler: _Handler) -> None: ...


@dataclass(frozen=True)
class Respond:
    """A complete response; `headers` override the defaults, `reason` the reason phrase (sent
    as latin-1 bytes, whatever it holds)."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"
    reason: str | None = None

    def serve(self, handler: _Handler) -> None:
        data = _as_bytes(self.body)
        handler.start(self.status, self.content_type, len(data), self.headers, reason=self.reason)
        if handler.command != "HEAD":
            handler.send_bytes(data)


@dataclass(frozen=True)
class RetryAfter:
    """A refusal (503 by default) carrying `Retry-After: seconds`."""

    seconds: int | str = 1
    status: int = 503
    body: bytes | str = b"try again later"

    def serve(self, handler: _Handler) -> None:
        Respond(self.status, self.body, {"Retry-After": str(self.seconds)}).serve(handler)


@dataclass(frozen=True)
class Redirect:
    """A redirect to `location` (absolute, or relative to this server)."""

    location: str
    status: int = 302

    def serve(self, handler: _Handler) -> None:
        Respond(self.status, b"", {"Location": self.location}).serve(handler)


@dataclass(frozen=True)
class Truncate:
    """Announce the full Content-Length, send only `sent` bytes, then close cleanly (FIN)."""

    body: bytes | str
    sent: int
    status: int = 200
    content_type: str = "application/octet-stream"

    def serve(self, handler: _Handler) -> None:
        data = _as_bytes(self.body)
        handler.start(self.status, self.content_type, len(data), {})
        handler.send_bytes(data[: self.sent])
        handler.close_connection = True


@dataclass(frozen=True)
class Reset:
    """Announce the full Content-Length, send `sent` bytes, then reset the connection (RST)."""

    body: bytes | str
    sent: int = 0
    status: int = 200
    content_type: str = "application/octet-stream"

    def serve(self, handler: _Handler) -> None:
        data = _as_bytes(self.body)
        handler.start(self.status, self.content_type, len(data), {})
        handler.send_bytes(data[: self.sent])
        handler.reset()


@dataclass(frozen=True)
class Trickle:
    """Send the body one byte every `interval` seconds; give up (close) after `limit` seconds."""

    body: bytes | str
    interval: float = 0.5
    limit: float = 10.0
    status: int = 200
    content_type: str = "application/octet-stream"

    def serve(self, handler: _Handler) -> None:
        data = _as_bytes(self.body)
        deadline = time.monotonic() + min(self.limit, _MAX_WAIT)
        handler.start(self.status, self.content_type, len(data), {})
        for index in range(len(data)):
            if index and handler.wait(min(self.interval, deadline - time.monotonic())):
                break
            if time.monotonic() >= deadline:
                break
            handler.send_bytes(data[index : index + 1])
        else:
            return
        handler.close_connection = True


@dataclass
class Endless:
    """`prefix`, then zeros with no Content-Length (the body ends when the connection closes)
    until the client stops reading or `limit` bytes were sent; `sent` counts what went out."""

    prefix: bytes = b""
    limit: int = 512 * 1024 * 1024
    content_type: str = "application/octet-stream"
    sent: int = 0

    def serve(self, handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        chunk = bytes(256 * 1024)
        data = self.prefix
        try:
            while self.sent < self.limit and not handler.server.owner.stopping.is_set():
                handler.wfile.write(data)
                self.sent += len(data)
                data = chunk
            handler.wfile.flush()
        except OSError:
            return


@dataclass(frozen=True)
class Delay:
    """Wait `seconds` (bounded, ends early when the server stops), then serve `then`."""

    seconds: float
    then: Behaviour

    def serve(self, handler: _Handler) -> None:
        if not handler.wait(min(self.seconds, _MAX_WAIT)):
            self.then.serve(handler)


@dataclass(frozen=True)
class Hang:
    """Read the request and never answer; close after `limit` seconds or when the server stops."""

    limit: float = 10.0

    def serve(self, handler: _Handler) -> None:
        handler.wait(min(self.limit, _MAX_WAIT))
        handler.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: FaultServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = _MAX_WAIT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=split.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.server.owner._next_behaviour(request).serve(self)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def start(
        self,
        status: int,
        content_type: str,
        length: int,
        headers: Mapping[str, str],
        *,
        reason: str | None = None,
    ) -> None:
        self.send_response(status, reason)
        lowered = {k.lower() for k in headers}
        if "content-type" not in lowered:
            self.send_header("Content-Type", content_type)
        if "content-length" not in lowered:
            self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def send_bytes(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the server is stopping."""
        return self.server.owner.stopping.wait(max(seconds, 0.0))

    def reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class FaultServer(Service):
    """Scriptable HTTP server on 127.0.0.1 with a random free port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, list[Behaviour]] = {}
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fault-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("fault server is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def simple_url(self) -> str:
        return f"{self.base_url}/simple/"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else f"/{path}")

    def route(self, path: str, *behaviours: Behaviour) -> None:
        """Answer requests for `path` with `behaviours` in order, repeating the last one."""
        if not behaviours:
            raise ValueError("a route needs at least one behaviour")
        with self._lock:
            self._routes[path] = list(behaviours)

    def add_file(self, filename: str, data: bytes, *, before: Iterable[Behaviour] = ()) -> str:
        """Serve `data` at /files/<filename> (after `before`); return its URL with #sha256=."""
        path = f"/files/{filename}"
        self.route(path, *before, Respond(200, data, content_type="application/octet-stream"))
        return f"{self.url(path)}#sha256={hashlib.sha256(data).hexdigest()}"

    def add_project(
        self,
        name: str,
        files: Iterable[Path] | Mapping[str, bytes],
        *,
        before: Iterable[Behaviour] = (),
        hashes: bool = True,
    ) -> str:
        """Serve a PEP 503 page at /simple/<name>/ linking the files; return the page URL."""
        items = (
            dict(files.items())
            if isinstance(files, Mapping)
            else {Path(p).name: Path(p).read_bytes() for p in files}
        )
        links = []
        for filename, data in items.items():
            href = self.add_file(filename, data)
            if not hashes:
                href = href.split("#", 1)[0]
            links.append(f'<a href="{html.escape(href)}">{html.escape(filename)}</a><br/>')
        project = canonicalize_name(name)
        page = (
            "<!DOCTYPE html>\n<html><head><title>Links for {0}</title></head>"
            "<body><h1>Links for {0}</h1>\n{1}\n</body></html>\n"
        ).format(html.escape(project), "\n".join(links))
        path = f"/simple/{project}/"
        self.route(path, *before, Respond(200, page, content_type="text/html; charset=utf-8"))
        return self.url(path)

    def delay(self, path: str, seconds: float, *, after: int = 0) -> None:
        """Answer `path` as routed now, but `seconds` late, except the first `after` requests."""
        with self._lock:
            queue = self._routes[path]
            last = queue[-1]
            self._routes[path] = [*queue[:-1], *[last] * after, Delay(seconds, last)]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def _next_behaviour(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            self._requests.append(request)
            queue = self._routes.get(request.path)
            if not queue:
                return Respond(404, f"no route for {request.path}\n")
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)
