"""Edits keep the lock: `install NEW`, `uninstall`, `update PKG` and `upgrade PKG` move only
what they name (every other locked version stays while it fits), a version given to
`update`/`upgrade` is written and locked, and each command prints what moved."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from support.project import installed, one_source_pipfile, out, read_lock, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def _versions(project: Path) -> dict[str, str]:
    return {k: v["version"] for k, v in read_lock(project)["default"].items()}


@pytest.fixture
def in_project(pipfence_env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment with the project's environment in `.venv`, as these tests read it."""
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}


@pytest.fixture
def locked(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> dict[str, str]:
    """A project locked and installed with alpha 1.0 and beta 1.0; then 2.0 of both, 1.5 of
    alpha and newpkg 1.0 are published."""
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "1.0")
    packages = 'alpha = "*"\nbeta = "*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    env = in_project
    first = cli(["install"], env=env)
    assert first.returncode == 0, out(first)
    for name, version in (("alpha", "1.5"), ("alpha", "2.0"), ("beta", "2.0"), ("newpkg", "1.0")):
        public_index.add_dist(name, version)
    return env


def test_install_new_keeps_every_other_locked_version(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    result = cli(["install", "newpkg"], env=locked)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {
        "alpha": "==1.0",
        "beta": "==1.0",
        "newpkg": "==1.0",
    }
    assert "+ newpkg==1.0" in result.stderr
    assert "alpha" not in result.stderr.replace("alpha = ", "")
    assert installed(pipfence_project) == {"alpha": "1.0", "beta": "1.0", "newpkg": "1.0"}


def test_update_one_package_moves_only_it(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    result = cli(["update", "alpha"], env=locked)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {"alpha": "==2.0", "beta": "==1.0"}
    assert "~ alpha 1.0 -> 2.0" in result.stderr
    assert installed(pipfence_project) == {"alpha": "2.0", "beta": "1.0"}


def test_update_with_a_version_writes_it_and_locks_it(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    result = cli(["update", "alpha==1.5"], env=locked)
    assert result.returncode == 0, out(result)
    assert 'alpha = "==1.5"' in (pipfence_project / "Pipfile").read_text()
    assert _versions(pipfence_project) == {"alpha": "==1.5", "beta": "==1.0"}
    verify = cli(["verify"], env=locked)
    assert verify.returncode == 0, out(verify)


def test_upgrade_one_package_writes_the_lock_only(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    result = cli(["upgrade", "beta"], env=locked)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {"alpha": "==1.0", "beta": "==2.0"}
    assert installed(pipfence_project) == {"alpha": "1.0", "beta": "1.0"}


def test_update_without_names_moves_everything(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    result = cli(["update"], env=locked)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {"alpha": "==2.0", "beta": "==2.0"}


def test_update_of_an_unknown_name_is_refused_with_nothing_changed(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    before = (pipfence_project / "Pipfile.lock").read_bytes()
    result = cli(["update", "nosuch"], env=locked)
    assert result.returncode == 2, out(result)
    assert "`nosuch` is neither in the Pipfile nor in the lock" in result.stderr
    assert (pipfence_project / "Pipfile.lock").read_bytes() == before


def test_uninstall_keeps_every_other_locked_version(
    cli: RunPipfence, pipfence_project: Path, locked: dict[str, str]
) -> None:
    result = cli(["uninstall", "beta"], env=locked)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {"alpha": "==1.0"}
    assert "- beta==1.0" in result.stderr


def test_uninstall_of_a_package_still_required_keeps_its_version_in_lock_and_environment(
    cli: RunPipfence, in_project: dict[str, str], pipfence_project: Path, public_index: PypiServer
) -> None:
    # `web` needs `codec`, which the Pipfile also names with a bound; a newer `codec` is out.
    public_index.add_dist("codec", "2.5")
    public_index.add_dist("web", "1.0", requires=["codec"])
    packages = 'web = "*"\ncodec = "<2.6"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    first = cli(["install"], env=in_project)
    assert first.returncode == 0, out(first)
    public_index.add_dist("codec", "2.8")

    # Pages asked again, so that the lock hears of 2.8.
    result = cli(["uninstall", "codec"], env={**in_project, "PIPFENCE_PAGE_MAX_AGE": "0"})

    assert result.returncode == 0, out(result)
    # Out of the Pipfile, still in the lock (web needs it) at the version installed: removing
    # a bound moves nothing, and nothing claims a change the environment did not get.
    assert "codec" not in (pipfence_project / "Pipfile").read_text()
    assert _versions(pipfence_project) == {"codec": "==2.5", "web": "==1.0"}
    assert installed(pipfence_project) == {"codec": "2.5", "web": "1.0"}
    assert "2.8" not in result.stdout + result.stderr, out(result)


def test_update_of_a_name_with_no_lock_yet_locks_the_project(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    env = in_project
    result = cli(["update", "requests"], env=env)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {"alpha": "==1.0"}


def test_clean_of_a_fresh_environment_without_a_lock_is_nothing_to_do(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, ""))
    env = in_project
    # A fresh environment holding only what `venv` puts in.
    subprocess.run([sys.executable, "-m", "venv", str(pipfence_project / ".venv")], check=True)
    result = cli(["clean"], env=env)
    assert result.returncode == 0, out(result)
    assert "Nothing to clean" in result.stderr


def test_an_empty_lock_is_locked_again_by_install(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    (pipfence_project / "Pipfile.lock").write_text("{}\n", encoding="utf-8")
    env = in_project
    result = cli(["install"], env=env)
    assert result.returncode == 0, out(result)
    assert _versions(pipfence_project) == {"alpha": "==1.0"}


def test_dev_packages_are_constrained_by_the_default_ones(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    """`six = "==1.16.0"` in [packages] and `six = "*"` in [dev-packages]: pipenv locks 1.16.0
    in both, so the lock installs as one environment; 1.17.0 in develop made pipfence refuse
    its own lock."""
    for version in ("1.16.0", "1.17.0"):
        public_index.add_dist("six", version)
    public_index.add_dist("devtool", "1.0", requires=["six"])
    packages = 'six = "==1.16.0"\n\n[dev-packages]\nsix = "*"\ndevtool = "*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    env = in_project
    locked = cli(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    lock = read_lock(pipfence_project)
    assert lock["default"]["six"]["version"] == "==1.16.0"
    assert lock["develop"]["six"]["version"] == "==1.16.0"
    assert lock["develop"]["devtool"]["version"] == "==1.0"
    synced = cli(["sync", "--dev"], env=env)
    assert synced.returncode == 0, out(synced)
    assert installed(pipfence_project) == {"six": "1.16.0", "devtool": "1.0"}


def test_a_dev_pin_against_the_default_lock_names_that_lock(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    """A [dev-packages] pin that the version [packages] locked rules out: the error names that
    pin as the [packages] lock's (it read "you require" it, as if the user had written it)."""
    for version in ("1.16.0", "1.17.0"):
        public_index.add_dist("six", version)
    public_index.add_dist("app", "1.0", requires=["six==1.16.0"])
    packages = 'app = "*"\n\n[dev-packages]\nsix = "==1.17.0"\n'
    written = write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    result = cli(["lock"], env=in_project)
    assert result.returncode != 0, out(result)
    assert "you require `six==1.17.0`" in result.stderr
    assert "[packages] locks `six==1.16.0`" in result.stderr
    assert "you require `six==1.16.0`" not in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == written
    assert not (pipfence_project / "Pipfile.lock").exists()


@pytest.mark.parametrize("directive", [True, False])
def test_sort_pipfile_sorts_the_edited_table_and_only_when_asked(
    cli: RunPipfence,
    in_project: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    directive: bool,
) -> None:
    for name in ("zeta", "alpha", "mid", "beta"):
        public_index.add_dist(name, "1.0")
    packages = 'zeta = "*"\nalpha = {version = "*"}\n\n[dev-packages]\nzeta = "*"\nbeta = "*"\n'
    settings = "\n[pipenv]\nsort_pipfile = true\n" if directive else ""
    text = one_source_pipfile(public_index.simple_url, packages) + settings
    write_pipfile(pipfence_project, text)
    env = in_project
    added = cli(["install", "mid"], env=env)
    assert added.returncode == 0, out(added)
    written = (pipfence_project / "Pipfile").read_text()
    table = written.split("[packages]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = [line.split(" = ", 1)[0] for line in table]
    assert names == (["alpha", "mid", "zeta"] if directive else ["zeta", "alpha", "mid"])
    assert 'alpha = {version = "*"}' in written
    # Only the edited table is sorted.
    assert '[dev-packages]\nzeta = "*"\nbeta = "*"\n' in written
    assert "sort_pipfile is not acted on" not in added.stderr
    removed = cli(["uninstall", "zeta"], env=env)
    assert removed.returncode == 0, out(removed)
