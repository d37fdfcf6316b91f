"""The cache check of a sync into a new environment, started from the lock file alone before
the sync's modules load (`pipfence.project.sync_ahead`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipfence.installer.ahead_check import AheadCheck
from pipfence.installer.cache import UnpackedCache
from pipfence.project.project import Project
from pipfence.project.settings import Settings
from pipfence.project.sync_ahead import early_cache_check, unpacked_root
from support.dists import build_wheel


def _project(tmp_path: Path, lock: object) -> Project:
    (tmp_path / "Pipfile").write_text('[packages]\ndemo = "*"\n', encoding="utf-8")
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock), encoding="utf-8")
    settings = Settings.from_environ(
        {
            "PIPENV_VENV_IN_PROJECT": "1",
            "HOME": str(tmp_path),
            "PIPFENCE_CACHE_DIR": str(tmp_path / "cache"),
        },
        cwd=tmp_path,
    )
    return Project(tmp_path / "Pipfile", settings)


def _lock(*hashes: object) -> dict[str, object]:
    return {
        "_meta": {"hashes": {"sha256": "x"}, "sources": []},
        "default": {"demo": {"version": "==1.0", "hashes": list(hashes)}},
        "develop": {"tool": {"version": "==2.0", "hashes": ["sha256:" + "b" * 64]}},
        "broken": ["not", "a", "table"],
    }


@pytest.mark.fast_io  # the helper is a process
def test_every_sha256_with_an_entry_of_every_category_is_asked_for(tmp_path: Path) -> None:
    good, uncached = "A" * 64, "d" * 64
    project = _project(
        tmp_path,
        _lock(f"sha256:{good}", f"sha256:{uncached}", "md5:" + "c" * 32, "sha256:short", 7),
    )
    for entry in ("a" * 64, "b" * 64, "c" * 32, "short"):
        (unpacked_root(project.settings) / entry).mkdir(parents=True)
    ahead = early_cache_check(project)
    assert ahead is not None
    try:
        assert ahead.asked == {"a" * 64, "b" * 64}
        assert ahead.root == unpacked_root(project.settings)
    finally:
        ahead.close()


@pytest.mark.parametrize("lock", ["not json", "[]", "{}"])
def test_a_lock_that_does_not_read_starts_no_helper(tmp_path: Path, lock: str) -> None:
    project = _project(tmp_path, None)
    project.lock_path.write_text(lock, encoding="utf-8")
    ahead = early_cache_check(project)
    assert ahead is None or not ahead.asked


def test_no_cache_yet_starts_no_helper(tmp_path: Path) -> None:
    assert early_cache_check(_project(tmp_path, _lock("sha256:" + "a" * 64))) is None


def test_an_existing_environment_needs_no_early_check(tmp_path: Path) -> None:
    project = _project(tmp_path, _lock("sha256:" + "a" * 64))
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    assert early_cache_check(project) is None


@pytest.mark.fast_io  # the helper is a process
def test_the_cache_takes_the_early_answers_for_its_own_root_only(tmp_path: Path) -> None:
    root = tmp_path / "cache" / "wheels-unpacked"
    wheel = build_wheel(tmp_path / "w", "demo", "1.0", files={"demo/data.py": "x = 1\n"})
    entry = UnpackedCache(root).unpack(wheel)
    project = _project(tmp_path, _lock("sha256:" + entry.sha256))
    early = early_cache_check(project)
    assert early is not None
    cache = UnpackedCache(root)
    cache.adopt_ahead(early)
    try:
        assert cache.verified(entry.sha256) == entry
    finally:
        cache.end_ahead()
    # Another root holds the same wheel intact, while this root's copy was changed in place:
    # that root's helper must not vouch for this root's entry.
    UnpackedCache(tmp_path / "elsewhere").unpack(wheel)
    with (entry.tree / "demo" / "data.py").open("r+", encoding="utf-8") as handle:
        handle.write("x = 2\n")  # same size, same inode
    cache = UnpackedCache(root)
    cache.adopt_ahead(AheadCheck.start(tmp_path / "elsewhere", [entry.sha256]))
    try:
        redone = cache.verified(entry.sha256)  # checked here: made again from the kept wheel
    finally:
        cache.end_ahead()
    assert redone is not None
    assert (redone.tree / "demo" / "data.py").read_text(encoding="utf-8") == "x = 1\n"
