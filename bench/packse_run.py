"""Run packse's resolver scenarios through `pipfence lock` and compare with their expected outcome.

packse (https://github.com/astral-sh/packse) describes each scenario as root requirements, a
small set of packages and the expected result: satisfiable or not and, when it is, the version of
every package that gets installed. This script (run by `make packse`):

1. asks `packse inspect` for every scenario (package names carry the scenario's name, so all of
   them share one index) and `packse index build` for a static index holding their files;
2. serves that index on 127.0.0.1;
3. for each scenario that one environment can express as a Pipfile — its root requirements in
   `[packages]`, its Python in `[requires]`, `allow_prereleases` when it asks for pre-releases —
   runs `pipfence lock` and compares: the lock must fail when the scenario is unsatisfiable, and
   otherwise pin exactly the expected versions (entries whose markers are false for the
   scenario's Python left out, as they are not installed there);
4. prints a table (scenario, expected, what pipfence did, verdict) and a summary: passed,
   differs (each with the reason), not expressible in a Pipfile (each with the reason).

Scenarios that cannot be a Pipfile are listed, not run: universal / multi-environment locks
(`universal`, `required_environments`), pip options a Pipfile has no place for (`--no-build`,
`--no-binary`, `--python-platform`), and root requirements that name one package twice with
different markers (a Pipfile has one entry per name).

Usage: python bench/packse_run.py --packse PATH/TO/packse [--scenarios DIR] [--work DIR]
[--pipfence CMD] [-k SUBSTRING] [--json FILE]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]

# Environment variables that would widen or redirect what pipfence and pip read.
_DROPPED = ("PIP_", "PIPENV_", "PIPFENCE_", "UV_")


# Scenarios whose expected outcome is uv's semantics where pip's (and so pipenv's) differ, with
# the reason; checked against pip 26.3 on the same index. They count as "differs" and show this
# reason instead of the bare mismatch.
KNOWN: dict[str, str] = {
    "package-only-prereleases-in-range": (
        "pip 26.3 (pipenv's resolver) also takes the pre-release when no final release matches "
        "the specifier (PEP 440); uv asks for an explicit opt-in"
    ),
    "transitive-package-only-prereleases-in-range": (
        "as package-only-prereleases-in-range, for a dependency: pip takes the pre-release too"
    ),
    "transitive-prerelease-and-stable-dependency": (
        "a dependency pinned to a pre-release (`c==2.0.0b1`) opts in, as in pip 26.3; uv refuses"
    ),
    "transitive-prerelease-and-stable-dependency-many-versions": (
        "a pre-release named by a dependency's specifier opts in, as in pip 26.3; uv refuses"
    ),
    "transitive-prerelease-and-stable-dependency-many-versions-holes": (
        "a pre-release named by a dependency's specifier opts in, as in pip 26.3; uv refuses"
    ),
    "transitive-yanked-and-unyanked-dependency": (
        "PEP 592 as pip 26.3 applies it: the merged requirement pins c==2.0.0, so the yanked "
        "release may be used; uv allows it only for a direct == requirement"
    ),
    "python-less-than-current": (
        "uv ignores the upper bound of Requires-Python (<=3.8 on 3.9); pip and pipenv honour it, "
        "as pipfence does"
    ),
    "python-patch-override-no-patch": (
        '`[requires] python_version = "3.9"` means the 3.9 interpreter that will be used '
        "(pipenv's meaning; 3.9.18 here), not 3.9.0 as uv's --python-version does"
    ),
}


@dataclass
class Outcome:
    name: str
    expected: str
    got: str = ""
    verdict: str = ""  # "passed", "differs", "not expressible"
    reason: str = ""
    explanation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def scenario_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.rglob("*") if p.suffix in {".toml", ".json", ".yaml", ".yml"}
    )


def packse_env(packse: Path) -> dict[str, str]:
    """packse builds with `hatchling` from its own environment's bin folder."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_DROPPED)}
    env["PATH"] = f"{packse.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def inspect(packse: Path, files: list[Path]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [packse, "inspect", "--no-hash", "--skip-invalid", *files],
        capture_output=True,
        text=True,
        check=True,
        env=packse_env(packse),
    )
    scenarios: list[dict[str, Any]] = json.loads(result.stdout)["scenarios"]
    return scenarios


def build_index(packse: Path, files: list[Path], index_dir: Path) -> Path:
    """`packse index build`; its last step copies a development-only `vendor` folder that an
    installed packse does not ship, so only the rendered pages and files are required."""
    result = subprocess.run(
        [packse, "index", "build", "--no-hash", "--index-dir", index_dir, *files],
        capture_output=True,
        text=True,
        check=False,
        env=packse_env(packse),
    )
    simple = index_dir / "simple-html"
    if not (simple / "index.html").is_file():
        sys.exit(f"packse index build failed:\n{result.stdout}\n{result.stderr}")
    return simple


