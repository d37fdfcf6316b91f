"""The timed operations, each tool in turn with the order rotated per repetition."""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import fsprobe, snapshot
from bench.commands import (
    STALE_PAUSE,
    Slot,
    after_sync_step,
    count_packages,
    count_requests,
    lock_steps,
    new_slot,
    stale_lock_steps,
    startup_step,
    sync_steps,
)
from bench.processes import Outcome, run_step, run_steps
from bench.tools import Toolbox

TOOLS: tuple[str, ...] = ("pipfence", "pipenv", "uv")
OPS: tuple[str, ...] = (
    "lock-cold",
    "lock-warm",
    "lock-stale",
    "sync",
    "sync-noop",
    "run",
    "startup",
)
#: What runs after a timed sync, in the environment it made: the same sync again (nothing to
#: do), and `run python -c pass` (the tool's own overhead around a command).
AFTER_SYNC_OPS: tuple[str, ...] = ("sync-noop", "run")
LOCK_OPS: tuple[str, ...] = ("lock-cold", "lock-warm", "lock-stale")
STARTUP_INNER = 5  # start-up is short: each repetition times it this many times


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
    cpu_seconds: float | None = None  # user + system, the command and its waited children


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
    largest_rep: int = 0  # bytes the largest repetition so far left on disk (`retire`)
    #: (label, seconds) of each `fsprobe.probe`, made before a repetition's syncs.
    probes: list[tuple[str, float]] = field(default_factory=list)

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
            outcome.cpu_seconds,
        )
        self.measurements.append(entry)
        status = (
            f"{outcome.seconds:8.2f}s {outcome.cpu_seconds:6.2f}s CPU {outcome.peak_mib:7.1f} MiB"
        )
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
    if op == "lock-stale":
        time.sleep(STALE_PAUSE)  # untimed: every page of the last lock past pipfence's age
        steps = stale_lock_steps(slot, bench.toolbox)
    else:
        steps = lock_steps(slot, bench.toolbox)
    outcome = run_steps(steps, bench.timeout, log)
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
    with snapshot.serving(bench, workload) as url:
        bench.index_url = url
        try:
            time_workload(bench, workload, ops)
        finally:
            bench.index_url = None


#: Disk space a repetition's trees may not eat into: below it they are deleted at once.
_RESERVE = 5 << 30
_EARLY_DELETE_NOTE = (
    "a repetition's trees were deleted before the next one for lack of disk space: on a file "
    "system without a journal (ext4 in many VMs) new files and folders then cost more for a "
    "few minutes, for every tool alike."
)


def retire(bench: Bench, roots: list[Path], free_before: int) -> None:
    """Leave a finished repetition's caches and environments on disk until the bench ends
    (`cli.main` deletes its whole folder), when the disk has room for a few more repetitions
    like the largest so far. Deleting tens of thousands of files just before the next
    measurement skews it: ext4 without a journal will not reuse an inode freed in the last
    minutes and scans past every such one for each file or folder it makes, so the next
    repetition's syncs would pay for this one's deletion (system time several times higher).
    """
    free = shutil.disk_usage(bench.tmp).free
    bench.largest_rep = max(bench.largest_rep, free_before - free)
    if free > 3 * bench.largest_rep + _RESERVE:
        return
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
    if _EARLY_DELETE_NOTE not in bench.notes:
        bench.notes.append(_EARLY_DELETE_NOTE)


def time_workload(bench: Bench, workload: Path, ops: list[str]) -> None:
    name = workload.name
    for rep in range(bench.runs):
        free_before = shutil.disk_usage(bench.tmp).free
        order = rotated(bench.tools, rep)
        slots: dict[str, Slot] = {}
        if "lock-cold" in ops:
            for tool in order:
                timed_lock(
                    bench, slot_for(bench, slots, workload, rep, tool), name, "lock-cold", rep
                )
        for again in (o for o in LOCK_OPS[1:] if o in ops):  # warm, then stale
            for tool in order:
                slot = slot_for(bench, slots, workload, rep, tool)
                if slot.locked is None:
                    prime_lock(bench, slot, name)
                timed_lock(bench, slot, name, again, rep)
        wants_sync = "sync" in ops or any(op in ops for op in AFTER_SYNC_OPS)
        if wants_sync and bench.pipfence_sync is not None:
            seconds = fsprobe.probe(bench.tmp / "fsprobe" / f"{len(bench.probes)}-{name}-{rep}")
            if seconds is not None:
                bench.probes.append((f"{name} run {rep + 1}", seconds))
            for tool in order:
                timed_sync(bench, slot_for(bench, slots, workload, rep, tool), name, rep)
            for op in (o for o in AFTER_SYNC_OPS if o in ops):
                for tool in order:
                    timed_after_sync(bench, slots[tool], name, op, rep)
        retire(bench, [slot.root for slot in slots.values()], free_before)
