"""What commands print: the install stages' progress, the closing list of what changed in the
environment (`+ name==1.2`, `- name==1.0`, `~ name 1.0 -> 1.2`), and a build backend's output
kept behind `--verbose` (summarised, with the whole log in a file, when the build fails)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.dists import dist_filename_stem, pack_sdist, write_source_tree
from support.project import installed, one_source_pipfile, out, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

_CHANGE = re.compile(r"^[+~-] ")


def noisy_sdist(index: PypiServer, scratch: Path, name: str, suffix: str) -> Path:
    """An sdist of ``name`` 1.0 whose in-tree backend ends with ``suffix``."""
    root = write_source_tree(scratch, name, "1.0")
    tree = root.rename(root.with_name(dist_filename_stem(name, "1.0")))
    backend = tree / "_backend.py"
    backend.write_text(backend.read_text(encoding="utf-8") + suffix, encoding="utf-8")
    return pack_sdist(tree, index.package_dir)


# A backend that talks like setuptools does: lines on stdout and a deprecation warning
# (which pyproject_hooks would raise again in the caller) from every metadata call.
_NOISY = """

_quiet_prepare = prepare_metadata_for_build_wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    import warnings
    print("running egg_info: NOISY-BUILD-OUTPUT")
    warnings.warn("NOISY-DEPRECATION-BANNER: please stop", UserWarning)
    return _quiet_prepare(metadata_directory, config_settings)
"""

_BROKEN = """

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import sys
    for i in range(80):
        print("compiling step", i)
    sys.exit("error: the C compiler exploded")