def not_expressible(scenario: dict[str, Any]) -> str | None:
    options = scenario["resolver_options"]
    if options.get("universal"):
        return "universal lock (all environments at once): not a single-environment scenario"
    if options.get("required_environments"):
        return "required environments (a multi-environment lock)"
    if options.get("no_build"):
        return "pip's --no-build (only wheels for some packages): no Pipfile setting"
    if options.get("no_binary"):
        return "pip's --no-binary (only sdists for some packages): no Pipfile setting"
    if options.get("python_platform"):
        return "pip's --python-platform (resolve for another OS): no Pipfile setting"
    names: dict[str, str | None] = {}
    for item in scenario["root"]["requires"]:
        req = Requirement(item["requirement"])
        key = canonicalize_name(req.name)
        marker = str(req.marker) if req.marker else None
        if key in names and names[key] != marker:
            return "one package required twice with different markers: a Pipfile has one entry"
        names[key] = marker
    return None


def target_python(scenario: dict[str, Any]) -> str:
    return str(scenario["resolver_options"].get("python") or scenario["environment"]["python"])


def _toml(value: str) -> str:
    return json.dumps(value)


def pipfile(scenario: dict[str, Any], index_url: str) -> str:
    """The scenario as a Pipfile: one source, its root requirements merged per name."""
    merged: dict[str, dict[str, Any]] = {}
    for item in scenario["root"]["requires"]:
        req = Requirement(item["requirement"])
        entry = merged.setdefault(
            req.name, {"specifiers": [], "extras": set(), "marker": req.marker}
        )
        if str(req.specifier):
            entry["specifiers"].append(str(req.specifier))
        entry["extras"] |= set(req.extras)
    rows = []
    for name, entry in merged.items():
        parts = [f"version = {_toml(','.join(entry['specifiers']) or '*')}"]
        if entry["extras"]:
            parts.append("extras = [" + ", ".join(_toml(e) for e in sorted(entry["extras"])) + "]")
        if entry["marker"] is not None:
            parts.append(f"markers = {_toml(str(entry['marker']))}")
        rows.append(f"{_toml(name)} = {{{', '.join(parts)}}}")
    python = target_python(scenario)
    key = "python_full_version" if python.count(".") >= 2 else "python_version"
    text = (
        f'[[source]]\nurl = "{index_url}"\nverify_ssl = false\nname = "packse"\n\n'
        "[packages]\n" + "\n".join(rows) + "\n\n"
        f'[requires]\n{key} = "{python}"\n'
    )
    if scenario["resolver_options"].get("prereleases"):
        text += "\n[pipenv]\nallow_prereleases = true\n"
    return text


def marker_environment(python: str) -> dict[str, str]:
    env = default_environment()
    parts = python.split(".")
    env["python_version"] = ".".join(parts[:2])
    env["python_full_version"] = python if len(parts) >= 3 else f"{python}.0"
    return {key: str(value) for key, value in env.items()}  # every value is a str


def expected_text(scenario: dict[str, Any]) -> str:
    expected = scenario["expected"]
    if not expected["satisfiable"]:
        return "unsatisfiable"
    return " ".join(f"{p['name']}=={p['version']}" for p in expected["packages"]) or "satisfiable"


def pipfence_environ(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_DROPPED)}
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(proxy, None)
    env.update(
        {
            "PIPFENCE_CACHE_DIR": str(work / "cache"),
            "WORKON_HOME": str(work / "virtualenvs"),
            "PIP_CONFIG_FILE": os.devnull,
            "NO_PROXY": "127.0.0.1,localhost",
            "NO_COLOR": "1",
            "PYTHONPATH": str(REPO / "src"),
        }
    )
    return env


