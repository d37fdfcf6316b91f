"""`pipfence sync` installs what real `pipenv lock` wrote, and `pipenv sync` installs what
`pipfence install PKG` / `install PKG --dev` / `install PKG --index=NAME` wrote.

Both tools work on the same two local pypiserver indexes (this module's own, filled once).
pipenv runs as `python -m pipenv` with its virtualenv inside the project; every proxy points at
a closed loopback port, so nothing that is not for 127.0.0.1 can leave the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.markers import Marker

import support
from support.indexes import PypiServer
from support.pipenv import pipenv_environ, run_pipenv
from support.project import installed, out, read_lock, source_table

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Indexes:
    public: PypiServer
    private: PypiServer


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    public = PypiServer(tmp_path_factory.mktemp("sync-interop-public") / "packages")
    private = PypiServer(tmp_path_factory.mktemp("sync-interop-private") / "packages")
    with public, private:
        public.add_dist("app", "1.0", requires=["helper>=1"])
        public.add_dist("app", "1.1", requires=["helper>=2"])
        public.add_dist("helper", "1.5")
        public.add_dist("helper", "2.0", requires=["leaf<3"])
        public.add_dist("leaf", "2.5")
        public.add_dist("leaf", "3.0")
        public.add_dist(
            "web",
            "1.0",
            requires=['winonly; sys_platform == "win32"'],
            extras={"fast": ["speedup>=1"]},
        )
        public.add_dist("speedup", "1.2")
        public.add_dist("winonly", "1.0")
        public.add_dist("tester", "4.1", requires=["leaf", 'colorlib; python_version >= "3.8"'])
        public.add_dist("colorlib", "0.3")
        public.add_dist("six", "1.16.0")
        private.add_dist("internal-lib", "1.1", requires=["six>=1.15"])
        yield Indexes(public, private)


def _sources(indexes: Indexes) -> str:
    return source_table("public", indexes.public.simple_url) + source_table(
        "private", indexes.private.simple_url
    )


def fence_env(root: Path) -> dict[str, str]:
    return {**support.pipfence_environ(root / "fence-env"), "PIPENV_VENV_IN_PROJECT": "1"}


def pipenv_env(root: Path) -> dict[str, str]:
    return pipenv_environ(support.pipfence_environ(root / "pipenv-env"), root)


def expected_from_lock(lock: dict[str, Any], categories: tuple[str, ...]) -> dict[str, str]:
    """name -> version of every locked package whose markers hold here."""
    return {
        name: entry["version"].removeprefix("==")
        for category in categories
        for name, entry in lock[category].items()
        if "markers" not in entry or Marker(entry["markers"]).evaluate()
    }


def test_pipfence_sync_installs_what_pipenv_locked(indexes: Indexes, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pipfile").write_text(
        _sources(indexes)
        + "[packages]\n"
        + 'app = "*"\n'
        + 'web = {version = "*", extras = ["fast"]}\n'
        + 'internal-lib = {version = "*", index = "private"}\n'
        + "\n[dev-packages]\n"
        + 'tester = "*"\n',
        encoding="utf-8",
    )
    locked = run_pipenv(project, pipenv_env(tmp_path), "lock")
    assert locked.returncode == 0, out(locked)
    lock_bytes = (project / "Pipfile.lock").read_bytes()
    lock = read_lock(project)
    assert lock["default"]["internal-lib"]["index"] == "private"

    env = fence_env(tmp_path)
    synced = support.run_pipfence(["sync"], project, env)
    assert synced.returncode == 0, out(synced)
    assert installed(project) == expected_from_lock(lock, ("default",))

    with_dev = support.run_pipfence(["sync", "--dev"], project, env)
    assert with_dev.returncode == 0, out(with_dev)
    expected = expected_from_lock(lock, ("default", "develop"))
    assert installed(project) == expected
    assert expected == {
        "app": "1.1",
        "helper": "2.0",
        "leaf": "2.5",
        "web": "1.0",
        "speedup": "1.2",
        "internal-lib": "1.1",
        "six": "1.16.0",
        "tester": "4.1",
        "colorlib": "0.3",
    }
    assert (project / "Pipfile.lock").read_bytes() == lock_bytes
    again = support.run_pipfence(["sync", "--dev"], project, env)
    assert again.returncode == 0, out(again)
    assert "already matches the lock (9 packages)" in again.stderr


def test_pipenv_sync_installs_what_pipfence_install_wrote(indexes: Indexes, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pipfile").write_text(
        _sources(indexes) + "[packages]\n\n[dev-packages]\n", encoding="utf-8"
    )
    env = fence_env(tmp_path)
    for args in (
        ["install", "app"],
        ["install", "web[fast]"],
        ["install", "internal-lib", "--index=private"],
        ["install", "tester", "--dev"],
    ):
        result = support.run_pipfence(args, project, env)
        assert result.returncode == 0, (args, out(result))
    lock = read_lock(project)
    assert lock["default"]["internal-lib"]["index"] == "private"
    assert set(lock["develop"]) == {"tester", "leaf", "colorlib"}
    expected = expected_from_lock(lock, ("default", "develop"))
    assert installed(project) == expected  # pipfence's own environment

    other = tmp_path / "pipenv-project"
    other.mkdir()
    for name in ("Pipfile", "Pipfile.lock"):
        (other / name).write_bytes((project / name).read_bytes())
    penv = pipenv_env(tmp_path)
    verified = run_pipenv(other, penv, "verify")
    assert verified.returncode == 0, out(verified)
    synced = run_pipenv(other, penv, "sync", "--dev")
    assert synced.returncode == 0, out(synced)
    assert installed(other) == expected
    assert (other / "Pipfile.lock").read_bytes() == (project / "Pipfile.lock").read_bytes()
