"""Benchmark pipfence side by side with pipenv and uv, reported as ratios.

What it measures, per workload (a folder holding a ``Pipfile`` plus ``requirements.in`` and
``requirements-dev.in`` that declare the same dependencies; ``small``, ``medium`` and ``large``
come from the shared workloads folder, ``stress`` (about 300 locked packages) from
``bench/workloads/``):

* ``lock-cold``: resolve with a fresh, empty cache. pipfence and pipenv run ``lock`` on the
  Pipfile (both categories); uv, which cannot read Pipfiles, runs ``uv pip compile
  requirements.in requirements-dev.in --python-version 3.11 --generate-hashes``.
* ``lock-warm``: the same, reusing the cache (and pipenv's environment) of an earlier lock.
* ``sync``: install the tool's own lock into a fresh environment with a warm cache
  (``pipfence sync --dev``, ``pipenv sync --dev``, ``uv venv`` + ``uv pip sync``). Skipped while
  pipfence has no ``sync`` command.
* ``startup``: ``--version`` of each tool, next to ``python -c pass``.

How: every command runs in its own process group with an environment that ignores this
machine's pip/uv configuration; wall time comes from ``time.perf_counter`` around the child and
peak memory from ``os.wait4``'s ``ru_maxrss`` (the largest single process of the command's tree,
KiB on Linux). Tools alternate within each repetition, their order rotated per repetition, and
the report gives medians and ratios. A failing or timed-out command is recorded, never fatal.
pipfence locks with ``-v``, whose ``N requests`` line gives the number of requests it sent.
pipenv and uv are installed by the benchmark into a throw-away virtualenv outside the repository.

Results: a markdown table on stdout and in ``bench/results/<timestamp>.md`` (with "how cost
grows": pipfence's time and requests against the number of locked packages), raw timings in
``bench/results/latest.json``, and a PNG plot of time (and pipfence's requests) against packages
when matplotlib can be installed in the tools venv.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import snapshot

TOOLS: tuple[str, ...] = ("pipfence", "pipenv", "uv")
OPS: tuple[str, ...] = ("lock-cold", "lock-warm", "sync", "sync-noop", "run", "startup")
#: What runs after a timed sync, in the environment it made: the same sync again (nothing to
#: do), and `run python -c pass` (the tool's own overhead around a command).
AFTER_SYNC_OPS: tuple[str, ...] = ("sync-noop", "run")
WORKLOADS: tuple[str, ...] = ("small", "medium", "large", "stress")
LOCK_OPS: tuple[str, ...] = ("lock-cold", "lock-warm")
STARTUP_INNER = 5  # start-up is short: each repetition times it this many times
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
OWN_WORKLOADS = REPO / "bench" / "workloads"
WORKLOAD_FILES = ("Pipfile", "requirements.in", "requirements-dev.in")
STRIPPED_PIP_VARS = (
    "PIP_FIND_LINKS",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_CONSTRAINT",
    "PIP_BUILD_CONSTRAINT",
    "PIP_NO_INDEX",
    "PIP_REQUIRE_VIRTUALENV",
)
STRIPPED_PREFIXES = ("UV_", "PIPENV_", "PIPFENCE_")
# Besides the tools' own configuration: PYTHONDONTWRITEBYTECODE would make every run of an
# editable pipfence recompile its sources, which is not what a user's machine does.
STRIPPED_VARS = frozenset(
    {"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", *STRIPPED_PIP_VARS}
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
REQUESTS_LINE = re.compile(r"^\W*(\d+) requests?\b", re.MULTILINE)


# --------------------------------------------------------------------------- running commands


@dataclass(frozen=True)
class Step:
    argv: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass
class Outcome:
    seconds: float
    peak_mib: float
    returncode: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _last_line(*paths: Path) -> str:
    """The last line that names an error, else the last line, of the first file with output."""
    for path in paths:
        with contextlib.suppress(OSError):
            text = ANSI.sub("", path.read_text(errors="replace"))
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            errors = [ln for ln in lines if re.match(r"(error|\w*error\b)", ln, re.IGNORECASE)]
            if errors or lines:
                return (errors or lines)[-1][:200]
    return "(no output)"


def run_step(step: Step, timeout: float, log: Path) -> Outcome:
    """Run one command; wall time, the child's peak RSS (via wait4) and its exit status."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log.parent / f"{log.name}.out", log.parent / f"{log.name}.err"
    timed_out = threading.Event()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                step.argv,
                cwd=step.cwd,
                env=step.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            return Outcome(0.0, 0.0, 127, f"cannot start: {exc}")

        def expire() -> None:
            timed_out.set()
            _kill_group(proc.pid)

        timer = threading.Timer(timeout, expire)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        _kill_group(proc.pid)  # leftovers of the command's own process group
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    if timed_out.is_set():
        return Outcome(seconds, peak, proc.returncode, f"timeout after {timeout:g}s")
    if proc.returncode != 0:
        last = _last_line(err_path, out_path)
        return Outcome(seconds, peak, proc.returncode, f"exit {proc.returncode}: {last}")
    return Outcome(seconds, peak, 0)


