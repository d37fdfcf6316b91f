"""Interrupted and concurrent runs: SIGINT is exit 130 with nothing changed, SIGKILL at any
moment leaves a whole Pipfile.lock (old or new) and an environment the next sync repairs, and
many syncs sharing one cache do not corrupt it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support import start_pipfence
from support.faultserver import Hang, Trickle
from support.processes import finish, wait_for
from support.project import SEED_PACKAGES, dist_infos, out, read_lock, site_packages, source_table

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def installed(project: Path) -> dict[str, str]:
    """Name -> version read from the dist-info folder names (so names are escaped as there,
    as `locked` writes them; `support.project.installed` reads METADATA instead)."""
    return {
        name.lower(): version
        for name, version in (
            entry.removesuffix(".dist-info").rsplit("-", 1) for entry in dist_infos(project)
        )
        if name.lower() not in SEED_PACKAGES
    }


def locked(project: Path) -> dict[str, str]:
    return {
        name.replace("-", "_"): entry["version"].removeprefix("==")
        for name, entry in read_lock(project)["default"].items()
    }


def listing(project: Path) -> list[str]:
    """Every path in the project but the environment."""
    return sorted(
        str(p.relative_to(project))
        for p in project.rglob("*")
        if ".venv" not in p.relative_to(project).parts
    )


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "PIPFENCE_TIMEOUT": "30"}


# -- SIGINT ----------------------------------------------------------------------------------

PROMPT = "prompt"


@pytest.mark.parametrize("when", [PROMPT, "eventually"])
@pytest.mark.parametrize("slow", ["hang", "trickle"])
def test_sigint_during_lock_exits_130_and_changes_nothing(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    slow: str,
    when: str,
) -> None:
    """`prompt`: exit within 5 s of the signal. `eventually`: once the server gives up (6 s,
    no retries), the outcome is still exit 130 with nothing written."""
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    head = source_table("corp", fault_server.simple_url) + "[packages]\n"
    (pipfence_project / "Pipfile").write_text(head + 'payload = "*"\n', encoding="utf-8")
    first = cli(["lock"])
    assert first.returncode == 0, out(first)
    (pipfence_project / "Pipfile").write_text(
        head + 'payload = "*"\nslowpkg = "*"\n', encoding="utf-8"
    )
    pipfile = (pipfence_project / "Pipfile").read_bytes()
    lock = (pipfence_project / "Pipfile.lock").read_bytes()
    before = listing(pipfence_project)
    behaviour = Hang(6) if slow == "hang" else Trickle("<html>" * 200, interval=0.5, limit=6)
    fault_server.route("/simple/slowpkg/", behaviour)

    process = start_pipfence(
        ["lock"],
        pipfence_project,
        {**env, "PIPFENCE_PAGE_MAX_AGE": "0", "PIPFENCE_RETRIES": "1"},
    )
    wait_for(lambda: "/simple/slowpkg/" in fault_server.paths())
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    result = finish(process, timeout=5 if when == "prompt" else 30)
    assert result.returncode == 130, out(result)
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
    assert listing(pipfence_project) == before


def test_sigterm_during_install_is_undone_as_an_interrupt_is_and_exits_143(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """SIGTERM is what `timeout`, `docker stop` and a cancelled CI job send: the command stops
    as at Ctrl-C, nothing changed and no staged file left, with the shell's status for it."""
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    head = source_table("corp", fault_server.simple_url) + "[packages]\n"
    (pipfence_project / "Pipfile").write_text(head + 'payload = "*"\n', encoding="utf-8")
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    pipfile = (pipfence_project / "Pipfile").read_bytes()
    lock = (pipfence_project / "Pipfile.lock").read_bytes()
    before, env_before = listing(pipfence_project), installed(pipfence_project)
    fault_server.route("/simple/slowpkg/", Hang(6))
    process = start_pipfence(
        ["install", "slowpkg"],
        pipfence_project,
        {**env, "PIPFENCE_PAGE_MAX_AGE": "0", "PIPFENCE_RETRIES": "1"},
    )
    wait_for(lambda: "/simple/slowpkg/" in fault_server.paths())
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    result = finish(process, timeout=5)
    assert result.returncode == 143, out(result)
    assert "terminated" in result.stderr
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
    assert listing(pipfence_project) == before
    assert installed(pipfence_project) == env_before


