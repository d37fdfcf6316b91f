"""Finding a workload's folder: ``bench/workloads/`` first, then the shared workloads."""

from __future__ import annotations

import os
from pathlib import Path

from bench import REPO

WORKLOADS: tuple[str, ...] = ("small", "medium", "large", "stress")
OWN_WORKLOADS = REPO / "bench" / "workloads"
WORKLOAD_FILES = ("Pipfile", "requirements.in", "requirements-dev.in")


def workloads_root() -> Path:
    if override := os.environ.get("BENCH_WORKLOADS"):
        return Path(override)
    return REPO.parent / "shared" / "bench-workloads"


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