def run_steps(steps: list[Step], timeout: float, log: Path) -> Outcome:
    """Run commands one after another as one measurement: times add up, the peak is the max."""
    total, peak = 0.0, 0.0
    for index, step in enumerate(steps):
        outcome = run_step(step, timeout, log.parent / f"{log.name}-step{index}")
        total += outcome.seconds
        peak = max(peak, outcome.peak_mib)
        if not outcome.ok:
            return Outcome(total, peak, outcome.returncode, outcome.error)
    return Outcome(total, peak, 0)


# --------------------------------------------------------------------------- environments


def isolated_env() -> dict[str, str]:
    """This process's environment minus every pip/uv/pipenv configuration of the machine."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in STRIPPED_VARS and not key.startswith(STRIPPED_PREFIXES)
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        PIPENV_IGNORE_VIRTUALENVS="1",
        NO_COLOR="1",
    )
    return env


def base_python() -> str:
    """The interpreter this venv was made from (pipenv and uv create environments with it)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return str(candidate) if candidate.exists() else sys.executable


@dataclass(frozen=True)
class Toolbox:
    pipfence: Path
    pipenv: Path
    uv: Path
    tools_python: Path
    base_python: str
    plot_ok: bool
    versions: dict[str, str]


def _capture(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


def tools_dir() -> Path:
    if override := os.environ.get("BENCH_TOOLS_DIR"):
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pipfence-bench" / "tools"


def prepare_tools(refresh: bool, tools: list[str]) -> Toolbox:
    """Create (once) the throw-away venv holding pipenv, uv and, if possible, matplotlib."""
    env = isolated_env()
    venv = tools_dir()
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating the tools venv in {venv}", file=sys.stderr)
        subprocess.run([base_python(), "-m", "venv", str(venv)], env=env, check=True)
    bin_dir = venv / "bin"
    upgrade = ["--upgrade"] if refresh else []
    if refresh or not (bin_dir / "pipenv").exists() or not (bin_dir / "uv").exists():
        print("installing pipenv and uv into the tools venv", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "-q", *upgrade]
        subprocess.run([*pip, "pipenv", "uv"], env=env, check=True)
    plot_ok = _capture([str(python), "-c", "import matplotlib"], env)[0] == 0
    if not plot_ok or refresh:
        print("installing matplotlib into the tools venv (for the plot)", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "-q", *upgrade, "matplotlib"]
        plot_ok = _capture(pip, env, timeout=900)[0] == 0
    pipfence = Path(os.environ.get("BENCH_PIPFENCE") or Path(sys.executable).parent / "pipfence")
    toolbox = Toolbox(
        pipfence=pipfence,
        pipenv=bin_dir / "pipenv",
        uv=bin_dir / "uv",
        tools_python=python,
        base_python=base_python(),
        plot_ok=plot_ok,
        versions={},
    )
    for name in tools:
        code, text = _capture([str(getattr(toolbox, name)), "--version"], env)
        toolbox.versions[name] = text.splitlines()[-1] if code == 0 and text else f"? ({text})"
    toolbox.versions["python"] = platform.python_version()
    return toolbox


def script_python(script: Path) -> str:
    """The interpreter of a console script (its ``#!`` line), else the one running this."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        first = script.read_bytes()[:512].split(b"\n", 1)[0].decode()
        if first.startswith("#!") and (python := first[2:].strip()) and Path(python).exists():
            return python
    return sys.executable


def precompile_pipfence(toolbox: Toolbox) -> str:
    """Compile pipfence's package to bytecode once, before any timing.

    An editable install's sources are only compiled when some run may write ``__pycache__``;
    doing it up front keeps that one-off cost out of every tool's first measurement.
    """
    env = isolated_env()
    python = script_python(toolbox.pipfence)
    probe = "import os, pipfence; print(os.path.dirname(pipfence.__file__))"
    code, text = _capture([python, "-c", probe], env)
    if code != 0 or not text:
        return f"pipfence not precompiled: cannot find its package ({text[-200:]})"
    package = text.splitlines()[-1]
    code, text = _capture([python, "-m", "compileall", "-q", package], env, timeout=300)
    if code != 0:
        return f"pipfence not precompiled: compileall failed ({text[-200:]})"
    with contextlib.suppress(ValueError):
        package = str(Path(package).relative_to(REPO))
    return f"pipfence's package ({package}) was compiled to bytecode once before timing."


def pipfence_sync_flags(toolbox: Toolbox) -> list[str] | None:
    """``pipfence sync``'s extra flags when the command exists, else None.

    ``sync --help`` answers even while the command is a placeholder, so an actual call in an
    empty folder is the real probe: a placeholder says "not available".
    """
    env = isolated_env()
    code, text = _capture([str(toolbox.pipfence), "sync", "--help"], env)
    if code != 0 or "not available" in text:
        return None
    with tempfile.TemporaryDirectory(prefix="pipfence-bench-probe-") as empty:
        env.update(
            PIPENV_PIPFILE=str(Path(empty) / "Pipfile"),
            WORKON_HOME=str(Path(empty) / "envs"),
            PIPFENCE_CACHE_DIR=str(Path(empty) / "cache"),
        )
        try:
            done = subprocess.run(
                [str(toolbox.pipfence), "sync"],
                cwd=empty,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            probe = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            probe = ""
    if "not available" in probe:
        return None
    return ["--dev"] if "--dev" in text else []


# --------------------------------------------------------------------------- per-tool commands


@dataclass
class Slot:
    """One tool's project copy, cache and environment home for one workload and repetition."""

    tool: str
    root: Path
    index_url: str | None = None  # the snapshot server's; None: the public index
    locked: bool | None = None  # None: never locked; False: the last lock failed
    synced: bool = False
    syncs: int = 0
    last_sync: list[Step] = field(default_factory=list)  # the steps of the last timed sync

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def env(self, home: Path | None = None) -> dict[str, str]:
        env = isolated_env()
        env.update(
            XDG_CACHE_HOME=str(self.cache / "xdg"),
            PIP_CACHE_DIR=str(self.cache / "pip"),
            PIPENV_CACHE_DIR=str(self.cache / "pipenv"),
            PIPFENCE_CACHE_DIR=str(self.cache / "pipfence"),
            UV_CACHE_DIR=str(self.cache / "uv"),
            WORKON_HOME=str(home or self.root / "envs"),
        )
        return env


def new_slot(tool: str, root: Path, workload: Path, index_url: str | None = None) -> Slot:
    slot = Slot(tool, root, index_url)
    slot.project.mkdir(parents=True)
    slot.cache.mkdir()
    for name in ("Pipfile", "requirements.in", "requirements-dev.in"):
        shutil.copy2(workload / name, slot.project / name)
    if index_url:  # pipfence and pipenv: the Pipfile's [[source]]; uv: --index-url
        pipfile = slot.project / "Pipfile"
        pipfile.write_text(snapshot.with_source(pipfile.read_text(), index_url.rstrip("/")))
    return slot


def uv_index_args(slot: Slot) -> list[str]:
    return ["--index-url", slot.index_url, "--no-config"] if slot.index_url else []


def lock_output(tool: str) -> str:
    return "out.txt" if tool == "uv" else "Pipfile.lock"


def lock_steps(slot: Slot, toolbox: Toolbox) -> list[Step]:
    (slot.project / lock_output(slot.tool)).unlink(missing_ok=True)
    env = slot.env()
    env["PIPENV_PYTHON"] = toolbox.base_python
    if slot.tool == "uv":
        argv = [str(toolbox.uv), "pip", "compile", "requirements.in", "requirements-dev.in"]
        argv += ["-o", "out.txt", "--python-version", "3.11", "--generate-hashes"]
        argv += uv_index_args(slot)
    elif slot.tool == "pipfence":
        argv = [str(toolbox.pipfence), "lock", "-v"]  # -v: the "N requests" line
    else:
        argv = [str(toolbox.pipenv), "lock"]
    return [Step(argv, slot.project, env)]


def sync_steps(slot: Slot, toolbox: Toolbox, pipfence_flags: list[str]) -> list[Step]:
    """Commands that install the slot's lock into a brand-new environment."""
    slot.syncs += 1
    target = slot.root / f"sync-{slot.syncs}"
    target.mkdir()
    name = lock_output(slot.tool)
    shutil.copy2(slot.project / name, target / name)
    shutil.copy2(slot.project / "Pipfile", target / "Pipfile")
    env = slot.env(home=target / "envs")
    env["PIPENV_PYTHON"] = toolbox.base_python
    if slot.tool == "uv":
        uv = str(toolbox.uv)
        return [
            Step([uv, "venv", ".venv", "--python", toolbox.base_python], target, env),
            Step(
                [
                    uv,
                    "pip",
                    "sync",
                    "out.txt",
                    "--python",
                    ".venv/bin/python",
                    *uv_index_args(slot),
                ],
                target,
                env,
            ),
        ]
    if slot.tool == "pipenv":
        return [Step([str(toolbox.pipenv), "sync", "--dev"], target, env)]
    return [Step([str(toolbox.pipfence), "sync", *pipfence_flags], target, env)]


def startup_step(tool: str, toolbox: Toolbox, cwd: Path) -> Step:
    env = isolated_env()
    if tool == "python":
        return Step([sys.executable, "-c", "pass"], cwd, env)
    return Step([str(getattr(toolbox, tool)), "--version"], cwd, env)


def count_requests(log: Path) -> int | None:
    """The request count pipfence's ``lock -v`` printed (its last ``N requests`` line)."""
    try:
        text = ANSI.sub("", (log.parent / f"{log.name}-step0.err").read_text(errors="replace"))
    except OSError:
        return None
    found = REQUESTS_LINE.findall(text)
    return int(found[-1]) if found else None


def count_packages(slot: Slot) -> int | None:
    """Distinct package names of a lock (Pipfile.lock default+develop, or uv's pins)."""
    path = slot.project / lock_output(slot.tool)
    try:
        text = path.read_text()
    except OSError:
        return None
    if slot.tool == "uv":
        return len(re.findall(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", text, flags=re.MULTILINE))
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return len(set(data.get("default", {})) | set(data.get("develop", {})))


# --------------------------------------------------------------------------- the benchmark


@dataclass
class Measurement:
    workload: str
    op: str
    tool: str
    rep: int
    seconds: float
    peak_mib: float
    ok: bool
    error: str | None
    requests: int | None = None  # pipfence locks only


@dataclass
class Bench:
    toolbox: Toolbox
    tools: tuple[str, ...]
    runs: int
    timeout: float
    tmp: Path
    pipfence_sync: list[str] | None
    index: str = "pypi"  # or "snapshot" (bench/snapshot.py)
    latency_ms: float = 0.0  # the snapshot server's delay per request
    cache_headers: str = "upstream"  # the snapshot server's caching headers
    snapshot_base: Path = field(default_factory=snapshot.default_base)
    index_url: str | None = None  # the snapshot server of the workload being timed
    measurements: list[Measurement] = field(default_factory=list)
    packages: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def record(
        self,
        workload: str,
        op: str,
        tool: str,
        rep: int,
        outcome: Outcome,
        *,
        requests: int | None = None,
    ) -> None:
        entry = Measurement(
            workload,
            op,
            tool,
            rep,
            outcome.seconds,
            outcome.peak_mib,
            outcome.ok,
            outcome.error,
            requests,
        )
        self.measurements.append(entry)
        status = f"{outcome.seconds:8.2f}s {outcome.peak_mib:7.1f} MiB"
        if requests is not None:
            status += f" {requests:6d} requests"
        if not outcome.ok:
            status += f"  FAILED ({outcome.error})"
        print(f"  [{workload} {op} run {rep + 1}] {tool:8} {status}", file=sys.stderr)


def rotated(items: tuple[str, ...], rep: int) -> tuple[str, ...]:
    shift = rep % len(items)
    return items[shift:] + items[:shift]


def bench_startup(bench: Bench) -> None:
    tools = ("python", *bench.tools)
    for rep in range(bench.runs):
        for tool in rotated(tools, rep):
            for inner in range(STARTUP_INNER):
                log = bench.tmp / "logs" / f"startup-{tool}-{rep}-{inner}"
                outcome = run_step(startup_step(tool, bench.toolbox, bench.tmp), bench.timeout, log)
                bench.record("-", "startup", tool, rep, outcome)


def timed_lock(bench: Bench, slot: Slot, workload: str, op: str, rep: int) -> None:
    log = bench.tmp / "logs" / f"{workload}-{op}-{slot.tool}-{rep}"
    outcome = run_steps(lock_steps(slot, bench.toolbox), bench.timeout, log)
    slot.locked = outcome.ok
    requests = count_requests(log) if slot.tool == "pipfence" and outcome.ok else None
    bench.record(workload, op, slot.tool, rep, outcome, requests=requests)
    if outcome.ok and (count := count_packages(slot)) is not None:
        bench.packages.setdefault(workload, {})[slot.tool] = count


def prime_lock(bench: Bench, slot: Slot, workload: str) -> None:
    """An untimed lock, so the cache is warm and a lock exists to sync."""
    log = bench.tmp / "logs" / f"{workload}-prime-{slot.tool}-{slot.root.parent.name}"
    outcome = run_steps(lock_steps(slot, bench.toolbox), bench.timeout, log)
    slot.locked = outcome.ok


def timed_sync(bench: Bench, slot: Slot, workload: str, rep: int) -> None:
    if slot.locked is None:
        prime_lock(bench, slot, workload)
    if not slot.locked:
        bench.record(workload, "sync", slot.tool, rep, Outcome(0.0, 0.0, 1, "its lock failed"))
        return
    flags = bench.pipfence_sync or []
    log = bench.tmp / "logs" / f"{workload}-sync-{slot.tool}-{rep}"
    if not slot.synced:  # fill the cache with the distributions themselves, untimed
        run_steps(
            sync_steps(slot, bench.toolbox, flags), bench.timeout, log.parent / f"{log.name}-prime"
        )
        slot.synced = True
    steps = sync_steps(slot, bench.toolbox, flags)
    outcome = run_steps(steps, bench.timeout, log)
    bench.record(workload, "sync", slot.tool, rep, outcome)
    slot.last_sync = steps if outcome.ok else []


def after_sync_step(slot: Slot, toolbox: Toolbox, op: str) -> Step | None:
    """``sync-noop``: the last sync's installing step again, in the environment it made;
    ``run``: `run python -c pass` there (uv: `uv run --no-project` with that environment's
    Python). None when there was no successful sync."""
    if not slot.last_sync:
        return None
    last = slot.last_sync[-1]
    if op == "sync-noop":
        return last
    if slot.tool == "uv":
        argv = [str(toolbox.uv), "run", "--no-project", "--python", ".venv/bin/python"]
    else:
        argv = [str(getattr(toolbox, slot.tool)), "run"]
    return Step([*argv, "python", "-c", "pass"], last.cwd, last.env)


def timed_after_sync(bench: Bench, slot: Slot, workload: str, op: str, rep: int) -> None:
    step = after_sync_step(slot, bench.toolbox, op)
    if step is None:
        bench.record(workload, op, slot.tool, rep, Outcome(0.0, 0.0, 1, "its sync failed"))
        return
    log = bench.tmp / "logs" / f"{workload}-{op}-{slot.tool}-{rep}"
    bench.record(workload, op, slot.tool, rep, run_steps([step], bench.timeout, log))


def slot_for(bench: Bench, slots: dict[str, Slot], workload: Path, rep: int, tool: str) -> Slot:
    """The tool's slot of this repetition, created on first use."""
    if tool not in slots:
        root = bench.tmp / workload.name / f"run{rep}" / tool
        slots[tool] = new_slot(tool, root, workload, bench.index_url)
    return slots[tool]


def bench_workload(bench: Bench, workload: Path, ops: list[str]) -> None:
    if bench.index != "snapshot":
        time_workload(bench, workload, ops)
        return
    with snapshot.serving(sys.modules[__name__], bench, workload) as url:
        bench.index_url = url
        try:
            time_workload(bench, workload, ops)
        finally:
            bench.index_url = None


def time_workload(bench: Bench, workload: Path, ops: list[str]) -> None:
    name = workload.name
    for rep in range(bench.runs):
        order = rotated(bench.tools, rep)
        slots: dict[str, Slot] = {}
        if "lock-cold" in ops:
            for tool in order:
                timed_lock(
                    bench, slot_for(bench, slots, workload, rep, tool), name, "lock-cold", rep
                )
        if "lock-warm" in ops:
            for tool in order:
                slot = slot_for(bench, slots, workload, rep, tool)
                if slot.locked is None:
                    prime_lock(bench, slot, name)
                timed_lock(bench, slot, name, "lock-warm", rep)
        wants_sync = "sync" in ops or any(op in ops for op in AFTER_SYNC_OPS)
        if wants_sync and bench.pipfence_sync is not None:
            for tool in order:
                timed_sync(bench, slot_for(bench, slots, workload, rep, tool), name, rep)
            for op in (o for o in AFTER_SYNC_OPS if o in ops):
                for tool in order:
                    timed_after_sync(bench, slots[tool], name, op, rep)
        for slot in slots.values():  # caches of big workloads add up; keep the logs only
            shutil.rmtree(slot.root, ignore_errors=True)


# --------------------------------------------------------------------------- reporting


@dataclass
class Cell:
    median: float | None
    peak: float | None
    ok: int
    total: int
    error: str | None
    requests: float | None = None  # median request count (pipfence locks)


def summarize(measurements: list[Measurement], workload: str, op: str, tool: str) -> Cell | None:
    picked = [m for m in measurements if (m.workload, m.op, m.tool) == (workload, op, tool)]
    if not picked:
        return None
    good = [m for m in picked if m.ok]
    errors = [m.error for m in picked if not m.ok]
    counts = [m.requests for m in good if m.requests is not None]
    return Cell(
        median=statistics.median(m.seconds for m in good) if good else None,
        peak=max(m.peak_mib for m in good) if good else None,
        ok=len(good),
        total=len(picked),
        error=errors[-1] if errors else None,
        requests=statistics.median(counts) if counts else None,
    )


def fmt_seconds(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def fmt_time(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    if cell.median is None:
        return "FAIL: " + (cell.error or "?").replace("|", "/")[:120]
    text = fmt_seconds(cell.median)
    if cell.ok < cell.total:
        text += f" ({cell.ok}/{cell.total} ok)"
    return text


def fmt_ratio(top: Cell | None, bottom: Cell | None) -> str:
    if top is None or bottom is None or top.median is None or not bottom.median:
        return "-"
    return f"{top.median / bottom.median:.2f}x"


def fmt_peak(cell: Cell | None) -> str:
    return "-" if cell is None or cell.peak is None else f"{cell.peak:.0f}"


def fmt_requests(cell: Cell | None) -> str:
    return "-" if cell is None or cell.requests is None else f"{cell.requests:g}"


def package_label(bench: Bench, workload: str) -> str:
    counts = bench.packages.get(workload, {})
    if "pipfence" in counts:
        return str(counts["pipfence"])
    for tool in ("pipenv", "uv"):
        if tool in counts:
            return f"({counts[tool]} per {tool})"
    return "-"


def package_count(bench: Bench, workload: str) -> int | None:
    counts = bench.packages.get(workload, {})
    return next((counts[t] for t in TOOLS if t in counts), None)


def table_rows(bench: Bench, workloads: list[str], ops: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    keys = [("-", "startup")] if "startup" in ops else []
    keys += [(w, op) for w in workloads for op in ops if op != "startup"]
    for workload, op in keys:
        cells = {t: summarize(bench.measurements, workload, op, t) for t in bench.tools}
        if all(c is None for c in cells.values()):
            continue
        rows.append({"workload": workload, "op": op, "cells": cells})
    return rows


def growth_exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(value) against log(packages): 1 is linear growth."""
    usable = [(math.log(n), math.log(v)) for n, v in points if n > 0 and v > 0]
    if len({x for x, _ in usable}) < 2 or len(usable) != len(points):
        return None
    mean_x = statistics.fmean(x for x, _ in usable)
    mean_y = statistics.fmean(y for _, y in usable)
    spread = sum((x - mean_x) ** 2 for x, _ in usable)
    return sum((x - mean_x) * (y - mean_y) for x, y in usable) / spread


def linear_fit(points: list[tuple[int, float]]) -> tuple[float, float, float] | None:
    """Least-squares ``value = fixed + per_package * packages``: (fixed, per_package, R²).

    Needs three workloads of different sizes (two always fit exactly)."""
    if len({n for n, _ in points}) < 3:
        return None
    fit = statistics.linear_regression([n for n, _ in points], [v for _, v in points])
    mean = statistics.fmean(v for _, v in points)
    total = sum((v - mean) ** 2 for _, v in points)
    residual = sum((v - fit.intercept - fit.slope * n) ** 2 for n, v in points)
    return fit.intercept, fit.slope, (1 - residual / total) if total else 1.0


def render_growth(bench: Bench, workloads: list[str], ops: list[str]) -> list[str]:
    """Per operation: time (and pipfence's requests) against the packages of each workload."""
    sized = sorted(
        ((n, w) for w in workloads if (n := package_count(bench, w)) is not None),
        key=lambda item: item[0],
    )
    if not sized:
        return []
    lines = [
        "## How cost grows",
        "",
        (
            "Median time and pipfence's median request count against the number of locked "
            "packages, smallest workload first. Per package = median / packages. Exponent = "
            "least-squares slope of log(median) against log(packages) over these workloads: "
            "1 is linear growth, 0 is flat, 2 is quadratic. Fit = least-squares line "
            "fixed + per-package cost (with R², from three workloads up): a line that fits "
            "with R² near 1 means cost grows linearly with the packages."
        ),
    ]
    with_requests = "pipfence" in bench.tools
    for op in (o for o in ops if o != "startup"):
        cells = {
            (w, t): summarize(bench.measurements, w, op, t) for _, w in sized for t in bench.tools
        }
        if all(c is None for c in cells.values()):
            continue
        header = ["workload", "packages"]
        for tool in bench.tools:
            header += [f"{tool} s", f"{tool} ms/pkg"]
        if with_requests and op in LOCK_OPS:
            header += ["pipfence requests", "requests/pkg"]
        lines += ["", f"### {op}", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for packages, workload in sized:
            values = [workload, str(packages)]
            for tool in bench.tools:
                cell = cells[(workload, tool)]
                median = cell.median if cell else None
                values += [
                    fmt_time(cell),
                    "-" if median is None else f"{1000 * median / packages:.1f}",
                ]
            if with_requests and op in LOCK_OPS:
                cell = cells[(workload, "pipfence")]
                count = cell.requests if cell else None
                values += [
                    fmt_requests(cell),
                    "-" if count is None else f"{count / packages:.2f}",
                ]
            lines.append("| " + " | ".join(values) + " |")
        lines += _growth_notes(bench, sized, cells, requests=with_requests and op in LOCK_OPS)
    return [*lines, ""]


def _growth_notes(
    bench: Bench,
    sized: list[tuple[int, str]],
    cells: dict[tuple[str, str], Cell | None],
    *,
    requests: bool,
) -> list[str]:
    """The exponent and fit lines under one operation's table in `render_growth`; with
    ``requests``, pipfence's request counts get theirs too."""
    exponents, fits = [], []
    for tool in bench.tools:
        points = [
            (n, c.median)
            for n, w in sized
            if (c := cells[(w, tool)]) is not None and c.median is not None
        ]
        if (slope := growth_exponent(points)) is not None:
            exponents.append(f"{tool} time {slope:.2f}")
        if (fit := linear_fit(points)) is not None:
            fixed, per_package, r2 = fit
            fits.append(f"{tool} {fixed:.2f} s + {1000 * per_package:.1f} ms/pkg (R² {r2:.3f})")
    if requests:
        points = [
            (n, c.requests)
            for n, w in sized
            if (c := cells[(w, "pipfence")]) is not None and c.requests is not None
        ]
        if (slope := growth_exponent(points)) is not None:
            exponents.append(f"pipfence requests {slope:.2f}")
        if any(v for _, v in points) and (fit := linear_fit(points)) is not None:
            fixed, per_package, r2 = fit
            fits.append(f"pipfence requests {fixed:.0f} + {per_package:.2f}/pkg (R² {r2:.3f})")
    lines = []
    if exponents:
        lines += ["", "Exponent: " + ", ".join(exponents) + "."]
    if fits:
        lines += ["", "Fit: " + "; ".join(fits) + "."]
    return lines


def render_markdown(
    bench: Bench, rows: list[dict[str, object]], workloads: list[str], ops: list[str], started: str
) -> str:
    tools = bench.tools
    ratios = [
        (a, b) for a, b in (("pipfence", "uv"), ("pipenv", "pipfence")) if {a, b} <= set(tools)
    ]
    show_requests = "pipfence" in tools and any(op in LOCK_OPS for op in ops)
    header = ["workload", "packages", "operation", *(f"{t} s" for t in tools)]
    if show_requests:
        header.append("pipfence requests")
    header += [f"{a}/{b}" for a, b in ratios]
    header += [f"{t} MiB" for t in tools]
    lines = [
        f"# pipfence benchmark, {started}",
        "",
        (
            f"{bench.runs} repetition(s), medians of successful runs; peak = max RSS of the largest "
            "single process of a command, over its runs; pipfence requests = median of the "
            "request counts its `lock -v` printed."
        ),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells: dict[str, Cell | None] = row["cells"]  # type: ignore[assignment]
        workload = str(row["workload"])
        op = str(row["op"])
        if op == "startup":
            base = summarize(bench.measurements, "-", "startup", "python")
            op = f"startup (--version; python -c pass {fmt_time(base)} s)"
        values = [
            workload,
            package_label(bench, workload) if workload != "-" else "-",
            op,
            *(fmt_time(cells[t]) for t in tools),
        ]
        if show_requests:
            values.append(fmt_requests(cells["pipfence"]))
        values += [fmt_ratio(cells[a], cells[b]) for a, b in ratios]
        values += [fmt_peak(cells[t]) for t in tools]
        lines.append("| " + " | ".join(values) + " |")
    lines += ["", *render_growth(bench, workloads, ops)]
    lines += [
        "Tool versions: " + ", ".join(f"{k} {v}" for k, v in bench.toolbox.versions.items()),
    ]
    lines += ["", "Notes:", *(f"- {note}" for note in bench.notes), ""]
    return "\n".join(lines)


PLOT_SCRIPT = """
import json, math, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
data = json.load(open(sys.argv[1]))
times, requests = {}, {}
for row in data["summary"]:
    if row["op"] == "startup" or row["packages"] is None:
        continue
    for tool, cell in row["tools"].items():
        if cell and cell["median"] is not None:
            times.setdefault((tool, row["op"]), []).append((row["packages"], cell["median"]))
        if cell and cell.get("requests") is not None:
            requests.setdefault(row["op"], []).append((row["packages"], cell["requests"]))
def minor_label(value, _):
    if value <= 0:
        return ""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return f"{value:g}" if any(abs(mantissa - m) < 1e-6 for m in (2, 3, 5)) else ""
colors = {"pipfence": "tab:blue", "pipenv": "tab:orange", "uv": "tab:green"}
styles = {"lock-cold": "-", "lock-warm": "--", "sync": ":"}
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
for (tool, op), points in sorted(times.items()):
    points.sort()
    left.plot(
        [p[0] for p in points], [p[1] for p in points], marker="o", label=f"{tool} {op}",
        color=colors.get(tool), linestyle=styles.get(op, "-."),
    )
left.set_xlabel("packages in the lock")
left.set_ylabel("median seconds")
left.set_xscale("log")
left.set_yscale("log")
for axis in (left.xaxis, left.yaxis):
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(minor_label))
left.grid(True, which="both", alpha=0.3)
left.legend(fontsize="x-small", ncol=3, loc="best")
left.set_title("time against packages (log-log)")
for op, points in sorted(requests.items()):
    points.sort()
    right.plot(
        [p[0] for p in points], [p[1] for p in points], marker="o", label=f"pipfence {op}",
        color=colors["pipfence"], linestyle=styles.get(op, "-."),
    )
right.set_xlabel("packages in the lock")
right.set_ylabel("median requests")
right.set_xlim(left=0)
right.set_ylim(bottom=0)
right.grid(True, alpha=0.3)
if requests:
    right.legend(fontsize="small")
else:
    right.text(0.5, 0.5, "no pipfence lock measured", ha="center", transform=right.transAxes)
right.set_title("pipfence's requests against packages")
fig.suptitle(f"pipfence vs pipenv vs uv, {data['runs']} run(s), {data['started']}")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=120)
"""


def json_summary(bench: Bench, rows: list[dict[str, object]]) -> list[dict[str, object]]:
    summary: list[dict[str, object]] = []
    for row in rows:
        cells: dict[str, Cell | None] = row["cells"]  # type: ignore[assignment]
        workload = str(row["workload"])
        summary.append(
            {
                "workload": workload,
                "op": row["op"],
                "packages": package_count(bench, workload),
                "tools": {t: asdict(c) if c else None for t, c in cells.items()},
            }
        )
    return summary


def draw_plot(bench: Bench, json_path: Path, png_path: Path) -> str | None:
    if not bench.toolbox.plot_ok:
        return "no plot: matplotlib could not be installed in the tools venv"
    script = bench.tmp / "plot.py"
    script.write_text(PLOT_SCRIPT)
    argv = [str(bench.toolbox.tools_python), str(script), str(json_path), str(png_path)]
    code, text = _capture(argv, isolated_env())
    return None if code == 0 else f"plot failed: {text.splitlines()[-1] if text else code}"


def write_results(bench: Bench, workloads: list[str], ops: list[str], started: str) -> None:
    rows = table_rows(bench, workloads, ops)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bench.notes.append(
        f"peak MiB has a floor of about this benchmark's own peak RSS ({floor:.0f} MiB): Linux "
        "charges a child the memory of the process it was forked from until it execs."
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.replace(":", "").replace("-", "")
    json_path, png_path = RESULTS / "latest.json", RESULTS / f"{stamp}.png"
    data = {
        "started": started,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": bench.toolbox.versions,
        "tools": list(bench.tools),
        "workloads": workloads,
        "ops": ops,
        "runs": bench.runs,
        "timeout": bench.timeout,
        "packages": bench.packages,
        "summary": json_summary(bench, rows),
        "measurements": [asdict(m) for m in bench.measurements],
    }
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    problem = draw_plot(bench, json_path, png_path)
    if problem:
        bench.notes.append(problem)
    else:
        bench.notes.append(f"plot: {png_path.relative_to(REPO)}")
    data["notes"] = bench.notes
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    markdown = render_markdown(bench, rows, workloads, ops, started)
    (RESULTS / f"{stamp}.md").write_text(markdown)
    print(markdown)
    print(f"written: {RESULTS / f'{stamp}.md'} and {json_path}", file=sys.stderr)


# --------------------------------------------------------------------------- entry point


def workloads_root() -> Path:
    if override := os.environ.get("BENCH_WORKLOADS"):
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "bench-workloads"


def split_list(values: list[str]) -> list[str]:
    """``a,b c`` -> ``[a, b, c]``: lists may be comma- or space-separated, or both."""
    items = [item.strip() for value in values for item in value.split(",")]
    return list(dict.fromkeys(item for item in items if item))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
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


def find_workload(name: str) -> Path:
    """A workload folder: a path as given, else the name under bench/workloads/ or the shared
    workloads folder."""
    if os.sep in name or name.startswith("."):
        return Path(name).resolve()
    candidates = [OWN_WORKLOADS / name, workloads_root() / name]
    return next((c for c in candidates if (c / "Pipfile").is_file()), candidates[-1])


def resolve_workloads(names: list[str]) -> list[Path]:
    found: dict[str, Path] = {}
    for name in names:
        folder = find_workload(name)
        missing = [f for f in WORKLOAD_FILES if not (folder / f).is_file()]
        if missing:
            raise SystemExit(f"workload {folder} lacks {', '.join(missing)} (set BENCH_WORKLOADS?)")
        if folder.name in found and found[folder.name] != folder:
            raise SystemExit(
                f"two workloads are named {folder.name}: {found[folder.name]}, {folder}"
            )
        found[folder.name] = folder
    return list(found.values())


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


if __name__ == "__main__":
    sys.exit(main())
