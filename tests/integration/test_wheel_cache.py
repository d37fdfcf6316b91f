"""The shared unpacked-wheel cache keeps environments apart and notices changed files.

Two projects share one pipfence cache (the same `pipfence_env`). What one environment's user
does to an installed file, or what happens to a file inside the cache, must not reach the other
project's next sync: a file changed in the cache (same size, so only its mtime and inode tell)
is unpacked again from the verified wheel.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import one_source_pipfile, out, site_packages, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

ORIGINAL = "payload = 'original'\n"
EDITED = "payload = 'EDITED!!'\n"
assert len(ORIGINAL) == len(EDITED)


def _projects(
    cli: RunPipfence, public_index: PypiServer, tmp_path: Path, env: dict[str, str]
) -> tuple[Path, Path]:
    public_index.add_dist("payload", "1.0", files={"payload/data.py": ORIGINAL})
    first, second = tmp_path / "first", tmp_path / "second"
    for project in (first, second):
        project.mkdir()
        write_pipfile(project, one_source_pipfile(public_index.simple_url))
    result = cli(["lock"], cwd=first, env=env)
    assert result.returncode == 0, out(result)
    shutil.copyfile(first / "Pipfile.lock", second / "Pipfile.lock")
    result = cli(["sync"], cwd=first, env=env)
    assert result.returncode == 0, out(result)
    return first, second


def _edit_in_place(path: Path, text: str) -> None:
    """Write through the file as an editor that keeps the inode does."""
    with path.open("r+", encoding="utf-8") as handle:
        handle.write(text)


def _cached_copies(env: dict[str, str]) -> list[Path]:
    root = Path(env["PIPFENCE_CACHE_DIR"]) / "wheels-unpacked"
    return sorted(root.glob("*/tree/payload/data.py"))


@pytest.mark.parametrize("mode", [None, "auto", "clone", "copy", "hardlink"])
def test_an_edit_in_one_environment_does_not_reach_another(
    cli: RunPipfence,
    public_index: PypiServer,
    tmp_path: Path,
    env: dict[str, str],
    mode: str | None,
) -> None:
    if mode is not None:
        env = {**env, "PIPFENCE_LINK_MODE": mode}
    first, second = _projects(cli, public_index, tmp_path, env)
    installed = site_packages(first) / "payload" / "data.py"
    _edit_in_place(installed, EDITED)

    result = cli(["sync"], cwd=second, env=env)
    assert result.returncode == 0, out(result)
    assert (site_packages(second) / "payload" / "data.py").read_text() == ORIGINAL
    (cached,) = _cached_copies(env)
    assert cached.read_text() == ORIGINAL
    if mode != "hardlink":
        # The environment's file is its own: the edit never reached the cache.
        assert installed.stat().st_ino != cached.stat().st_ino
    assert installed.read_text() == EDITED  # the user's edit stays where it was made (as with pip)


@pytest.mark.parametrize("mode", [None, "copy", "hardlink"])
def test_a_same_size_change_inside_the_cache_is_not_installed(
    cli: RunPipfence,
    public_index: PypiServer,
    tmp_path: Path,
    env: dict[str, str],
    mode: str | None,
) -> None:
    if mode is not None:
        env = {**env, "PIPFENCE_LINK_MODE": mode}
    first, second = _projects(cli, public_index, tmp_path, env)
    (cached,) = _cached_copies(env)
    if mode != "copy":
        # The default links where the filesystem cannot clone, and an in-place edit of a
        # linked file is every linked environment's: replace the file instead, by another of
        # the same size and mtime, which only the inode tells.
        stat = cached.stat()
        replacement = cached.with_name("replacement")
        replacement.write_text(EDITED)
        os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        replacement.replace(cached)
    else:
        _edit_in_place(cached, EDITED)

    result = cli(["sync"], cwd=second, env=env)
    assert result.returncode == 0, out(result)
    assert (site_packages(second) / "payload" / "data.py").read_text() == ORIGINAL
    assert (site_packages(first) / "payload" / "data.py").read_text() == ORIGINAL
    (again,) = _cached_copies(env)
    assert again.read_text() == ORIGINAL


def test_a_changed_entry_whose_kept_wheel_is_gone_is_downloaded_again(
    cli: RunPipfence, public_index: PypiServer, tmp_path: Path, env: dict[str, str]
) -> None:
    _first, second = _projects(cli, public_index, tmp_path, env)
    (cached,) = _cached_copies(env)
    cached.unlink()
    cached.write_text(EDITED)  # another file (inode) in its place
    (kept,) = cached.parents[2].glob("*.whl")
    kept.unlink()
    shutil.rmtree(Path(env["PIPFENCE_CACHE_DIR"]) / "index" / "files-v2")  # no other copy
    public_index.clear_log()

    result = cli(["sync"], cwd=second, env=env)
    assert result.returncode == 0, out(result)
    assert (site_packages(second) / "payload" / "data.py").read_text() == ORIGINAL
    fetched = public_index.requested_paths()
    assert any(path.endswith(".whl") for path in fetched), fetched
    (again,) = _cached_copies(env)
    assert again.read_text() == ORIGINAL


def test_a_changed_metadata_file_in_the_cache_neither_fails_nor_reaches_a_sync(
    cli: RunPipfence, public_index: PypiServer, tmp_path: Path, env: dict[str, str]
) -> None:
    _first, second = _projects(cli, public_index, tmp_path, env)
    (metadata,) = Path(env["PIPFENCE_CACHE_DIR"]).glob(
        "wheels-unpacked/*/tree/payload-1.0.dist-info/METADATA"
    )
    text = metadata.read_text(encoding="utf-8")
    metadata.unlink()
    # A requirement the lock does not have: read before the entry is found changed, it
    # would refuse the wheel.
    metadata.write_text(text.replace("\n", "\nRequires-Dist: unlocked\n", 1))

    result = cli(["sync"], cwd=second, env=env)
    assert result.returncode == 0, out(result)
    installed = site_packages(second) / "payload-1.0.dist-info" / "METADATA"
    assert installed.read_text(encoding="utf-8") == text
    assert (site_packages(second) / "payload" / "data.py").read_text() == ORIGINAL


def test_a_wheel_check_that_passed_is_kept_for_the_same_lock_and_target(
    cli: RunPipfence, public_index: PypiServer, tmp_path: Path, env: dict[str, str]
) -> None:
    _first, second = _projects(cli, public_index, tmp_path, env)
    checks = Path(env["PIPFENCE_CACHE_DIR"]) / "wheel-checks-v1"
    (kept,) = checks.iterdir()  # the first project's sync checked its wheel against its lock

    result = cli(["sync"], cwd=second, env=env)  # the same lock, another environment
    assert result.returncode == 0, out(result)
    assert list(checks.iterdir()) == [kept]

    public_index.add_dist("other", "1.0")
    write_pipfile(second, one_source_pipfile(public_index.simple_url, 'other = "*"\n'))
    result = cli(["install"], cwd=second, env=env)  # another lock: checked again
    assert result.returncode == 0, out(result)
    assert len(list(checks.iterdir())) == 2


def test_an_unknown_link_mode_is_refused(
    cli: RunPipfence, public_index: PypiServer, tmp_path: Path, env: dict[str, str]
) -> None:
    public_index.add_dist("payload", "1.0")
    write_pipfile(tmp_path, one_source_pipfile(public_index.simple_url))
    result = cli(["sync"], cwd=tmp_path, env={**env, "PIPFENCE_LINK_MODE": "symlink"})
    assert result.returncode == 2, out(result)
    assert "PIPFENCE_LINK_MODE" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".venv").exists()


def test_a_wheel_overwriting_another_distributions_file_is_reported(
    cli: RunPipfence, public_index: PypiServer, pipfence_project: Path
) -> None:
    public_index.add_dist("first", "1.0", files={"shared/module.py": "OWNER = 'first'\n"})
    public_index.add_dist("second", "1.0", files={"shared/module.py": "OWNER = 'second'\n"})
    write_pipfile(pipfence_project, one_source_pipfile(public_index.simple_url, 'first = "*"\n'))
    result = cli(["install"])
    assert result.returncode == 0, out(result)
    assert "warning" not in result.stderr

    result = cli(["install", "second"])
    assert result.returncode == 0, out(result)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, out(result)
    assert "second-1.0-py3-none-any.whl" in warnings[0]
    assert "`first`" in warnings[0]
    assert "shared/module.py" in warnings[0]
    module = site_packages(pipfence_project) / "shared" / "module.py"
    assert module.read_text() == "OWNER = 'second'\n"