"""


def changes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if _CHANGE.match(line)]


def test_a_backends_output_and_warnings_stay_behind_verbose(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    tmp_path: Path,
) -> None:
    noisy_sdist(public_index, tmp_path / "scratch", "noisy", _NOISY)
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'noisy = "*"\n'))

    def fresh(name: str) -> dict[str, str]:  # a cache of its own: the sdist is built again
        return {**env, "PIPFENCE_CACHE_DIR": str(tmp_path / name)}

    quiet = cli(["lock", "-q"], env=fresh("cache-quiet"))
    assert quiet.returncode == 0, out(quiet)
    assert quiet.stderr == ""

    normal = cli(["lock"], env=fresh("cache-normal"))
    assert normal.returncode == 0, out(normal)
    assert "NOISY" not in normal.stderr
    assert normal.stderr.strip().startswith("Locked 1 package from corp")

    verbose = cli(["lock", "--verbose"], env=fresh("cache-verbose"))
    assert verbose.returncode == 0, out(verbose)
    assert "NOISY-BUILD-OUTPUT" in verbose.stderr
    assert "NOISY-DEPRECATION-BANNER" in verbose.stderr


def test_a_failed_build_shows_its_last_lines_and_where_the_whole_log_is(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, tmp_path: Path
) -> None:
    noisy_sdist(public_index, tmp_path / "scratch", "broken", _BROKEN)
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'broken = "*"\n'))

    result = cli(["install"])
    assert result.returncode == 1, out(result)
    assert "Building `broken` failed" in result.stderr
    assert "the C compiler exploded" in result.stderr
    assert "compiling step 79" in result.stderr
    assert "compiling step 10\n" not in result.stderr  # the last lines only
    assert len(result.stderr.splitlines()) < 25
    found = re.search(r"full build log: (\S+)", result.stderr)
    assert found is not None, out(result)
    log = Path(found.group(1)).read_text(encoding="utf-8")
    assert "compiling step 0\n" in log
    assert "the C compiler exploded" in log
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_install_commands_end_with_what_changed_in_the_environment(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0", requires=["beta"])
    public_index.add_dist("beta", "1.0")
    public_index.add_dist("gamma", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))

    first = cli(["install"])
    assert first.returncode == 0, out(first)
    assert "Installed 2 packages" in first.stderr
    assert changes(first.stderr) == ["+ alpha==1.0", "+ beta==1.0"]
    assert first.stderr.splitlines()[-2:] == ["+ alpha==1.0", "+ beta==1.0"]

    added = cli(["install", "gamma"])
    assert added.returncode == 0, out(added)
    assert changes(added.stderr) == ["+ gamma==1.0"]
    assert added.stderr.splitlines()[-1] == "+ gamma==1.0"

    public_index.add_dist("alpha", "2.0", requires=["beta"])
    updated = cli(["update", "alpha"])
    assert updated.returncode == 0, out(updated)
    assert changes(updated.stderr) == ["~ alpha 1.0 -> 2.0"]

    removed = cli(["uninstall", "gamma"])
    assert removed.returncode == 0, out(removed)
    assert changes(removed.stderr) == ["- gamma==1.0"]
    assert removed.stderr.splitlines()[-1] == "- gamma==1.0"

    again = cli(["sync"])
    assert again.returncode == 0, out(again)
    assert changes(again.stderr) == []
    assert "already matches the lock (2 packages)" in again.stderr

    everything = cli(["uninstall", "--all"])
    assert everything.returncode == 0, out(everything)
    # `uninstall --all` names what went on stdout, as `clean` does (pipenv's tests read it).
    assert changes(everything.stdout) == ["- alpha==2.0", "- beta==1.0"]
    assert installed(pipfence_project) == {}

    back = cli(["sync"])
    assert back.returncode == 0, out(back)
    assert changes(back.stderr) == ["+ alpha==2.0", "+ beta==1.0"]


def test_lock_changes_show_when_the_environment_does_not_change(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["install"]).returncode == 0
    public_index.add_dist("alpha", "1.1")

    upgraded = cli(["upgrade", "alpha"])
    assert upgraded.returncode == 0, out(upgraded)
    assert changes(upgraded.stderr) == ["~ alpha 1.0 -> 1.1"]
    assert installed(pipfence_project) == {"alpha": "1.0"}

    verbose = cli(["sync", "-v"])
    assert verbose.returncode == 0, out(verbose)
    assert changes(verbose.stderr) == ["~ alpha 1.0 -> 1.1"]
    assert "alpha==1.1: alpha-1.1-py3-none-any.whl from `corp`" in verbose.stderr


def test_output_is_plain_without_a_terminal_and_quiet_with_q(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))

    plain = cli(["install"])
    assert plain.returncode == 0, out(plain)
    assert "\x1b[" not in plain.stderr  # no progress bar, no colour: not a terminal
    assert "Fetching" not in plain.stderr

    (pipfence_project / "Pipfile").write_text(
        one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'), encoding="utf-8"
    )
    quiet = cli(["uninstall", "--all", "-q"])
    assert quiet.returncode == 0, out(quiet)
    assert quiet.stderr == ""
    assert cli(["sync", "-q"]).stderr == ""


def test_clean_lists_what_it_removed(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("stray", "0.3")
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["install", "stray"]).returncode == 0
    # Take stray out of the Pipfile and the lock behind pipfence's back: it is left installed.
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'alpha = "*"\n'))
    assert cli(["lock"]).returncode == 0

    cleaned = cli(["clean"])
    assert cleaned.returncode == 0, out(cleaned)
    # On stdout, where pipenv's clean names what it removed.
    assert changes(cleaned.stdout) == ["- stray==0.3"]
    nothing = cli(["clean"])
    assert nothing.returncode == 0, out(nothing)
    assert changes(nothing.stderr) == []
    assert "Nothing to clean" in nothing.stderr


class Stages:
    """A progress sink that records each stage's label, its total and how many items it saw."""

    def __init__(self) -> None:
        self.seen: list[list[object]] = []

    def expect(self, total: int, label: str) -> None:
        self.seen.append([label, total, 0])

    def __call__(self, _item: str) -> None:
        self.seen[-1][2] = int(str(self.seen[-1][2])) + 1


def test_sync_reports_fetching_building_unpacking_and_installing(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    tmp_path: Path,
) -> None:
    from pipfence.project.project import Project
    from pipfence.project.session import open_session
    from pipfence.project.settings import Settings
    from pipfence.project.sync_lock import sync_lock

    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "1.0")
    noisy_sdist(public_index, tmp_path / "scratch", "noisy", _NOISY)
    packages = 'alpha = "*"\nbeta = "*"\nnoisy = "*"\n'
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, packages))
    assert cli(["lock"]).returncode == 0

    settings = Settings.from_environ(env, cwd=pipfence_project)
    project = Project.find(settings)
    lockfile = project.read_lock()
    assert lockfile is not None
    stages = Stages()
    with open_session(project) as session:
        report = sync_lock(session, lockfile, ["default"], on_progress=stages)
    assert stages.seen == [
        ["Fetching", 3, 3],
        ["Building", 1, 1],
        ["Unpacking", 3, 3],
        ["Installing", 3, 3],
    ]
    assert report.changes == ("+ alpha==1.0", "+ beta==1.0", "+ noisy==1.0")
