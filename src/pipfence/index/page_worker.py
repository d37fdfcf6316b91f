"""The page worker: a child process that fetches, parses and stores project pages.

A cold lock of a few hundred projects reads about as many pages, 170 MB of JSON for 300
projects; receiving them, parsing them, turning them into cache blobs and writing those was
about half of the lock's CPU, most of it holding the interpreter lock that the resolver and
the metadata reads wait for. `pipfence.index.page_workers.PageWorkers` hands that work to
these processes (`COMMAND` run by this interpreter: the module is imported under its own
name, so the answers are pickled as the classes the parent knows), which use the other cores.

Two kinds of job: a `PageJob` is a page the parent received, to parse and store; a `FetchJob`
is a page to fetch first, with the one request the parent would have sent (its URL, headers
and `Channel`: proxy and TLS), over the worker's own libcurl transport. The worker sends that
request once, follows no redirect and retries nothing: any answer but 200 or 404, a transfer
that fails, a body over the limit, is `declined`, and the parent sends the request itself, so
retries, back-off and every message stay `pipfence.index.http.Http`'s.

The parent and a worker speak in frames: an 8-byte little-endian length, then that many bytes.
The worker's first frame is `READY`. Then each job is two frames from the parent, a pickled
``(number, job)`` and the page's body (empty for a fetch), and one frame back, a pickled
``(number, answer)``, the `PageAnswer`. Jobs run side by side (`_THREADS` at a time, at most
`_PARSES` of them parsing) and answers come back as they are done, so the numbers pair them.
The pipes are the two processes' own, and both ends are this module's code. The worker ignores
SIGINT and SIGTERM (a Ctrl-C reaches the whole process group; the parent decides) and ends when
its input does, which is also when the parent exits.

A fetch job carries the request's ``Authorization`` header and the proxy URL, which may hold
credentials: they travel on the pipe only (never a command line), and the worker writes them
nowhere. The cache keys entries by a digest of the credentials (``scope``), made by the parent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import signal
import struct
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from pipfence.index.cache import CachedPage, IndexCache
from pipfence.index.http.settings import ClientSettings
from pipfence.index.http.transport import (
    Channel,
    SlowBody,
    TransportError,
    Truncated,
    check_complete,
    content_length,
    paced,
)
from pipfence.index.page_blob import dump_page

if TYPE_CHECKING:
    from pipfence.index.http.transport import Response, Transport

__all__ = [
    "COMMAND",
    "READY",
    "FetchJob",
    "PageAnswer",
    "PageJob",
    "page_digest",
    "read_frame",
    "serve",
    "write_frame",
]

READY = b"pipfence-page-worker 2"
#: The interpreter's arguments that run a worker (``-P``: nothing from the working folder).
COMMAND = ("-P", "-c", "from pipfence.index.page_worker import main; main()")
_LENGTH = struct.Struct("<Q")
#: Jobs a worker runs at once. Fetches wait on the network, so several should be under way
#: (with 30 ms added to every answer, 4 made a stress lock about 15 % slower than 8); each
#: holds its body in memory until it is parsed (with 12, a stress lock's worker peaked at
#: 133-147 MiB; with 8, at 107-122 MiB).
_THREADS = 8
#: Of those, how many parse at once: parsing holds the interpreter lock, so more would only
#: hold more decoded pages in memory.
_PARSES = 2


@dataclass(frozen=True, slots=True)
class PageJob:
    """One page to parse (see `pipfence.index.client.IndexClient.project_page`).

    ``content_type`` and ``final_url`` are the answer's; ``name`` is the project asked for.
    With ``cache_root``, the parsed page is stored there as ``entry`` (its body replaced by the
    blob, and its ``sent`` digest, when the parent left it out, the one `page_digest` gives
    for this answer) under ``url`` and ``scope``; without it, the blob comes back.
    """

    content_type: str
    final_url: str
    name: str
    cache_root: str | None
    url: str
    scope: str | None
    entry: CachedPage


@dataclass(frozen=True, slots=True)
class FetchJob:
    """A page for the worker to fetch, then parse and store as ``page`` says.

    The request is a GET of ``page.url`` with ``headers`` (credentials included) through
    ``channel``; ``settings`` gives the transport's timeouts, connection cap, HTTP version and
    user agent (nothing else of it is used); ``limit`` is the largest body taken. The answer's
    content type, URL, ``ETag`` and ``Last-Modified`` fill in ``page`` and its entry.
    """

    page: PageJob
    headers: tuple[tuple[str, str], ...] = dataclasses.field(repr=False)
    channel: Channel
    settings: ClientSettings
    limit: int


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """What became of a job: ``stored`` in the cache, the ``blob`` itself (``data``), or
    ``unreadable`` (``text`` says why: the body is no project page); ``failed`` when the
    worker could not do it (the parent then parses the page itself). For a fetch, also
    ``absent`` (the index answered 404) and ``declined``: the worker got no page it may use,
    and the parent sends the request itself."""

    outcome: Literal["stored", "blob", "unreadable", "failed", "absent", "declined"]
    text: str = ""
    data: bytes = b""


def page_digest(content_type: str, final_url: str, body: bytes) -> str:
    """A digest of a page answer as parsing sees it: its content type, the URL it came from
    (relative file URLs resolve against it) and its body. A cache entry keeps it, so that an
    index that sends the very same page again (no 304) costs no second parse."""
    digest = hashlib.sha256()
    digest.update(content_type.encode("utf-8", "replace"))
    digest.update(b"\0" + final_url.encode("utf-8", "replace") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None when the stream ended (before or inside one)."""
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    return data if len(data) == length else None


