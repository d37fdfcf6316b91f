"""What `pipfence lock` asks the index for, counted by the index's own access log.

`lock --verbose` reports the requests it sent per source; this holds that report to the server's
log, and checks the shape of the work: one page per project, metadata reads for the versions
picked, and nothing at all for a warm lock within the page max-age.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from support.project import one_source_pipfile, out, read_lock, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

REPORT = re.compile(r"^(\d+) requests(?: \((.*)\))?$", re.MULTILINE)


def reported(stderr: str) -> tuple[int, str | None]:
    found = REPORT.search(stderr)
    assert found is not None, stderr
    return int(found.group(1)), found.group(2)


def test_verbose_lock_reports_the_requests_the_index_saw(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("app", "1.0", requires=["lib-a", "lib-b"])
    public_index.add_dist("lib-a", "2.0", requires=["lib-c"])
    public_index.add_dist("lib-b", "3.0")
    public_index.add_dist("lib-c", "4.0")
    public_index.add_dist("tool", "5.0")
    write_pipfile(
        pipfence_project,
        one_source_pipfile(public_index.simple_url, 'app = "*"\ntool = "*"\n', name="corp"),
    )
    public_index.clear_log()

    cold = run_pipfence(["lock", "-v"])
    assert cold.returncode == 0, out(cold)
    seen = public_index.requested_paths()
    count, per_source = reported(cold.stderr)
    assert count == len(seen)
    assert per_source == f"corp: {count}"
    # One page per project, each asked once; the rest are metadata reads of the five wheels.
    pages = sorted(p for p in seen if p.startswith("/simple/"))
    assert pages == [f"/simple/{n}/" for n in ("app", "lib-a", "lib-b", "lib-c", "tool")]
    assert len(seen) - len(pages) >= len(pages)
    assert set(read_lock(pipfence_project)["default"]) == {"app", "lib-a", "lib-b", "lib-c", "tool"}

    public_index.clear_log()
    warm = run_pipfence(["lock", "-v"])
    assert warm.returncode == 0, out(warm)
    assert reported(warm.stderr) == (0, None)
    assert public_index.requested_paths() == []


def test_httpx_fallback_sends_the_same_requests_and_writes_the_same_lock(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    pytest.importorskip("pycurl")  # without it both runs would use httpx
    public_index.add_dist("app", "1.0", requires=["lib-a>=1", "lib-b"])
    public_index.add_dist("lib-a", "1.5", requires=["lib-b<3"])
    public_index.add_dist("lib-a", "2.0")
    public_index.add_dist("lib-b", "2.0")
    public_index.add_dist("lib-b", "3.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'app = "*"\n'))
    locks: list[str] = []
    logs: list[list[str]] = []
    for transport in ("", "httpx"):
        public_index.clear_log()
        env = {**pipfence_env, "PIPFENCE_HTTP": transport}
        result = run_pipfence(["lock", "--clear", "-v"], env=env)
        assert result.returncode == 0, out(result)
        logs.append(sorted(public_index.requested_paths()))
        locks.append((pipfence_project / "Pipfile.lock").read_text())
    assert logs[0] == logs[1]
    assert locks[0] == locks[1]
    assert set(read_lock(pipfence_project)["default"]) == {"app", "lib-a", "lib-b"}


def test_a_lock_of_wheels_loads_no_installer_build_or_httpx_code(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    pytest.importorskip("pycurl")  # without it, httpx is the transport
    public_index.add_dist("app", "1.0", requires=["lib"])
    public_index.add_dist("lib", "2.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'app = "*"\n'))
    result = run_pipfence(["lock"], env={**pipfence_env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, out(result)
    loaded = {
        line.rpartition("|")[2].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "pipfence.project.lock" in loaded
    assert "pipfence.index.http.curl" in loaded
    # Each costs 15-70 ms of start-up; a lock with nothing to build needs none of them.
    assert {"installer", "pyproject_hooks", "httpx", "urllib.request"} & loaded == set()


def test_a_sync_of_a_current_lock_loads_no_resolver(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    pipfence_env: dict[str, str],
    public_index: PypiServer,
) -> None:
    public_index.add_dist("app", "1.0", requires=["lib"])
    public_index.add_dist("lib", "2.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'app = "*"\n'))
    env = {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}
    assert run_pipfence(["install"], env=env).returncode == 0
    result = run_pipfence(["sync"], env={**env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, out(result)
    loaded = {
        line.rpartition("|")[2].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "pipfence.project.sync" in loaded
    # The no-op sync is start-up bound: the resolver is for locking only.
    assert {m for m in loaded if m.startswith(("pipfence.resolver", "resolvelib"))} == set()
