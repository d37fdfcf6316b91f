"""The page worker: a child process that parses project pages and stores them in the cache.

A cold lock of a few hundred projects reads about as many pages, 170 MB of JSON for 300
projects; parsing them, turning them into cache blobs and writing those was a third of the
lock's CPU, most of it holding the interpreter lock that the resolver and the metadata reads
wait for. `pipfence.index.page_workers.PageWorkers` hands that work to these processes
(`COMMAND` run by this interpreter: the module is imported under its own name, so the
answers are pickled as the classes the parent knows), which use the other cores.

The parent and a worker speak in frames: an 8-byte little-endian length, then that many bytes.
The worker's first frame is `READY`. Then each job is two frames from the parent, a pickled
`PageJob` and the page's body, and one frame back, a pickled `PageAnswer`. The pipes are
the two processes' own, and both ends are this module's code. The worker ignores SIGINT and
SIGTERM (a Ctrl-C reaches the whole process group; the parent decides) and ends when its
input does, which is also when the parent exits.

The job holds no credentials: the cache keys by a digest of them (``scope``), made by the
parent.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import IO, Literal

import msgspec

from pipfence.index.cache import CachedPage, IndexCache
from pipfence.index.page_blob import dump_page
from pipfence.index.simple import parse_project_page

__all__ = [
    "COMMAND",
    "READY",
    "PageAnswer",
    "PageJob",
    "page_digest",
    "read_frame",
    "serve",
    "write_frame",
]

READY = b"pipfence-page-worker 1"
#: The interpreter's arguments that run a worker (``-P``: nothing from the working folder).
COMMAND = ("-P", "-c", "from pipfence.index.page_worker import main; main()")
_LENGTH = struct.Struct("<Q")


class PageJob(msgspec.Struct, frozen=True):
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


class PageAnswer(msgspec.Struct, frozen=True):
    """What became of a job: ``stored`` in the cache, the ``blob`` itself (``data``), or
    ``unreadable`` (``text`` says why: the body is no project page); ``failed`` when the
    worker could not do it (the parent then parses the page itself)."""

    outcome: Literal["stored", "blob", "unreadable", "failed"]
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


def do_job(job: PageJob, body: bytes, caches: dict[str, IndexCache]) -> PageAnswer:
    """Parse ``body`` as ``job`` says and store or return its blob."""
    try:
        page = parse_project_page(body, job.content_type, job.final_url, project=job.name)
    except ValueError as exc:
        return PageAnswer("unreadable", text=str(exc))
    blob = dump_page(page)
    if blob is None:
        return PageAnswer("failed")
    if job.cache_root is None:
        return PageAnswer("blob", data=blob)
    cache = caches.get(job.cache_root)
    if cache is None:
        cache = caches[job.cache_root] = IndexCache(Path(job.cache_root))
    sent = job.entry.sent or page_digest(job.content_type, job.final_url, body)
    entry = msgspec.structs.replace(job.entry, body=blob, sent=sent)
    cache.store_page(job.url, entry, job.scope, checked_by_content=True)
    return PageAnswer("stored")


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Answer jobs from ``source`` on ``sink`` until ``source`` ends."""
    caches: dict[str, IndexCache] = {}
    write_frame(sink, READY)
    sink.flush()
    while True:
        head = read_frame(source)
        body = read_frame(source) if head is not None else None
        if head is None or body is None:
            return
        try:
            answer = do_job(pickle.loads(head), body, caches)  # noqa: S301 - our parent's
        except Exception:  # noqa: BLE001 - any surprise: the parent parses this page itself
            answer = PageAnswer("failed")
        write_frame(sink, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        sink.flush()


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    with contextlib.suppress(OSError, ValueError):  # the parent went away
        serve(sys.stdin.buffer, sys.stdout.buffer)
    os._exit(0)  # nothing to tear down: every entry is written and renamed
