"""The benchmark's local snapshot index: record a workload's index traffic once, replay it.

A snapshot is a folder per workload (default ``~/.cache/pipfence-bench/snapshot/<workload>``;
``BENCH_SNAPSHOT_DIR`` or ``--snapshot-dir`` change the parent) in the layout
``bench/snapshot_server.py`` serves: each project page in its JSON and HTML forms, with file URLs
pointing at the local server, and every distribution and PEP 658 metadata file that was asked
for, byte for byte as the public index served them.

Recording runs each tool's own lock and fresh-environment sync of the workload (the
benchmark's commands, with empty caches) against ``snapshot_server.py --record``, which fetches
from the public index whatever is not stored yet, stores it, and serves it. So the snapshot holds
exactly what pipfence, uv and pipenv ask for: the pages and metadata files of every project and
version their resolvers look at (backtracking included) and the wheels each installs for Python
3.11 on this platform. Pages are fetched once, so every tool recorded later sees the same page
bytes. ``manifest.json`` names the tools recorded; a benchmark run records the tools it times
that are not in it yet, and otherwise never reaches the network.

Command line (the project's ``.venv`` Python, which has httpx for recording)::

    python bench/snapshot.py build large stress [--tools pipfence uv pipenv] [--refresh]
    python bench/snapshot.py serve large [--port 8765] [--latency-ms 20]
    python bench/snapshot.py info large
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if not __package__:  # run as a file: import the `bench` package from the repository's root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

if TYPE_CHECKING:
    from bench.operations import Bench
    from bench.tools import Toolbox

HERE = Path(__file__).resolve().parent
SERVER = HERE / "snapshot_server.py"
MANIFEST = "manifest.json"
SOURCE_NAME = "snapshot"
_SOURCE_HEADER = re.compile(r"^\s*\[\[\s*source\s*\]\]\s*$")
_TABLE_HEADER = re.compile(r"^\s*\[")
_URL_LINE = re.compile(r"^(\s*url\s*=\s*)(['\"]).*\2(\s*(#.*)?)$")


def default_base() -> Path:
    """The parent folder of the workloads' snapshots."""
    if override := os.environ.get("BENCH_SNAPSHOT_DIR"):
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pipfence-bench" / "snapshot"


def with_source(pipfile: str, url: str) -> str:
    """The Pipfile's text with every ``[[source]]`` url set to ``url``; one ``[[source]]``
    naming it is added at the top when the Pipfile has none (packages then come from it, as
    they would from the default public index)."""
    lines = pipfile.splitlines(keepends=True)
    in_source, found = False, False
    for index, line in enumerate(lines):
        if _SOURCE_HEADER.match(line):
            in_source, found = True, True
        elif _TABLE_HEADER.match(line):
            in_source = False
        elif in_source and (match := _URL_LINE.match(line.rstrip("\n"))):
            ending = "\n" if line.endswith("\n") else ""
            lines[index] = f'{match.group(1)}"{url}"{match.group(3)}{ending}'
    if found:
        return "".join(lines)
    block = f'[[source]]\nname = "{SOURCE_NAME}"\nurl = "{url}"\nverify_ssl = true\n\n'
    return block + pipfile


# --------------------------------------------------------------------------- the manifest


