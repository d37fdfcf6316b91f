"""How fast the file system makes files right now: a probe timed before each repetition's
syncs, so that the report can tell a slow tool from a slow disk.

A sync into a new environment is mostly folders and hard links, and on the virtual machines
this benchmark runs on the same 16,000 links took anywhere from 0.25 s to 1.4 s within one
hour (after other work deleted many files: see `operations.retire`). Both tools of a pair
pay alike, since they run back to back, but a ratio of two such timings swings with it, and
so does a median of five. The probe makes `LINKS` hard links in new folders, as an install
does; its files stay until the bench ends (deleting them would slow the next measurement).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

__all__ = ["LINKS", "io_pressure", "probe", "probe_note"]

#: Hard links a probe makes, `_PER_FOLDER` to a new folder (an install's proportions).
LINKS = 1000
_PER_FOLDER = 10
#: A probe this many times slower than the run's fastest marks a slowed file system.
SLOW = 3.0


def probe(folder: Path, links: int = LINKS) -> float | None:
    """Seconds to make ``links`` hard links to one file, in new folders under ``folder``
    (a new folder, made here; all left there). None when the file system refused (a full
    disk, no hard links): the benchmark goes on without the probe."""
    try:
        folder.mkdir(parents=True)
        source = folder / "source"
        source.write_bytes(b"probe\n")
        started = time.perf_counter()
        for index in range(links):
            sub = folder / f"d{index // _PER_FOLDER}"
            if index % _PER_FOLDER == 0:
                sub.mkdir()
            os.link(source, sub / f"f{index}")
    except OSError:
        return None
    return time.perf_counter() - started


def io_pressure() -> str | None:
    """The kernel's I/O pressure line (``some avg10=… avg60=… avg300=…``), None where there
    is none (not Linux, or no pressure accounting)."""
    try:
        with open("/proc/pressure/io", encoding="ascii") as fh:
            line = fh.readline().strip()
    except OSError:
        return None
    return " ".join(part for part in line.split() if not part.startswith("total=")) or None


def probe_note(probes: list[tuple[str, float]]) -> str | None:
    """A line for the report on the probes, each (label, seconds): their range, and the ones
    `SLOW` times slower than the fastest, whose syncs are suspect. None without probes."""
    if not probes:
        return None
    times = [seconds for _label, seconds in probes]
    fastest = min(times)
    line = (
        f"file-system probe ({LINKS} hard links in new folders, before each repetition's "
        f"syncs): median {statistics.median(times) * 1000:.0f} ms, "
        f"{fastest * 1000:.0f}-{max(times) * 1000:.0f} ms"
    )
    slow = [label for label, seconds in probes if seconds > SLOW * fastest]
    if slow:
        line += (
            f"; the file system was over {SLOW:g} times slower before {', '.join(slow)}: "
            "the syncs timed then are suspect"
        )
    return line
