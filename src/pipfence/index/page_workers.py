"""Project pages parsed and stored by worker processes (`PageWorkers`); see
`pipfence.index.page_worker`, the worker itself, for why and how they talk."""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading

from pipfence._children import end_child
from pipfence.index.page_worker import COMMAND, READY, PageAnswer, PageJob, read_frame, write_frame

__all__ = ["PageWorkers", "default_page_workers"]

#: At most this many workers: beyond it, the parent's own share of a lock (requests,
#: metadata, the resolution) is what the lock waits for.
_MOST = 2
#: Pages are parsed in-process until their bodies add up to this many bytes: a lock of a few
#: projects is over before a worker would have started (0.1 s of imports).
START_AFTER = 4 * 1024 * 1024


def default_page_workers() -> int:
    """As many workers as there are cores, at most `_MOST`; 0 on one core.

    Two on two cores, though the parent keeps one busy: a page the resolver waits for
    otherwise queues behind a big one the single worker is parsing (a 300-project cold lock,
    medians of 10 alternating runs: 2.36 s with one worker, 2.26 s with two)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(_MOST, cores)  # noqa: PLR2004 - one core: none


class PageWorkers:
    """Up to ``count`` worker processes, started once pages of `START_AFTER` bytes (or
    ``start_after``) were offered, all ended by `close`.

    `parse` gives a job to an idle worker and waits for its answer. It answers None, and the
    caller parses the page itself, while no worker has started yet or is running: a worker
    that cannot start, or dies, only means the parent does the work, as it always could.
    """

    _TIMEOUT = 10.0

    def __init__(self, count: int, *, start_after: int | None = None) -> None:
        self._count = count
        self._start_after = START_AFTER if start_after is None else start_after
        self._offered = 0
        self._started = False
        self._closed = False
        self._running = 0  # workers that said they are ready and have not gone since
        self._lock = threading.Lock()
        self._idle: queue.SimpleQueue[subprocess.Popen[bytes]] = queue.SimpleQueue()
        self._all: list[subprocess.Popen[bytes]] = []

    def parse(self, job: PageJob, body: bytes) -> PageAnswer | None:
        """The answer of a worker to ``job`` on ``body``, or None: parse it yourself."""
        if not self._ready(len(body)):
            return None
        process = self._take()
        if process is None:
            return None
        answer = _ask(process, job, body)
        if answer is None:
            self._drop(process)
            return None
        self._idle.put(process)
        return answer

    def _ready(self, size: int) -> bool:
        """Whether a worker may be running; starts them when the offered bytes say so."""
        with self._lock:
            if self._closed or self._count <= 0:
                return False
            self._offered += size
            if not self._started and self._offered >= self._start_after:
                self._started = True
                for _ in range(self._count):
                    threading.Thread(
                        target=self._start, name="pipfence-page-start", daemon=True
                    ).start()
            return self._running > 0  # none yet: the first pages are parsed in-process

    def _take(self) -> subprocess.Popen[bytes] | None:
        """An idle worker; None when none runs (any more)."""
        while True:
            try:
                return self._idle.get(timeout=0.2)
            except queue.Empty:
                with self._lock:
                    if self._closed or self._running <= 0:
                        return None

    def _start(self) -> None:
        """Start one worker and make it idle once it said it is ready."""
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
            self._drop(process, was_running=False)
            return
        with self._lock:
            self._running += 1
        self._idle.put(process)

    def _drop(self, process: subprocess.Popen[bytes], *, was_running: bool = True) -> None:
        end_child(process, 0.0)
        with self._lock:
            self._running -= was_running
            if process in self._all:
                self._all.remove(process)

    def close(self) -> None:
        """End every worker (each ends when its input does; one that does not is killed)."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for process in workers:
            end_child(process, self._TIMEOUT)


def _ask(process: subprocess.Popen[bytes], job: PageJob, body: bytes) -> PageAnswer | None:
    """``process``'s answer to one job; None when it did not answer (it ended)."""
    if process.stdin is None or process.stdout is None:
        return None
    try:
        write_frame(process.stdin, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        write_frame(process.stdin, body)
        process.stdin.flush()
        frame = read_frame(process.stdout)
        answer = pickle.loads(frame) if frame is not None else None  # noqa: S301 - our child's
    except Exception:  # noqa: BLE001 - whatever went wrong, the parent parses the page
        return None
    return answer if isinstance(answer, PageAnswer) else None
