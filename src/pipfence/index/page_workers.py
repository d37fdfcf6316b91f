"""Project pages fetched, parsed and stored by worker processes (`PageWorkers`); see
`pipfence.index.page_worker`, the worker itself, for why and how they talk."""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import subprocess
import sys
import threading

from pipfence._children import end_child
from pipfence.index.page_worker import (
    COMMAND,
    READY,
    FetchJob,
    PageAnswer,
    PageJob,
    read_frame,
    write_frame,
)

__all__ = ["PageWorkers", "default_page_workers"]

#: At most this many workers: beyond it, the parent's own share of a lock (requests,
#: metadata, the resolution) is what the lock waits for.
_MOST = 2
#: Pages are parsed in-process until their bodies add up to this many bytes: a lock of a few
#: projects is over before a worker would have started (0.1 s of imports).
START_AFTER = 4 * 1024 * 1024


def default_page_workers() -> int:
    """As many workers as there are cores beyond the first, at most `_MOST`; 0 on one core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(0, min(_MOST, cores - 1))


class _Pending:
    """A job sent to a worker, waiting for its answer (None: the worker ended first)."""

    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: PageAnswer | None = None


class _Worker:
    """One running worker process: jobs go out on its input under a lock, answers come back
    on its output, read by a thread of ours that hands each to the job waiting for it."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._numbers = itertools.count()
        self._pending: dict[int, _Pending] = {}
        self.alive = True
        threading.Thread(target=self._read, name="pipfence-page-answers", daemon=True).start()

    @property
    def load(self) -> int:
        return len(self._pending)

    def ask(self, job: PageJob | FetchJob, body: bytes) -> PageAnswer | None:
        """The worker's answer to ``job``; None when it ended before answering."""
        pending = _Pending()
        with self._lock:
            if not self.alive:
                return None
            number = next(self._numbers)
            self._pending[number] = pending
        head = pickle.dumps((number, job), protocol=pickle.HIGHEST_PROTOCOL)
        stream = self.process.stdin
        if stream is None:
            self._end()
            return None
        try:
            with self._writing:
                write_frame(stream, head)
                write_frame(stream, body)
                stream.flush()
        except (OSError, ValueError):
            self._end()
        pending.done.wait()
        return pending.answer

    def _read(self) -> None:
        stream = self.process.stdout
        with contextlib.suppress(Exception):  # whatever broke, the jobs waiting fall back
            while stream is not None and (frame := read_frame(stream)) is not None:
                number, answer = pickle.loads(frame)  # noqa: S301 - our child's
                with self._lock:
                    pending = self._pending.pop(number, None)
                if pending is not None:
                    pending.answer = answer if isinstance(answer, PageAnswer) else None
                    pending.done.set()
        self._end()

    def _end(self) -> None:
        """No more answers: every job still waiting gets None."""
        with self._lock:
            self.alive = False
            waiting, self._pending = list(self._pending.values()), {}
        for pending in waiting:
            pending.done.set()


class PageWorkers:
    """Up to ``count`` worker processes, started once pages of `START_AFTER` bytes (or
    ``start_after``) were offered, all ended by `close`.

    `parse` gives a page to the least busy worker and waits for its answer; `fetch` gives it
    a request to send first. Both answer None, and the caller does the work itself, while no
    worker has started yet or is running: a worker that cannot start, or dies, only means the
    parent does the work, as it always could.
    """

    _TIMEOUT = 10.0

    def __init__(self, count: int, *, start_after: int | None = None) -> None:
        self._count = count
        self._start_after = START_AFTER if start_after is None else start_after
        self._offered = 0
        self._started = False
        self._closed = False
        self._lock = threading.Lock()
        self._running: list[_Worker] = []  # said they are ready, not known to have ended
        self._all: list[subprocess.Popen[bytes]] = []

    def parse(self, job: PageJob, body: bytes) -> PageAnswer | None:
        """The answer of a worker to ``job`` on ``body``, or None: parse it yourself."""
        self.offer(len(body))
        return self._ask(job, body)

    def fetch(self, job: FetchJob) -> PageAnswer | None:
        """The answer of a worker that fetched ``job``'s page, or None (no worker running, or
        it ended): send the request yourself."""
        return self._ask(job, b"")

    @property
    def running(self) -> bool:
        """Whether a worker is running now (`fetch` may be used)."""
        with self._lock:
            return any(worker.alive for worker in self._running)

    def offer(self, size: int) -> None:
        """Count ``size`` more bytes of pages; start the workers once they reach the bound."""
        with self._lock:
            if self._closed or self._count <= 0:
                return
            self._offered += size
            if self._started or self._offered < self._start_after:
                return
            self._started = True
        for _ in range(self._count):
            threading.Thread(target=self._start, name="pipfence-page-start", daemon=True).start()

    def _ask(self, job: PageJob | FetchJob, body: bytes) -> PageAnswer | None:
        worker = self._least_busy()
        if worker is None:
            return None
        answer = worker.ask(job, body)
        if answer is None:
            self._drop(worker)
        return answer

    def _least_busy(self) -> _Worker | None:
        """The running worker with the fewest jobs waiting; the ones that ended are let go."""
        with self._lock:
            if self._closed:
                return None
            ended = [worker for worker in self._running if not worker.alive]
            alive = [worker for worker in self._running if worker.alive]
        for worker in ended:
            self._drop(worker)
        return min(alive, key=lambda worker: worker.load, default=None)

    def _start(self) -> None:
        """Start one worker and count it as running once it said it is ready."""
        try:
            process = subprocess.Popen(  # this interpreter, pipfence's own module
                [sys.executable, *COMMAND],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._all.append(process)
        if closed:
            end_child(process, 0.0)
            return
        if process.stdout is None or read_frame(process.stdout) != READY:
            self._forget(process)
            return
        worker = _Worker(process)
        with self._lock:
            if not self._closed:
                self._running.append(worker)
                return
        self._forget(process)

    def _drop(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._running:
                self._running.remove(worker)
        self._forget(worker.process)

    def _forget(self, process: subprocess.Popen[bytes]) -> None:
        end_child(process, 0.0)
        with self._lock:
            if process in self._all:
                self._all.remove(process)

    def close(self) -> None:
        """End every worker (each ends when its input does; one that does not is killed)."""
        with self._lock:
            self._closed = True
            processes, self._all, self._running = self._all, [], []
        for process in processes:
            end_child(process, self._TIMEOUT)
