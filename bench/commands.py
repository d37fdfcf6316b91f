"""Each tool's commands for one workload: its project copy (a slot), lock, sync and start-up."""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import snapshot
from bench.processes import ANSI, Step
from bench.tools import Toolbox, isolated_env

REQUESTS_LINE = re.compile(r"^\W*(\d+) requests?\b", re.MULTILINE)


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


#: ``lock-stale``: pipfence's page age, and the pause before the lock that puts every page
#: of the last lock past it.
STALE_PAGE_AGE = 1
STALE_PAUSE = 1.2


def stale_lock_steps(slot: Slot, toolbox: Toolbox) -> list[Step]:
    """The lock again once every cached page is past its age, nothing else changed: pipfence
    with ``PIPFENCE_PAGE_MAX_AGE`` at `STALE_PAGE_AGE` (run `STALE_PAUSE` after its last lock),
    so that it must ask the index for each page again. uv and pipenv have no such setting:
    their warm lock, which asks again for each page that came without caching headers."""
    steps = lock_steps(slot, toolbox)
    if slot.tool != "pipfence":
        return steps
    return [
        Step(step.argv, step.cwd, {**step.env, "PIPFENCE_PAGE_MAX_AGE": str(STALE_PAGE_AGE)})
        for step in steps
    ]


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