class _Worker:
    """What a worker keeps between jobs: its caches by root, its transports by settings, and
    the bound on parses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._caches: dict[str, IndexCache] = {}
        self._transports: dict[tuple[object, ...], Transport] = {}
        self._parsing = threading.BoundedSemaphore(_PARSES)
        self.closed = False

    def run(self, job: PageJob | FetchJob, body: bytes) -> PageAnswer:
        if isinstance(job, FetchJob):
            return self.fetch(job)
        return self.page(job, body)

    def page(self, job: PageJob, body: bytes) -> PageAnswer:
        """Parse ``body`` as ``job`` says and store or return its blob."""
        from pipfence.index.simple import parse_project_page

        with self._parsing:
            try:
                page = parse_project_page(body, job.content_type, job.final_url, project=job.name)
            except ValueError as exc:
                return PageAnswer("unreadable", text=str(exc))
            blob = dump_page(page)
            del page
        if blob is None:
            return PageAnswer("failed")
        if job.cache_root is None:
            return PageAnswer("blob", data=blob)
        with self._lock:
            cache = self._caches.get(job.cache_root)
            if cache is None:
                cache = self._caches[job.cache_root] = IndexCache(Path(job.cache_root))
        sent = job.entry.sent or page_digest(job.content_type, job.final_url, body)
        entry = dataclasses.replace(job.entry, body=blob, sent=sent)
        cache.store_page(job.url, entry, job.scope, checked_by_content=True)
        return PageAnswer("stored")

    def fetch(self, job: FetchJob) -> PageAnswer:
        """Send ``job``'s request once; parse and store the page it brings."""
        url = job.page.url
        try:
            response = self._transport(job.settings).open(url, dict(job.headers), job.channel)
        except (TransportError, ImportError, OSError):
            return PageAnswer("declined")
        try:
            if response.status_code == 404:  # noqa: PLR2004
                return PageAnswer("absent")
            if response.status_code != 200:  # noqa: PLR2004
                return PageAnswer("declined")
            body = _body(response, job.limit, job.settings.read_timeout * 3)
        except (TransportError, SlowBody, Truncated):
            return PageAnswer("declined")
        finally:
            response.close()
        if body is None:
            return PageAnswer("declined")
        headers = response.headers
        entry = dataclasses.replace(
            job.page.entry,
            url=url,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )
        page = dataclasses.replace(
            job.page, content_type=headers.get("content-type") or "", final_url=url, entry=entry
        )
        answer = self.page(page, body)
        return PageAnswer("declined") if answer.outcome == "failed" else answer

    def _transport(self, settings: ClientSettings) -> Transport:
        key = (
            settings.connect_timeout,
            settings.read_timeout,
            settings.max_connections,
            settings.http2,
            settings.user_agent,
        )
        with self._lock:
            transport = self._transports.get(key)
            if transport is None:
                if self.closed:
                    raise OSError("the worker is ending")
                from pipfence.index.http.curl import CurlTransport

                transport = self._transports[key] = CurlTransport(settings)
            return transport

    def close(self) -> None:
        """Close the transports: a fetch under way fails (and is declined)."""
        with self._lock:
            self.closed = True
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()


def _body(response: Response, limit: int, grace: float) -> bytes | None:
    """The whole body as `Http.read_body` reads it; None when it is over ``limit`` bytes."""
    declared = content_length(response)
    if declared is not None and declared > limit and "content-encoding" not in response.headers:
        return None
    chunks: list[bytes] = []
    total = 0
    for chunk in paced(response.iter_bytes(), grace):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    check_complete(response, total)
    return b"".join(chunks)


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Answer jobs from ``source`` on ``sink`` until ``source`` ends; then close the
    transports and wait for the jobs under way (their answers go nowhere)."""
    worker = _Worker()
    writing = threading.Lock()

    def answer(number: int, job: PageJob | FetchJob, body: bytes) -> None:
        try:
            result = worker.run(job, body)
        except Exception:  # noqa: BLE001 - any surprise: the parent does this job itself
            result = PageAnswer("failed")
        frame = pickle.dumps((number, result), protocol=pickle.HIGHEST_PROTOCOL)
        with writing, contextlib.suppress(OSError, ValueError):  # the parent went away
            write_frame(sink, frame)
            sink.flush()

    write_frame(sink, READY)
    sink.flush()
    with ThreadPoolExecutor(_THREADS, thread_name_prefix="pipfence-page-job") as pool:
        try:
            while True:
                head = read_frame(source)
                body = read_frame(source) if head is not None else None
                if head is None or body is None:
                    return
                number, job = pickle.loads(head)  # noqa: S301 - our parent's
                pool.submit(answer, number, job, body)
        finally:
            worker.close()
            pool.shutdown(wait=True, cancel_futures=True)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    with contextlib.suppress(OSError, ValueError):  # the parent went away
        serve(sys.stdin.buffer, sys.stdout.buffer)
    os._exit(0)  # nothing to tear down: every entry is written and renamed