def test_sigint_while_a_remembered_lock_asks_for_its_pages_again_exits_at_once(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """Pages past their age are asked again before a remembered lock is used (`LockMemo`):
    a signal then must not wait for the requests still in flight."""
    fault_server.add_project("payload", [dist_factory.wheel("payload", "1.0")])
    fault_server.add_project("slowpkg", [dist_factory.wheel("slowpkg", "1.0")])
    pipfile = source_table("corp", fault_server.simple_url) + '[packages]\npayload = "*"\n'
    (pipfence_project / "Pipfile").write_text(pipfile + 'slowpkg = "*"\n', encoding="utf-8")
    first = cli(["lock"])
    assert first.returncode == 0, out(first)
    lock = (pipfence_project / "Pipfile.lock").read_bytes()
    before = listing(pipfence_project)
    fault_server.route("/simple/slowpkg/", Hang(20))
    time.sleep(1.2)  # both pages past the age below

    asked = fault_server.paths().count("/simple/slowpkg/")
    process = start_pipfence(
        ["lock"], pipfence_project, {**env, "PIPFENCE_PAGE_MAX_AGE": "1", "PIPFENCE_RETRIES": "1"}
    )
    wait_for(lambda: fault_server.paths().count("/simple/slowpkg/") > asked)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    result = finish(process, timeout=5)
    assert result.returncode == 130, out(result)
    assert "Traceback" not in result.stderr
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
    assert listing(pipfence_project) == before


@pytest.mark.parametrize("when", [PROMPT, "eventually"])
def test_sigint_during_sync_download_exits_130_and_leaves_the_environment(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
    when: str,
) -> None:
    old = dist_factory.wheel("payload", "1.0")
    new = dist_factory.wheel("payload", "2.0")
    other = dist_factory.wheel("other", "1.0")
    fault_server.add_project("payload", [old, new])
    fault_server.add_project("other", [other])
    head = source_table("corp", fault_server.simple_url) + "[packages]\n"
    (pipfence_project / "Pipfile").write_text(head + 'payload = "==1.0"\n', encoding="utf-8")
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    (pipfence_project / "Pipfile").write_text(
        head + 'payload = "==2.0"\nother = "*"\n', encoding="utf-8"
    )
    relock = cli(["lock"])
    assert relock.returncode == 0, out(relock)
    envs_before = dist_infos(pipfence_project)
    assert installed(pipfence_project) == {"payload": "1.0"}
    project_before = listing(pipfence_project)
    lock = (pipfence_project / "Pipfile.lock").read_bytes()
    fault_server.route(f"/files/{new.name}", Trickle(new.read_bytes(), interval=0.2, limit=6))
    fault_server.clear()

    # `--clear`: the lock kept the wheel it read whole (the server ignores range requests).
    process = start_pipfence(
        ["sync", "--clear"], pipfence_project, {**env, "PIPFENCE_RETRIES": "1"}
    )
    wait_for(lambda: f"/files/{new.name}" in fault_server.paths())
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    result = finish(process, timeout=5 if when == "prompt" else 30)
    assert result.returncode == 130, out(result)
    assert "Traceback" not in result.stderr
    assert dist_infos(pipfence_project) == envs_before
    assert installed(pipfence_project) == {"payload": "1.0"}
    assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
    assert listing(pipfence_project) == project_before
    leftovers = list((pipfence_project / ".venv").rglob("*pipfence-tmp*"))
    assert leftovers == []


# -- SIGKILL -----------------------------------------------------------------------------------


def _populate(index: PypiServer, count: int = 12) -> str:
    names = [f"pkg{i:02d}" for i in range(count)]
    for i, name in enumerate(names):
        requires = [names[i + 1]] if i + 1 < count else []
        index.add_dist(name, "1.0", requires=requires)
        index.add_dist(name, "2.0", requires=requires)
    return names[0]


def test_sigkill_at_random_points_of_lock_leaves_old_or_new_lock(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    root = _populate(public_index)
    head = source_table("pypi", public_index.simple_url) + "[packages]\n"
    (pipfence_project / "Pipfile").write_text(head + f'{root} = "==1.0"\n', encoding="utf-8")
    assert cli(["lock"]).returncode == 0
    old = (pipfence_project / "Pipfile.lock").read_bytes()
    (pipfence_project / "Pipfile").write_text(head + f'{root} = "==2.0"\n', encoding="utf-8")
    started = time.monotonic()
    assert cli(["lock"]).returncode == 0
    duration = time.monotonic() - started
    new = (pipfence_project / "Pipfile.lock").read_bytes()
    assert new != old

    rng = random.Random(int(os.environ.get("PIPFENCE_KILL_SEED", "20240")))
    outcomes = {"old": 0, "new": 0}
    for _ in range(12):
        (pipfence_project / "Pipfile.lock").write_bytes(old)
        process = start_pipfence(["lock"], pipfence_project, env)
        time.sleep(rng.uniform(0.0, duration * 1.2))
        process.kill()
        process.communicate(timeout=20)
        data = (pipfence_project / "Pipfile.lock").read_bytes()
        assert data in {old, new}, data[:300]
        json.loads(data)
        outcomes["old" if data == old else "new"] += 1
    final = cli(["lock"])
    assert final.returncode == 0, out(final)
    assert (pipfence_project / "Pipfile.lock").read_bytes() == new
    stray = [p for p in listing(pipfence_project) if p not in {"Pipfile", "Pipfile.lock"}]
    # A killed writer may leave its temp file; the next successful run must not be confused
    # by it, and it must never be mistaken for the lock.
    assert all(p != "Pipfile.lock" for p in stray)


def test_sigkill_during_sync_then_sync_converges(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    root = _populate(public_index, count=10)
    public_index.add_sdist("builtpkg", "1.0")
    head = source_table("pypi", public_index.simple_url) + "[packages]\n"
    (pipfence_project / "Pipfile").write_text(
        head + f'{root} = "==1.0"\nbuiltpkg = "*"\n', encoding="utf-8"
    )
    assert cli(["lock"]).returncode == 0
    started = time.monotonic()
    first = cli(["sync"], env={**env, "PIPFENCE_CACHE_DIR": str(pipfence_project.parent / "c0")})
    assert first.returncode == 0, out(first)
    duration = time.monotonic() - started
    subprocess.run(["rm", "-rf", str(pipfence_project / ".venv")], check=True)

    rng = random.Random(int(os.environ.get("PIPFENCE_KILL_SEED", "7")))
    for iteration in range(10):
        if iteration == 5:
            # Switch versions half-way, so kills also land in upgrades of an existing env.
            (pipfence_project / "Pipfile").write_text(
                head + f'{root} = "==2.0"\nbuiltpkg = "*"\n', encoding="utf-8"
            )
            assert cli(["lock"]).returncode == 0
        process = start_pipfence(["sync"], pipfence_project, env)
        time.sleep(rng.uniform(0.0, duration * 1.2))
        process.kill()
        process.communicate(timeout=20)

    final = cli(["sync"])
    assert final.returncode == 0, out(final)
    assert installed(pipfence_project) == locked(pipfence_project)
    python = pipfence_project / ".venv" / "bin" / "python"
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "check"],
        capture_output=True,
        text=True,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        check=False,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    verify = cli(["verify"])
    assert verify.returncode == 0, out(verify)
    for pyfile in (site_packages(pipfence_project) or Path("/nonexistent")).glob(
        "pkg*/__init__.py"
    ):
        assert pyfile.read_text().startswith("__version__")


# -- concurrency -------------------------------------------------------------------------------


def test_two_installs_with_different_caches_wait_for_each_other(
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    """Two shells (or an editor and a terminal) with their own PIPFENCE_CACHE_DIR: the second
    install waits for the first, and neither edit is lost."""
    for name in ("slowpkg", "quickpkg"):
        fault_server.add_project(name, [dist_factory.wheel(name, "1.0")])
    fault_server.delay("/simple/slowpkg/", 2.0)
    (pipfence_project / "Pipfile").write_text(
        source_table("corp", fault_server.simple_url) + "[packages]\n", encoding="utf-8"
    )
    first = start_pipfence(
        ["install", "slowpkg"],
        pipfence_project,
        {**env, "PIPFENCE_CACHE_DIR": str(tmp_path / "c1")},
    )
    wait_for(lambda: "/simple/slowpkg/" in fault_server.paths())
    second = start_pipfence(
        ["install", "quickpkg"],
        pipfence_project,
        {**env, "PIPFENCE_CACHE_DIR": str(tmp_path / "c2")},
    )
    done = [finish(first, timeout=60), finish(second, timeout=60)]
    for result in done:
        assert result.returncode == 0, out(result)
    assert "waiting for another pipfence command on this project" in done[1].stderr
    assert "waiting" not in done[0].stderr
    assert set(locked(pipfence_project)) == {"slowpkg", "quickpkg"}
    assert installed(pipfence_project) == {"slowpkg": "1.0", "quickpkg": "1.0"}
    pipfile = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    assert "slowpkg" in pipfile
    assert "quickpkg" in pipfile


def test_ten_syncs_sharing_one_cache_all_succeed(
    env: dict[str, str],
    tmp_path: Path,
    public_index: PypiServer,
) -> None:
    root = _populate(public_index, count=6)
    public_index.add_sdist("builtpkg", "1.0")
    projects = []
    for i in range(10):
        project = tmp_path / f"proj{i}"
        project.mkdir()
        (project / "Pipfile").write_text(
            source_table("pypi", public_index.simple_url)
            + f'[packages]\n{root} = "==1.0"\nbuiltpkg = "*"\n',
            encoding="utf-8",
        )
        projects.append(project)
    lock = subprocess.run(
        [sys.executable, "-m", "pipfence", "lock"],
        cwd=projects[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lock.returncode == 0, out(lock)
    for project in projects[1:]:
        (project / "Pipfile.lock").write_bytes((projects[0] / "Pipfile.lock").read_bytes())
    cache = Path(env["PIPFENCE_CACHE_DIR"])
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    cache.mkdir()

    processes = [start_pipfence(["sync"], project, env) for project in projects]
    results = [finish(p, timeout=180) for p in processes]
    for result in results:
        assert result.returncode == 0, out(result)
        assert "Traceback" not in result.stderr
    for project in projects:
        assert installed(project) == locked(project)
    # The shared cache is still good: an eleventh project syncs from it.
    again = tmp_path / "proj10"
    again.mkdir()
    for name in ("Pipfile", "Pipfile.lock"):
        (again / name).write_bytes((projects[0] / name).read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "pipfence", "sync"],
        cwd=again,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, out(result)
    assert installed(again) == locked(again)
