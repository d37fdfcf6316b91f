"""The benchmark's command line (``bench/run.py``, ``make bench``)."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from bench import snapshot
from bench.operations import OPS, STARTUP_INNER, TOOLS, Bench, bench_startup, bench_workload
from bench.report import write_results
from bench.tools import pipfence_sync_flags, precompile_pipfence, prepare_tools
from bench.workload import WORKLOADS, resolve_workloads


def split_list(values: list[str]) -> list[str]:
    """``a,b c`` -> ``[a, b, c]``: lists may be comma- or space-separated, or both."""
    items = [item.strip() for value in values for item in value.split(",")]
    return list(dict.fromkeys(item for item in items if item))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark pipfence side by side with pipenv and uv, reported as ratios."
    )
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=list(WORKLOADS),
        metavar="NAME",
        help=(
            f"workload names or folders (default: {' '.join(WORKLOADS)}); a name is looked up in "
            "bench/workloads/, then in $BENCH_WORKLOADS or ../shared/bench-workloads"
        ),
    )
    parser.add_argument(
        "--tools",
        nargs="+",
        default=list(TOOLS),
        metavar="TOOL",
        help=f"tools to time (default: {' '.join(TOOLS)})",
    )
    parser.add_argument(
        "--ops", nargs="+", default=list(OPS), metavar="OP", help=f"default: {' '.join(OPS)}"
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions (medians are reported)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds allowed per command; past it the command is killed and counts as failed",
    )
    parser.add_argument("--refresh-tools", action="store_true", help="upgrade pipenv/uv first")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument(
        "--index",
        choices=("pypi", "snapshot"),
        default="pypi",
        help=(
            "pypi (default): the public index; snapshot: a local copy of what each workload "
            "needs, recorded once (bench/snapshot.py) and served on loopback"
        ),
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="with --index snapshot: delay of every answer of the snapshot server (default 0)",
    )
    parser.add_argument(
        "--cache-headers",
        choices=("upstream", "pypi"),
        default="upstream",
        help=(
            "with --index snapshot: the caching headers of the snapshot's pages, as recorded "
            "from the upstream index (default) or the public index's own (ETag, max-age=600)"
        ),
    )
    parser.add_argument(
        "--snapshot-dir",
        type=Path,
        default=None,
        help="parent folder of the snapshots (default $BENCH_SNAPSHOT_DIR or "
        "~/.cache/pipfence-bench/snapshot)",
    )
    args = parser.parse_args(argv)
    if args.index != "snapshot" and (
        args.latency_ms or args.snapshot_dir or args.cache_headers != "upstream"
    ):
        parser.error("--latency-ms, --cache-headers and --snapshot-dir go with --index snapshot")
    args.workloads = split_list(args.workloads)
    args.ops = split_list(args.ops)
    args.tools = split_list(args.tools)
    if unknown := sorted(set(args.ops) - set(OPS)):
        parser.error(f"unknown --ops: {', '.join(unknown)} (known: {', '.join(OPS)})")
    if unknown := sorted(set(args.tools) - set(TOOLS)):
        parser.error(f"unknown --tools: {', '.join(unknown)} (known: {', '.join(TOOLS)})")
    if not args.workloads or not args.ops or not args.tools:
        parser.error("--workloads, --ops and --tools each need at least one value")
    args.tools = [tool for tool in TOOLS if tool in args.tools]  # fixed column order
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workloads = resolve_workloads(args.workloads)
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    toolbox = prepare_tools(args.refresh_tools, args.tools)
    tmp = Path(tempfile.mkdtemp(prefix="pipfence-bench-"))
    wants_sync = "sync" in args.ops and "pipfence" in args.tools
    sync_flags = pipfence_sync_flags(toolbox) if wants_sync else None
    if "sync" in args.ops and "pipfence" not in args.tools:
        sync_flags = []  # nothing to probe: pipfence is not timed
    bench = Bench(toolbox, tuple(args.tools), args.runs, args.timeout, tmp, sync_flags)
    bench.index, bench.latency_ms = args.index, args.latency_ms
    bench.cache_headers = args.cache_headers
    bench.snapshot_base = args.snapshot_dir or snapshot.default_base()
    print(
        f"workloads: {', '.join(str(w) for w in workloads)}; tools: {', '.join(args.tools)}; "
        f"ops: {', '.join(args.ops)}; {args.runs} run(s); index: {args.index}",
        file=sys.stderr,
    )
    if args.index == "snapshot":
        bench.notes.append(
            f"index: the local snapshot ({bench.snapshot_base}/<workload>), served on loopback "
            f"over HTTP/1.1 with {args.latency_ms:g} ms added per request and "
            f"{args.cache_headers} caching headers; all tools got the same bytes."
        )
    else:
        bench.notes.append("index: the public index (network latency included).")
    if "pipfence" in args.tools:
        bench.notes.append(precompile_pipfence(toolbox))
    bench.notes += [
        (
            "uv cannot read Pipfiles: it compiles requirements.in + requirements-dev.in (the same "
            "dependencies, both categories together) with --python-version 3.11 --generate-hashes; "
            "pipfence and pipenv lock both Pipfile categories."
        ),
        (
            "ratios: pipfence/uv > 1 means pipfence is slower than uv; pipenv/pipfence > 1 means "
            "pipfence is faster than pipenv."
        ),
        (
            "packages: distinct names in pipfence's Pipfile.lock (default + develop); in brackets "
            "another tool's count when pipfence's lock failed."
        ),
    ]
    if "lock-stale" in args.ops:
        bench.notes.append(
            "lock-stale: pipfence locks again with PIPFENCE_PAGE_MAX_AGE=1, 1.2 s after its last "
            "lock, so every cached page is past its age and asked again; uv and pipenv cannot be "
            "told that, and run their warm lock (which asks again for pages without caching "
            "headers, and may not for pages with max-age)."
        )
    if "startup" in args.ops:
        bench.notes.append(f"startup: {STARTUP_INNER} timings per repetition.")
    if "sync" in args.ops and sync_flags is None:
        bench.notes.append("sync skipped: this pipfence has no `sync` command yet.")
        print("sync skipped: this pipfence has no `sync` command yet", file=sys.stderr)
    try:
        if "startup" in args.ops:
            bench_startup(bench)
        for workload in workloads:
            bench_workload(bench, workload, args.ops)
        write_results(bench, [w.name for w in workloads], args.ops, started)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0
