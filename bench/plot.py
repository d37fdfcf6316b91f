"""The plot of time and requests against packages, drawn by matplotlib in the tools venv."""

from __future__ import annotations

from pathlib import Path

from bench.operations import Bench
from bench.processes import capture
from bench.tools import isolated_env

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
styles = {"lock-cold": "-", "lock-warm": "--", "lock-stale": "-.", "sync": ":"}
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


def draw_plot(bench: Bench, json_path: Path, png_path: Path) -> str | None:
    if not bench.toolbox.plot_ok:
        return "no plot: matplotlib could not be installed in the tools venv"
    script = bench.tmp / "plot.py"
    script.write_text(PLOT_SCRIPT)
    argv = [str(bench.toolbox.tools_python), str(script), str(json_path), str(png_path)]
    code, text = capture(argv, isolated_env())
    return None if code == 0 else f"plot failed: {text.splitlines()[-1] if text else code}"