def run_one(scenario: dict[str, Any], index_url: str, work: Path, pipfence: list[str]) -> Outcome:
    outcome = Outcome(
        scenario["name"], expected_text(scenario), explanation=scenario["expected"]["explanation"]
    )
    reason = not_expressible(scenario)
    if reason is not None:
        outcome.verdict, outcome.reason = "not expressible", reason
        return outcome
    project = work / "projects" / scenario["name"]
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    (project / "Pipfile").write_text(pipfile(scenario, index_url), encoding="utf-8")
    result = subprocess.run(
        [*pipfence, "lock"],
        cwd=project,
        env=pipfence_environ(work),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    message = (result.stderr.strip().splitlines() or [""])[0]
    expected = scenario["expected"]
    if result.returncode != 0:
        outcome.got = f"exit {result.returncode}: {message}"
        if expected["satisfiable"]:
            outcome.verdict, outcome.reason = "differs", f"lock failed: {message}"
        elif result.returncode == 1:
            outcome.verdict = "passed"
        else:
            outcome.verdict = "differs"
            outcome.reason = (
                f"unsatisfiable, but exit {result.returncode} (not a resolution failure)"
            )
        return outcome
    lock = json.loads((project / "Pipfile.lock").read_text(encoding="utf-8"))
    env = marker_environment(target_python(scenario))
    pinned = {
        canonicalize_name(name): entry.get("version", "").removeprefix("==")
        for name, entry in lock.get("default", {}).items()
        if not entry.get("markers") or Marker(entry["markers"]).evaluate(env)
    }
    outcome.got = " ".join(f"{n}=={v}" for n, v in sorted(pinned.items())) or "(nothing)"
    if not expected["satisfiable"]:
        outcome.verdict, outcome.reason = "differs", "locked although unsatisfiable"
        return outcome
    want = {canonicalize_name(p["name"]): p["version"] for p in expected["packages"]}
    if not want or pinned == want:
        # A scenario without `expected.packages` asserts only that it resolves.
        outcome.verdict = "passed"
        return outcome
    outcome.verdict = "differs"
    moved = [
        f"{n} {want.get(n, '-')} -> {pinned.get(n, '-')}"
        for n in sorted(want.keys() | pinned.keys())
        if want.get(n) != pinned.get(n)
    ]
    outcome.reason = "versions: " + ", ".join(moved)
    return outcome


def explain(outcome: Outcome) -> Outcome:
    """A difference with a known cause gets that cause as its reason."""
    if outcome.verdict == "differs" and outcome.name in KNOWN:
        outcome.reason = f"{KNOWN[outcome.name]} [{outcome.reason}]"
    return outcome


def add_build_requirements(index_dir: Path, wheels: Path) -> None:
    """Serve the wheels in `wheels` (hatchling and its dependencies: what packse's sdists
    build with) from the scenario index too, as packse's own `vendor` folder does for uv."""
    files = index_dir / "files"
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        shutil.copyfile(wheel, files / wheel.name)
        projects.setdefault(canonicalize_name(wheel.name.split("-", 1)[0]), []).append(wheel)
    for project, found in projects.items():
        links = "".join(
            f'<a href="../../files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">'
            f"{w.name}</a><br>\n"
            for w in found
        )
        page = index_dir / "simple-html" / project
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'scenario':<72} {'verdict':<16} expected -> pipfence"]
    for o in outcomes:
        shown = "" if o.verdict == "not expressible" else f"{o.expected} -> {o.got}"
        lines.append(f"{o.name:<72} {o.verdict:<16} {shown}")
    counts = {
        v: sum(o.verdict == v for o in outcomes) for v in ("passed", "differs", "not expressible")
    }
    lines += [
        "",
        (
            f"{len(outcomes)} scenarios: {counts['passed']} passed, {counts['differs']} differ, "
            f"{counts['not expressible']} not expressible in a Pipfile"
        ),
    ]
    for verdict in ("differs", "not expressible"):
        chosen = [o for o in outcomes if o.verdict == verdict]
        if chosen:
            lines += ["", f"{verdict}:"]
            lines += [f"  {o.name}: {o.reason}" for o in chosen]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--packse", type=Path, required=True, help="the packse executable")
    parser.add_argument("--scenarios", type=Path, help="scenario folder (default: packse fetch)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument(
        "--pipfence",
        default=f"{sys.executable} -m pipfence",
        help="the pipfence command (default: this Python, -m pipfence, with src on PYTHONPATH)",
    )
    parser.add_argument(
        "--build-deps",
        type=Path,
        help="a folder of wheels (hatchling and its dependencies) the sdists build with",
    )
    parser.add_argument("-k", dest="select", help="only scenarios whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the outcomes here as JSON")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="packse-"))
    work.mkdir(parents=True, exist_ok=True)
    packse = args.packse.resolve()
    scenarios_dir = args.scenarios
    if scenarios_dir is None:
        scenarios_dir = work / "scenarios"
        if not scenarios_dir.exists():
            subprocess.run(
                [packse, "fetch", "--dest", scenarios_dir], check=True, env=packse_env(packse)
            )
    files = scenario_files(scenarios_dir)
    scenarios = inspect(packse, files)
    if args.select:
        scenarios = [s for s in scenarios if args.select in s["name"]]
    index_dir = work / "index"
    if not (index_dir / "simple-html" / "index.html").is_file():
        build_index(packse, files, index_dir)
    if args.build_deps is not None:
        add_build_requirements(index_dir, args.build_deps)
    server, base = serve(index_dir)
    try:
        pipfence = args.pipfence.split()
        outcomes = [explain(run_one(s, f"{base}/simple-html/", work, pipfence)) for s in scenarios]
    finally:
        server.shutdown()
    print(report(outcomes))
    print(f"\n(python {platform.python_version()}, work folder {work})")
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
