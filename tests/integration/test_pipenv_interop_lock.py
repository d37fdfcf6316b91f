"""pipfence and the real pipenv read and write each other's Pipfile.lock.

Both tools lock the same Pipfiles against two local pypiserver indexes: pipenv verifies and syncs
what pipfence wrote, pipfence verifies and re-locks what pipenv wrote, and both pin the same
versions, hashes and indexes. pipenv runs as `python -m pipenv` with its virtualenv inside the
project; it is seeded from virtualenv's bundled wheels, and every proxy points at a closed
loopback port so any request that is not for 127.0.0.1 fails instead of leaving the machine.

The projects are locked once per module (pipenv takes seconds per lock) and tests work on copies
when they change them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from packaging.markers import Marker

import support
from support.indexes import PypiServer
from support.pipenv import pipenv_environ, run_pipenv
from support.project import SEED_PACKAGES, out, read_lock, source_table

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

SECTIONS = ("default", "develop")

LockSection = dict[str, dict[str, Any]]

_LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


@dataclass(frozen=True)
class Indexes:
    public: PypiServer
    private: PypiServer


@dataclass(frozen=True)
class Tools:
    """Run pipfence and pipenv in a project with environments isolated under one tmp dir."""

    pipfence_env: dict[str, str]
    pipenv_env: dict[str, str]

    def pipfence(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return support.run_pipfence(args, project, self.pipfence_env)

    def pipenv(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_pipenv(project, self.pipenv_env, *args)


@dataclass(frozen=True)
class Locked:
    """A project directory and the Pipfile.lock one tool wrote in it."""

    project: Path
    data: dict[str, Any]

    def section(self, name: str) -> LockSection:
        section: LockSection = self.data[name]
        return section

    def versions(self, name: str) -> dict[str, str]:
        return {pkg: entry["version"] for pkg, entry in self.section(name).items()}

    def field(self, name: str, key: str) -> dict[str, Any]:
        return {pkg: entry.get(key) for pkg, entry in self.section(name).items()}

    def hashes(self, name: str) -> dict[str, set[str]]:
        return {pkg: set(entry["hashes"]) for pkg, entry in self.section(name).items()}


def _populate(indexes: Indexes) -> None:
    public, private = indexes.public, indexes.private
    public.add_dist("app", "1.0", requires=["helper>=1"])
    public.add_dist("app", "1.1", requires=["helper>=2"])
    public.add_sdist("app", "1.1", requires=["helper>=2"])
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
    public.add_dist("speedup", "1.0")
    public.add_dist("speedup", "1.2")
    public.add_dist("winonly", "1.0")
    public.add_dist("tester", "4.0", requires=["leaf"])
    public.add_dist(
        "tester",
        "4.1",
        requires=["leaf", 'colorlib; python_version >= "3.8"', 'oldlib; python_version < "3"'],
    )
    public.add_dist("colorlib", "0.3")
    public.add_dist("oldlib", "0.3")
    public.add_dist("six", "1.15.0")
    public.add_dist("six", "1.16.0")
    # A decoy with the private package's name: pinned to `private`, it must never be chosen.
    public.add_dist("internal-lib", "99.0")
    private.add_dist("internal-lib", "1.0", requires=["six"])
    private.add_dist("internal-lib", "1.1", requires=["six>=1.15"])


def single_source_pipfile(indexes: Indexes) -> str:
    """One source; a chain app -> helper -> leaf, a package with extras and markers, a dev tool."""
    return (
        source_table("public", indexes.public.simple_url)
        + "[packages]\n"
        + 'app = "*"\n'
        + 'web = {version = "*", extras = ["fast"], markers = "python_version >= \'3.8\'"}\n'
        + "\n[dev-packages]\n"
        + 'tester = "*"\n'
    )


def two_source_pipfile(indexes: Indexes) -> str:
    """A second source with one package pinned to it whose dependency comes from the default."""
    return (
        source_table("public", indexes.public.simple_url)
        + source_table("private", indexes.private.simple_url)
        + "[packages]\n"
        + 'app = "*"\n'
        + 'internal-lib = {version = "*", index = "private"}\n'
        + "\n[dev-packages]\n"
        + 'tester = "*"\n'
    )


def new_project(path: Path, pipfile: str) -> Path:
    path.mkdir(parents=True)
    (path / "Pipfile").write_text(pipfile, encoding="utf-8")
    return path


def copy_project(source: Path, target: Path) -> Path:
    """Pipfile and Pipfile.lock only: never the virtualenv another test made."""
    target.mkdir(parents=True)
    for name in ("Pipfile", "Pipfile.lock"):
        shutil.copyfile(source / name, target / name)
    return target


def lock_with(tools: Tools, project: Path, tool: str) -> Locked:
    result = (
        tools.pipfence(project, "lock") if tool == "pipfence" else tools.pipenv(project, "lock")
    )
    assert result.returncode == 0, out(result)
    return Locked(project, read_lock(project))


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexes]:
    """This module's own two servers, filled once: the shared ones are emptied per test."""
    public = PypiServer(tmp_path_factory.mktemp("interop-public") / "packages")
    private = PypiServer(tmp_path_factory.mktemp("interop-private") / "packages")
    with public, private:
        servers = Indexes(public, private)
        _populate(servers)
        yield servers


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    root = tmp_path_factory.mktemp("interop-env")
    pipfence_env = support.pipfence_environ(root)
    return Tools(pipfence_env, pipenv_environ(pipfence_env, root))


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop-projects")


