"""Run a Python module under cProfile in every thread, and print where the time went.

``python -m cProfile`` sees only the main thread; pipfence fetches, hashes and installs in
worker threads. This profiles each thread started by the program with its own profiler and
merges them (a worker's time adds to its functions, so the totals can exceed the wall time).

    python bench/profile_threads.py [-o out.prof] [--top 30] [--cpu] -m pipfence lock -v

Prints the wall time, then the top functions by own time and by cumulative time; ``-o`` keeps
the merged stats for ``python -m pstats`` or snakeviz. By default a thread's time is wall time,
so a worker's waits (for the GIL, a lock, the network) count as time in whatever it was
calling; ``--cpu`` measures each thread's CPU time instead (``time.thread_time``, slower to
read: the totals grow by the profiler's own cost). Only the standard library.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import runpy
import sys
import threading
import time
from typing import Any

_profilers: list[cProfile.Profile] = []
_guard = threading.Lock()
_timer: list[Any] = []  # empty: cProfile's own wall clock


def _profile_this_thread(*_: Any) -> None:
    """Installed by ``threading.setprofile``: swaps itself for a new profiler in each thread."""
    sys.setprofile(None)
    profiler = cProfile.Profile(*_timer)
    with _guard:
        _profilers.append(profiler)
    profiler.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", help="write the merged stats here")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--cpu", action="store_true", help="per-thread CPU time, not wall time")
    parser.add_argument("-m", dest="module", required=True, help="the module to run")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    sys.argv = [args.module, *args.args]
    if args.cpu:
        _timer.append(time.thread_time)
    threading.setprofile(_profile_this_thread)
    main_profiler = cProfile.Profile(*_timer)
    code: object = 0
    start = time.perf_counter()
    main_profiler.enable()
    try:
        runpy.run_module(args.module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    finally:
        main_profiler.disable()
        wall = time.perf_counter() - start
        threading.setprofile(None)
    stats = pstats.Stats(main_profiler)
    with _guard:
        workers = list(_profilers)
    for profiler in workers:
        stats.add(profiler)
    if args.output:
        stats.dump_stats(args.output)
    out = io.StringIO()
    print(f"wall {wall:.2f} s, exit {code}, {len(workers)} worker thread(s) profiled", file=out)
    for order in ("tottime", "cumulative"):
        print(f"\n--- top {args.top} by {order}", file=out)
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(order).print_stats(args.top)
    sys.stderr.write(out.getvalue())
    return code if isinstance(code, int) else (0 if code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