def read_manifest(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return {"recorded": {}}
    return data if isinstance(data.get("recorded"), dict) else {"recorded": {}}


def missing_tools(root: Path, tools: list[str]) -> list[str]:
    """The tools whose traffic the snapshot at ``root`` has not recorded yet."""
    recorded = read_manifest(root)["recorded"]
    return [tool for tool in tools if not recorded.get(tool, {}).get("ok")]


def note_recorded(root: Path, workload: str, tool: str, version: str, errors: list[str]) -> None:
    data = read_manifest(root)
    data["workload"] = workload
    data["recorded"][tool] = {
        "ok": not errors,
        "version": version,
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "errors": errors,
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def summary(root: Path) -> str:
    """One line: what the snapshot holds."""
    pages = files = metadata = size = 0
    simple = root / "simple"
    if simple.is_dir():
        pages = sum(1 for p in simple.iterdir() if (p / "page.json").is_file())
    packages = root / "packages"
    if packages.is_dir():
        for path in packages.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                size += path.stat().st_size
                if path.name.endswith(".metadata"):
                    metadata += 1
                else:
                    files += 1
    tools = sorted(t for t, v in read_manifest(root)["recorded"].items() if v.get("ok"))
    return (
        f"{root}: {pages} project pages, {metadata} metadata files, {files} distributions, "
        f"{size / 2**20:.0f} MiB; recorded for {', '.join(tools) or 'no tool yet'}"
    )


# --------------------------------------------------------------------------- the server process


class ServerProcess:
    """``snapshot_server.py`` in a process of its own (so it shares no GIL with anything)."""

    def __init__(
        self,
        root: Path,
        *,
        latency_ms: float = 0.0,
        record: bool = False,
        cache_headers: str = "upstream",
        port: int = 0,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.root = root
        argv = [python, str(SERVER), str(root), "--port", str(port)]
        argv += ["--latency-ms", str(latency_ms), "--cache-headers", cache_headers]
        if record:
            argv.append("--record")
        self.argv = argv
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30) -> Self:
        root = self.root
        root.mkdir(parents=True, exist_ok=True)
        stderr = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=self.env,
                start_new_session=True,
            )
        finally:
            if self.log:
                stderr.close()  # type: ignore[union-attr]
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not line or not line[0].startswith("http://"):
            self.stop()
            raise RuntimeError(f"the snapshot server for {root} did not start (see {self.log})")
        self.url = line[0].strip()
        return self

    @property
    def origin(self) -> str:
        return self.url.removesuffix("/simple/")

    def stats(self) -> dict[str, Any]:
        import urllib.request  # only now: the benchmark's own RSS is the floor of its children's

        with urllib.request.urlopen(f"{self.origin}/_snapshot/stats", timeout=30) as answer:
            data: dict[str, Any] = json.load(answer)
        return data

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- recording, serving


def record(
    toolbox: Toolbox,
    workload: Path,
    root: Path,
    *,
    tools: list[str],
    timeout: float,
) -> list[str]:
    """Record the traffic of each of ``tools`` not recorded yet: its lock of the workload and
    one sync into a fresh environment, with empty caches, against the recording server.

    The commands are the benchmark's own (`bench.commands`), the ones measured later. Returns
    one line per problem; a tool whose lock or sync failed stays unrecorded (tried again next
    time).
    """
    from bench.commands import lock_steps, new_slot, sync_steps  # they import this module
    from bench.processes import run_steps
    from bench.tools import isolated_env, pipfence_sync_flags

    todo = missing_tools(root, tools)
    if not todo:
        return []
    problems: list[str] = []
    env = isolated_env()
    sync_flags = pipfence_sync_flags(toolbox) if "pipfence" in todo else []
    with tempfile.TemporaryDirectory(prefix="pipfence-bench-record-") as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        server = ServerProcess(root, record=True, env=env, log=logs / "server.log")
        with server:
            for tool in todo:
                print(f"recording the {workload.name} snapshot: {tool}", file=sys.stderr)
                slot = new_slot(tool, Path(tmp) / tool, workload, server.url)
                errors = []
                done = run_steps(lock_steps(slot, toolbox), timeout, logs / f"{tool}-lock")
                if not done.ok:
                    errors.append(f"lock: {done.error}")
                elif sync_flags is not None or tool != "pipfence":
                    slot.locked = True
                    steps = sync_steps(slot, toolbox, sync_flags or [])
                    done = run_steps(steps, timeout, logs / f"{tool}-sync")
                    if not done.ok:
                        errors.append(f"sync: {done.error}")
                note_recorded(root, workload.name, tool, toolbox.versions.get(tool, "?"), errors)
                problems += [f"recording {workload.name} with {tool} failed: {e}" for e in errors]
                shutil.rmtree(slot.root, ignore_errors=True)
            stats = server.stats()
        problems += [f"recording {workload.name}: {miss}" for miss in stats["misses"][:5]]
    print(summary(root), file=sys.stderr)
    return problems


@contextlib.contextmanager
def serving(state: Bench, workload: Path) -> Iterator[str]:
    """Record what ``state`` (the running benchmark) needs of the workload, then serve the snapshot
    for the duration; yields the index URL. Notes what happened (misses above all) in
    ``state.notes``."""
    root = state.snapshot_base / workload.name
    from bench.tools import isolated_env

    state.notes += record(
        state.toolbox, workload, root, tools=list(state.tools), timeout=state.timeout
    )
    log = state.tmp / "logs" / f"{workload.name}-snapshot-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(
        root,
        latency_ms=state.latency_ms,
        cache_headers=state.cache_headers,
        env=isolated_env(),
        log=log,
    )
    with server:
        yield server.url
        stats = server.stats()
    misses = stats["misses"]
    line = f"{workload.name}: snapshot {root} served {stats['requests']} requests"
    if misses:
        shown = ", ".join(misses[:3])
        line += f", {len(misses)} of them NOT in the snapshot (404), e.g. {shown}"
    state.notes.append(line + ".")


# --------------------------------------------------------------------------- command line


def _workload_names(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--snapshot-dir", type=Path, default=None, help="parent of the snapshots")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="record the workloads' traffic (once per tool)")
    build.add_argument("workloads", nargs="+")
    build.add_argument("--tools", nargs="+", default=["pipfence", "uv", "pipenv"])
    build.add_argument("--refresh", action="store_true", help="start the snapshot anew")
    build.add_argument("--timeout", type=float, default=1200, help="seconds per command")
    serve = commands.add_parser("serve", help="serve one workload's snapshot until Ctrl-C")
    serve.add_argument("workload")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--latency-ms", type=float, default=0.0)
    serve.add_argument("--cache-headers", choices=("upstream", "pypi"), default="upstream")
    info = commands.add_parser("info", help="what the snapshots hold")
    info.add_argument("workloads", nargs="+")
    args = parser.parse_args(argv)
    base = args.snapshot_dir or default_base()
    if args.command == "info":
        for name in _workload_names(args.workloads):
            print(summary(base / Path(name).name))
        return 0
    if args.command == "serve":
        root = base / Path(args.workload).name
        if not (root / "simple").is_dir():
            raise SystemExit(f"no snapshot in {root}: run `snapshot.py build {args.workload}`")
        server = ServerProcess(
            root, latency_ms=args.latency_ms, cache_headers=args.cache_headers, port=args.port
        )
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the server too
        with server:
            print(f"serving {root} at {server.url} (Ctrl-C stops)", file=sys.stderr)
            with contextlib.suppress(KeyboardInterrupt):
                server.proc.wait()  # type: ignore[union-attr]
        return 0
    from bench.operations import TOOLS  # the benchmark's own commands record the traffic
    from bench.tools import prepare_tools
    from bench.workload import resolve_workloads

    tools = [t for t in _workload_names(args.tools) if t in TOOLS]
    workloads = resolve_workloads(_workload_names(args.workloads))
    toolbox = prepare_tools(refresh=False, tools=tools)
    for workload in workloads:
        root = base / workload.name
        if args.refresh:
            shutil.rmtree(root, ignore_errors=True)
        for problem in record(toolbox, workload, root, tools=tools, timeout=args.timeout):
            print(problem, file=sys.stderr)
        print(summary(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
