"""`pipfence lock` of the shared benchmark Pipfiles against the real public index (pypi.org).

Marked `online`: skipped by `make test`, run by `make test-online`. Each workload's Pipfile is
copied into a fresh project with an empty cache; the first lock is cold, the second warm, and
the two files must be byte-identical.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.markers import InvalidMarker, Marker

if TYPE_CHECKING:
    from support import RunPipfence

pytestmark = [pytest.mark.online, pytest.mark.integration]

WORKLOADS = Path(__file__).resolve().parents[3] / "shared" / "bench-workloads"
LOCK_TIMEOUT = 600.0
SECTIONS = ("default", "develop")

# (workload, fewest and most named entries expected across default + develop). The large
# workload locked to 71 entries when this test was written; the range absorbs upstream churn.
CASES = [("small", 4, 8), ("large", 55, 90)]


def pipfile_tables(text: str) -> dict[str, set[str]]:
    """The package names of [packages] and [dev-packages], keyed by their lock section."""
    tables: dict[str, set[str]] = {"default": set(), "develop": set()}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = {"[packages]": "default", "[dev-packages]": "develop"}.get(line)
        elif current is not None and "=" in line and not line.startswith("#"):
            tables[current].add(line.split("=", 1)[0].strip().lower())
    return tables


def entries(lock: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(section, name, entry) for section in SECTIONS for name, entry in lock[section].items()]


def bad_markers(lock: dict[str, Any]) -> list[str]:
    bad = []
    for section, name, entry in entries(lock):
        if "markers" in entry:
            try:
                Marker(entry["markers"])
            except InvalidMarker:
                bad.append(f"{section}/{name}: {entry['markers']}")
    return bad


@pytest.mark.parametrize(("workload", "fewest", "most"), CASES, ids=[c[0] for c in CASES])
def test_lock_real_workload_is_complete_verified_and_reproducible(
    run_pipfence: RunPipfence, pipfence_project: Path, workload: str, fewest: int, most: int
) -> None:
    source = WORKLOADS / workload / "Pipfile"
    if not source.is_file():
        pytest.skip(f"benchmark workload {source} is absent (expected under /work/shared)")
    shutil.copyfile(source, pipfence_project / "Pipfile")
    lock_path = pipfence_project / "Pipfile.lock"

    cold = run_pipfence(["lock"], timeout=LOCK_TIMEOUT)
    assert cold.returncode == 0, cold.stderr
    first = lock_path.read_bytes()
    lock: dict[str, Any] = json.loads(first)

    named = entries(lock)
    assert fewest <= len(named) <= most, sorted(f"{s}/{n}" for s, n, _ in named)
    unhashed = [
        f"{section}/{name}"
        for section, name, entry in named
        if not any(h.startswith("sha256:") for h in entry.get("hashes", []))
    ]
    assert unhashed == []
    assert all(entry["version"].startswith("==") for _, _, entry in named)
    assert bad_markers(lock) == []

    for section, names in pipfile_tables(source.read_text(encoding="utf-8")).items():
        assert names <= set(lock[section]), (section, sorted(names - set(lock[section])))
        assert {lock[section][name].get("index") for name in names} <= {"pypi"}
    assert [s["url"] for s in lock["_meta"]["sources"]] == ["https://pypi.org/simple"]
    assert lock["_meta"]["requires"] == {"python_version": "3.11"}

    verified = run_pipfence(["verify"])
    assert verified.returncode == 0, verified.stderr

    warm = run_pipfence(["lock"], timeout=LOCK_TIMEOUT)
    assert warm.returncode == 0, warm.stderr
    assert lock_path.read_bytes() == first
