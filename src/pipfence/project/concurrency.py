"""Thread pools for network and disk work that let go at once when the command is stopped."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

__all__ = ["worker_pool"]


@contextlib.contextmanager
def worker_pool(prefix: str, workers: int) -> Iterator[ThreadPoolExecutor]:
    """A pool that, when its block ends normally, waits for its work; when the block is left
    by an exception (Ctrl-C included), cancels queued work and does not wait for requests in
    flight, so an interrupted command stops now rather than when a slow server gives up."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