@pytest.fixture(scope="module")
def fence_single(indexes: Indexes, tools: Tools, projects: Path) -> Locked:
    return lock_with(
        tools, new_project(projects / "fence-single", single_source_pipfile(indexes)), "pipfence"
    )


@pytest.fixture(scope="module")
def pipenv_single(indexes: Indexes, tools: Tools, projects: Path) -> Locked:
    return lock_with(
        tools, new_project(projects / "pipenv-single", single_source_pipfile(indexes)), "pipenv"
    )


@pytest.fixture(scope="module")
def fence_two(indexes: Indexes, tools: Tools, projects: Path) -> Locked:
    return lock_with(
        tools, new_project(projects / "fence-two", two_source_pipfile(indexes)), "pipfence"
    )


@pytest.fixture(scope="module")
def pipenv_two(indexes: Indexes, tools: Tools, projects: Path) -> Locked:
    return lock_with(
        tools, new_project(projects / "pipenv-two", two_source_pipfile(indexes)), "pipenv"
    )


def direct_entries(pipfile: str, section: str) -> dict[str, str]:
    """Each direct dependency of a Pipfile table, with its value as written."""
    header = "[packages]" if section == "default" else "[dev-packages]"
    table = pipfile.split(header, 1)[1].split("\n[", 1)[0]
    rows = [line.split(" = ", 1) for line in table.strip().splitlines() if " = " in line]
    return {row[0]: row[1] for row in rows}


def marker_differences(ours: Locked, theirs: Locked) -> list[tuple[str, str, Any, Any]]:
    return [
        (section, name, ours.field(section, "markers")[name], marker)
        for section in SECTIONS
        for name, marker in theirs.field(section, "markers").items()
        if ours.field(section, "markers").get(name) != marker
    ]


# a. pipenv verify accepts what pipfence wrote


def test_pipenv_verify_accepts_pipfence_locks(
    fence_single: Locked, fence_two: Locked, tools: Tools, tmp_path: Path
) -> None:
    for locked in (fence_single, fence_two):
        result = tools.pipenv(locked.project, "verify")
        assert result.returncode == 0, out(result)
        assert "up-to-date" in result.stdout + result.stderr

    # The same check fails once the Pipfile changes: verify really compares the hash.
    changed = copy_project(fence_single.project, tmp_path / "changed")
    with (changed / "Pipfile").open("a", encoding="utf-8") as handle:
        handle.write('six = "*"\n')
    assert tools.pipenv(changed, "verify").returncode != 0


# b. pipenv sync installs what pipfence locked


def test_pipenv_sync_installs_the_pipfence_lock(
    fence_single: Locked, indexes: Indexes, tools: Tools, tmp_path: Path
) -> None:
    project = copy_project(fence_single.project, tmp_path / "sync")
    indexes.public.clear_log()

    synced = tools.pipenv(project, "sync", "--dev")
    assert synced.returncode == 0, out(synced)
    listed = tools.pipenv(project, "run", "python", "-c", _LIST_DISTRIBUTIONS)
    assert listed.returncode == 0, out(listed)
    installed = {
        name.lower(): version
        for name, version in json.loads(listed.stdout.strip().splitlines()[-1]).items()
        if name.lower() not in SEED_PACKAGES
    }

    expected = {
        name: entry["version"].removeprefix("==")
        for section in SECTIONS
        for name, entry in fence_single.section(section).items()
    }
    assert installed == expected
    assert {"app", "helper", "leaf", "web", "speedup", "tester", "colorlib"} <= set(installed)
    assert "winonly" not in installed
    assert "oldlib" not in installed
    # Installed from the project's own index, into the venv pipenv made inside the project.
    downloads = [p for p in indexes.public.requested_paths() if p.startswith("/packages/")]
    assert "/packages/app-1.1-py3-none-any.whl" in downloads
    assert (project / ".venv").is_dir()


# c. pipenv lock and pipfence lock pin the same things


