"""Atomic writes: whole old or whole new file, the mode kept, no temp files left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipfence.project.files import atomic_write


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
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pipfile.lock"]
