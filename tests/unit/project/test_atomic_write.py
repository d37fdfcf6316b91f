"""Atomic writes: whole old or whole new file, the mode kept, no temp files left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipfence.errors import FileWriteError
from pipfence.project.files import FileSet, atomic_write


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "Pipfile.lock"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pipfile.lock"]


def test_new_file_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "Pipfile", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "Pipfile").stat().st_mode) == 0o640


def test_failed_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "Pipfile.lock"
    target.write_text("old", encoding="utf-8")

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(FileWriteError, match=r"^Could not write `Pipfile.lock`: disk full$"):
        atomic_write(target, b"new", display="Pipfile.lock")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pipfile.lock"]


def test_a_symlink_stays_and_its_target_is_replaced_with_its_mode(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "Pipfile.lock"
    real.write_text("old", encoding="utf-8")
    real.chmod(0o604)
    project = tmp_path / "project"
    project.mkdir()
    link = project / "Pipfile.lock"
    link.symlink_to("../shared/Pipfile.lock")
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert os.readlink(link) == "../shared/Pipfile.lock"
    assert real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o604
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["Pipfile.lock"]
    assert sorted(p.name for p in project.iterdir()) == ["Pipfile.lock"]


def test_a_file_set_puts_back_the_first_file_when_the_second_cannot_be_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "Pipfile", tmp_path / "Pipfile.lock"
    first.write_text("old pipfile", encoding="utf-8")
    second.write_text("old lock", encoding="utf-8")
    files = FileSet()
    files.add(first, b"new pipfile", display="Pipfile")
    files.add(second, b"new lock", display="Pipfile.lock")
    real_replace = Path.replace

    def replace(self: Path, target: Path) -> Path:
        if Path(target) == second:
            raise PermissionError(1, "Operation not permitted")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(
        FileWriteError, match=r"^Could not write `Pipfile.lock`: Operation not permitted$"
    ):
        files.commit()
    assert first.read_text(encoding="utf-8") == "old pipfile"
    assert second.read_text(encoding="utf-8") == "old lock"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pipfile", "Pipfile.lock"]


def test_staged_files_a_killed_command_left_are_removed_by_the_next_write(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text("old", encoding="utf-8")
    hour_ago = 3700.0
    dead = [".Pipfile.k3x_9aq1.tmp", ".Pipfile.0a1b2c3d.old"]
    live = [".Pipfile.zz11yy22.tmp"]  # recent: maybe another writer's
    mine_not = [".Pipfile.lock.0a1b2c3d.old", ".Pipfile.notstaged.tmp", "Pipfile.0a1b2c3d.tmp"]
    for name in dead + live + mine_not:
        (tmp_path / name).write_text("x", encoding="utf-8")
    for name in dead + mine_not:
        when = (tmp_path / name).stat().st_mtime - hour_ago
        os.utime(tmp_path / name, (when, when))
    files = FileSet()
    files.add(tmp_path / "Pipfile", b"new", display="Pipfile")
    files.commit()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["Pipfile", *live, *mine_not])
    assert (tmp_path / "Pipfile").read_bytes() == b"new"
