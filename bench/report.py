"""The results: medians and ratios as a markdown table, how cost grows, and the JSON beside them."""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import statistics
import sys
from dataclasses import asdict, dataclass

from bench import REPO, fsprobe
from bench.operations import LOCK_OPS, TOOLS, Bench, Measurement
from bench.plot import draw_plot

RESULTS = REPO / "bench" / "results"


@dataclass
class Cell:
    median: float | None
    peak: float | None
    ok: int
    total: int
    error: str | None
    requests: float | None = None  # median request count (pipfence locks)
    cpu: float | None = None  # median CPU seconds (user + system)


def summarize(measurements: list[Measurement], workload: str, op: str, tool: str) -> Cell | None:
    picked = [m for m in measurements if (m.workload, m.op, m.tool) == (workload, op, tool)]
    if not picked:
        return None
    good = [m for m in picked if m.ok]
    errors = [m.error for m in picked if not m.ok]
    counts = [m.requests for m in good if m.requests is not None]
    cpus = [m.cpu_seconds for m in good if m.cpu_seconds is not None]
    return Cell(
        median=statistics.median(m.seconds for m in good) if good else None,
        peak=max(m.peak_mib for m in good) if good else None,
        ok=len(good),
        total=len(picked),
        error=errors[-1] if errors else None,
        requests=statistics.median(counts) if counts else None,
        cpu=statistics.median(cpus) if cpus else None,
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


def fmt_cpu(cell: Cell | None) -> str:
    return "-" if cell is None or cell.cpu is None else fmt_seconds(cell.cpu)


def fmt_cpu_ratio(top: Cell | None, bottom: Cell | None) -> str:
    if top is None or bottom is None or top.cpu is None or not bottom.cpu:
        return "-"
    return f"{top.cpu / bottom.cpu:.2f}x"


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
    header += [f"{t} CPU s" for t in tools]
    header += [f"{a}/{b} CPU" for a, b in ratios]
    lines = [
        f"# pipfence benchmark, {started}",
        "",
        (
            f"{bench.runs} repetition(s), medians of successful runs; peak = max RSS of the largest "
            "single process of a command, over its runs; pipfence requests = median of the "
            "request counts its `lock -v` printed; CPU s = median user + system time of the "
            "command and the children it waited for (a lock's swings about half as much as its "
            "wall time; a sync's is mostly the kernel's and swings with the disk)."
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
        values += [fmt_cpu(cells[t]) for t in tools]
        values += [fmt_cpu_ratio(cells[a], cells[b]) for a, b in ratios]
        lines.append("| " + " | ".join(values) + " |")
    lines += ["", *render_growth(bench, workloads, ops)]
    lines += [
        "Tool versions: " + ", ".join(f"{k} {v}" for k, v in bench.toolbox.versions.items()),
    ]
    lines += ["", "Notes:", *(f"- {note}" for note in bench.notes), ""]
    return "\n".join(lines)


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


def write_results(bench: Bench, workloads: list[str], ops: list[str], started: str) -> None:
    rows = table_rows(bench, workloads, ops)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bench.notes.append(
        f"peak MiB has a floor of about this benchmark's own peak RSS ({floor:.0f} MiB): Linux "
        "charges a child the memory of the process it was forked from until it execs."
    )
    probed = fsprobe.probe_note(bench.probes)
    if probed is not None:
        bench.notes.append(probed)
    pressure = fsprobe.io_pressure()
    if pressure is not None:
        bench.notes.append(f"the kernel's I/O pressure at the end: {pressure} (% of time stalled)")
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
        "fs_probes": bench.probes,
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
