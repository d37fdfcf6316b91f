"""A sync into a new environment gives it pip, as pipenv's environments have: installed with
the lock's packages (one more wheel of the same install), alone when there is nothing else
to install or the sync failed, and not at all when the lock installs its own pip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.project import edit_lock, installed, out, site_packages, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def _locked(cli: RunPipfence, project: Path, index: PypiServer, packages: str) -> None:
    write_pipfile(project, source_table("public", index.simple_url) + "[packages]\n" + packages)
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    shutil.rmtree(project / ".venv", ignore_errors=True)


def _pip_dist_infos(project: Path) -> list[str]:
    return sorted(p.name for p in site_packages(project).glob("pip-*.dist-info"))


def _pip_runs(project: Path) -> str:
    python = project / ".venv" / "bin" / "python"
    done = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_new_environment_gets_pip_with_the_locks_packages(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    _locked(cli, pipfence_project, public_index, 'alpha = "*"\n')
    result = cli(["sync"])
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"alpha": "1.0"}
    assert len(_pip_dist_infos(pipfence_project)) == 1
    assert "pip" in _pip_runs(pipfence_project)
    assert "pip" not in result.stdout  # not one of the lock's: not reported


def test_a_lock_with_nothing_to_install_still_gives_pip(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    _locked(cli, pipfence_project, public_index, "")
    result = cli(["sync"])
    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {}
    assert "pip" in _pip_runs(pipfence_project)


def test_a_sync_that_fails_still_leaves_the_new_environment_its_pip(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "2.0")
    _locked(cli, pipfence_project, public_index, 'alpha = "*"\nbeta = "*"\n')

    def tamper(data: dict[str, Any]) -> None:
        (digest,) = data["default"]["beta"]["hashes"]
        data["default"]["beta"]["hashes"] = [digest[:-1] + ("0" if digest[-1] != "0" else "1")]

    edit_lock(pipfence_project, tamper)
    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    assert installed(pipfence_project) == {}  # all or nothing: alpha is not in either
    assert "pip" in _pip_runs(pipfence_project)


def test_a_lock_that_pins_pip_installs_its_own_only(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("pip", "99.0")
    _locked(cli, pipfence_project, public_index, 'pip = "==99.0"\n')
    result = cli(["sync"])
    assert result.returncode == 0, out(result)
    assert _pip_dist_infos(pipfence_project) == ["pip-99.0.dist-info"]
    assert installed(pipfence_project, seed=True)["pip"] == "99.0"
