"""The results table gives each tool's median CPU time beside its wall time (bench/report.py)."""

from __future__ import annotations

from pathlib import Path

from bench import operations, report
from bench.processes import Outcome
from bench.tools import Toolbox


def _bench(tmp: Path) -> operations.Bench:
    toolbox = Toolbox(tmp, tmp, tmp, tmp, "python3", plot_ok=False, versions={})
    return operations.Bench(toolbox, ("pipfence", "uv"), 3, 60.0, tmp, None)


def test_the_table_shows_median_cpu_seconds_and_their_ratio(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    runs = {
        "pipfence": [(2.0, 3.1), (2.4, 3.3), (9.0, 3.2)],
        "uv": [(1.5, 1.6), (1.6, 1.5), (1.7, 1.7)],
    }
    for tool, pairs in runs.items():
        for rep, (seconds, cpu) in enumerate(pairs):
            outcome = Outcome(seconds, 100.0, 0, cpu_seconds=cpu)
            bench.record("stress", "lock-cold", tool, rep, outcome)
    rows = report.table_rows(bench, ["stress"], ["lock-cold"])
    text = report.render_markdown(bench, rows, ["stress"], ["lock-cold"], "now")
    header = next(line for line in text.splitlines() if line.startswith("| workload"))
    row = next(line for line in text.splitlines() if line.startswith("| stress"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    values = dict(zip(columns, (c.strip() for c in row.strip("|").split("|")), strict=True))
    assert values["pipfence s"] == "2.40"
    assert values["pipfence CPU s"] == "3.20"
    assert values["uv CPU s"] == "1.60"
    assert values["pipfence/uv CPU"] == "2.00x"
    summary = report.json_summary(bench, rows)
    assert summary[0]["tools"]["pipfence"]["cpu"] == 3.2  # type: ignore[index]


def test_a_failed_run_leaves_its_cpu_time_out_of_the_median(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    bench.record("large", "sync", "pipfence", 0, Outcome(1.0, 50.0, 0, cpu_seconds=0.5))
    bench.record("large", "sync", "pipfence", 1, Outcome(0.1, 50.0, 1, "exit 1", cpu_seconds=0.1))
    cell = report.summarize(bench.measurements, "large", "sync", "pipfence")
    assert cell is not None
    assert cell.cpu == 0.5
