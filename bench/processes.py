"""Running one measured command: its own process group, wall time, peak memory, a timeout."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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
    #: User plus system CPU time of the command and the children it waited for (``wait4``).
    cpu_seconds: float = 0.0

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
    """Run one command; wall time, the child's peak RSS and CPU time (via wait4) and its exit
    status."""
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
    cpu = usage.ru_utime + usage.ru_stime
    if timed_out.is_set():
        return Outcome(seconds, peak, proc.returncode, f"timeout after {timeout:g}s", cpu)
    if proc.returncode != 0:
        last = _last_line(err_path, out_path)
        return Outcome(seconds, peak, proc.returncode, f"exit {proc.returncode}: {last}", cpu)
    return Outcome(seconds, peak, 0, cpu_seconds=cpu)


def settle() -> None:
    """Write out what earlier commands left to the file system (the trees a repetition
    deletes, a sync's tens of thousands of new files) before the next measurement starts:
    the kernel would otherwise do it during that measurement, whichever tool it times.
    ``os.sync`` waits for the writeback; nothing where the platform lacks it."""
    flush = getattr(os, "sync", None)
    if flush is not None:
        flush()


def run_steps(steps: list[Step], timeout: float, log: Path) -> Outcome:
    """Run commands one after another as one measurement (the file system settled first:
    `settle`): times and CPU times add up, the peak is the max."""
    settle()
    total, peak, cpu = 0.0, 0.0, 0.0
    for index, step in enumerate(steps):
        outcome = run_step(step, timeout, log.parent / f"{log.name}-step{index}")
        total += outcome.seconds
        peak = max(peak, outcome.peak_mib)
        cpu += outcome.cpu_seconds
        if not outcome.ok:
            return Outcome(total, peak, outcome.returncode, outcome.error, cpu)
    return Outcome(total, peak, 0, cpu_seconds=cpu)


def capture(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()