def test_pipenv_and_pipfence_pin_the_same_versions_and_hashes(
    fence_single: Locked, pipenv_single: Locked, fence_two: Locked, pipenv_two: Locked
) -> None:
    for ours, theirs in ((fence_single, pipenv_single), (fence_two, pipenv_two)):
        for section in SECTIONS:
            assert ours.versions(section) == theirs.versions(section), section
            assert ours.hashes(section) == theirs.hashes(section), section
        assert ours.data["_meta"] == theirs.data["_meta"]

    assert fence_single.versions("default") == {
        "app": "==1.1",
        "helper": "==2.0",
        "leaf": "==2.5",
        "speedup": "==1.2",
        "web": "==1.0",
    }
    # develop is locked against default's pins: leaf stays at 2.5 although 3.0 exists.
    assert fence_single.versions("develop") == {
        "colorlib": "==0.3",
        "leaf": "==2.5",
        "tester": "==4.1",
    }
    assert len(fence_single.section("default")["app"]["hashes"]) == 2  # wheel and sdist


def test_pipenv_and_pipfence_agree_on_index_for_pinned_string_and_transitive_entries(
    fence_single: Locked, pipenv_single: Locked, fence_two: Locked, pipenv_two: Locked
) -> None:
    for section in SECTIONS:
        assert fence_two.field(section, "index") == pipenv_two.field(section, "index"), section
    assert fence_two.section("default")["internal-lib"]["version"] == "==1.1"
    assert fence_two.section("default")["internal-lib"]["index"] == "private"
    assert pipenv_two.section("default")["internal-lib"]["index"] == "private"
    assert fence_two.section("default")["six"] == pipenv_two.section("default")["six"]
    assert "index" not in fence_two.section("default")["six"]

    for section in SECTIONS:
        ours = fence_single.field(section, "index")
        theirs = pipenv_single.field(section, "index")
        assert ours == theirs, section
    assert pipenv_single.section("default")["app"]["index"] == "public"


def test_index_of_a_table_entry_without_index_matches_pipenv(
    fence_single: Locked, pipenv_single: Locked
) -> None:
    pipfile = (fence_single.project / "Pipfile").read_text(encoding="utf-8")
    assert direct_entries(pipfile, "default")["web"].startswith("{")
    ours = fence_single.section("default")["web"].get("index")
    theirs = pipenv_single.section("default")["web"].get("index")
    assert ours == theirs


def test_markers_mean_the_same_as_pipenvs(
    fence_single: Locked, pipenv_single: Locked, fence_two: Locked, pipenv_two: Locked
) -> None:
    """Markers both tools wrote are equivalent; the Pipfile's own markers are kept verbatim."""
    for ours, theirs in ((fence_single, pipenv_single), (fence_two, pipenv_two)):
        for section in SECTIONS:
            for name, marker in theirs.field(section, "markers").items():
                mine = ours.field(section, "markers")[name]
                if marker is not None and mine is not None:
                    assert str(Marker(mine)) == str(Marker(marker)), (section, name)
    web = fence_single.section("default")["web"]
    assert web["markers"] == pipenv_single.section("default")["web"]["markers"]
    assert web["markers"] == "python_version >= '3.8'"
    assert web["extras"] == ["fast"]
    assert "markers" not in fence_single.section("default")["app"]


def test_markers_of_dependencies_are_written_as_pipenv_writes_them(
    fence_single: Locked, pipenv_single: Locked
) -> None:
    theirs = pipenv_single.section("develop")["colorlib"]["markers"]
    ours = fence_single.section("develop")["colorlib"].get("markers")
    assert theirs == "python_version >= '3.8'"
    assert ours == theirs


def test_markers_inherited_through_extras_match_pipenv(
    fence_single: Locked, pipenv_single: Locked
) -> None:
    # speedup is only needed through web[fast], and web only where python_version >= '3.8'.
    theirs = pipenv_single.section("default")["speedup"].get("markers")
    ours = fence_single.section("default")["speedup"].get("markers")
    assert theirs == "python_version >= '3.8'"
    assert ours == theirs


# d. pipfence accepts what pipenv wrote


def test_pipfence_verifies_and_relocks_pipenv_locks(
    pipenv_single: Locked, pipenv_two: Locked, tools: Tools, tmp_path: Path
) -> None:
    for locked in (pipenv_single, pipenv_two):
        project = copy_project(locked.project, tmp_path / locked.project.name)
        verified = tools.pipfence(project, "verify")
        assert verified.returncode == 0, out(verified)

        relocked = tools.pipfence(project, "lock")
        assert relocked.returncode == 0, out(relocked)
        again = Locked(project, read_lock(project))
        for section in SECTIONS:
            assert again.versions(section) == locked.versions(section), section
            assert again.hashes(section) == locked.hashes(section), section
        assert again.data["_meta"] == locked.data["_meta"]
        assert tools.pipfence(project, "verify").returncode == 0
