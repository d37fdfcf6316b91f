"""The answer a sync keeps in the environment (`pipfence.project.sync_stamp`): used only for
the same files, options and environment, and never kept for files that changed mid-sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipfence.project.project import Project
from pipfence.project.settings import Settings
from pipfence.project.sync_stamp import (
    STAMP_FILE,
    NoopAnswer,
    noop_answer,
    remember_sync,
    stamp_key,
)

CHOICE = ["sync", True]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n', encoding="utf-8")
    (tmp_path / "Pipfile.lock").write_text("{}", encoding="utf-8")
    site = tmp_path / ".venv" / "lib" / "site-packages"
    (site / "six-1.0.dist-info").mkdir(parents=True)
    (site / "six-1.0.dist-info" / "METADATA").write_text("Name: six\n", encoding="utf-8")
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    settings = Settings.from_environ(
        {"PIPENV_VENV_IN_PROJECT": "1", "HOME": str(tmp_path)}, cwd=tmp_path
    )
    return Project(tmp_path / "Pipfile", settings)


def _remember(project: Project, choice: list[object], kept: int, key: str | None = "") -> None:
    env = project.venv_path()
    remember_sync(
        project,
        choice,
        key=stamp_key(project, choice) if key == "" else key,
        env_root=env,
        site_dirs=[env / "lib" / "site-packages"],
        answer=NoopAnswer(kept=kept, warnings=("Pipfile:3: a warning",)),
    )


def test_an_answer_is_given_back_for_the_same_files_and_options(project: Project) -> None:
    _remember(project, CHOICE, 1)
    assert noop_answer(project, CHOICE) == NoopAnswer(1, ("Pipfile:3: a warning",))
    assert noop_answer(project, ["sync", False]) is None
    for name in ("Pipfile", "Pipfile.lock", ".venv/pyvenv.cfg"):
        path = project.root / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert noop_answer(project, CHOICE) is None, name
        path.write_bytes(original)
    assert noop_answer(project, CHOICE) is not None


def test_a_file_changed_during_the_sync_keeps_nothing(project: Project) -> None:
    key = stamp_key(project, CHOICE)
    project.lock_path.write_text('{"_meta": {}}', encoding="utf-8")  # after the sync read it
    _remember(project, CHOICE, 1, key=key)
    assert not (project.venv_path() / STAMP_FILE).exists()
    _remember(project, CHOICE, 1, key=None)
    assert not (project.venv_path() / STAMP_FILE).exists()


def test_a_mirror_means_no_answer(project: Project) -> None:
    mirrored = Project(
        project.pipfile_path,
        project.settings._replace(mirrors={"PIPFENCE_MIRROR_PYPI": "https://m.example/"}),
    )
    assert stamp_key(mirrored, CHOICE) is None


def test_answers_for_other_options_stay_while_the_environment_is_the_same(
    project: Project,
) -> None:
    for number in range(10):
        _remember(project, ["sync", number], number)
    kept = [n for n in range(10) if noop_answer(project, ["sync", n]) is not None]
    assert kept == [2, 3, 4, 5, 6, 7, 8, 9]
    (project.venv_path() / "lib" / "site-packages" / "other-1.0.dist-info").mkdir()
    assert noop_answer(project, ["sync", 9]) is None
    _remember(project, ["sync", 1], 1)  # a new state of the environment: only its answer
    assert [n for n in range(10) if noop_answer(project, ["sync", n]) is not None] == [1]


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b"[]",
        b'{"format": 99}',
        b'{"format": 1, "site_dirs": [], "fingerprint": "x", "answers": {"k": {"kept": "1"}}}',
    ],
)
def test_a_damaged_stamp_is_no_answer_and_is_replaced(project: Project, damage: bytes) -> None:
    stamp = project.venv_path() / STAMP_FILE
    stamp.write_bytes(damage)
    assert noop_answer(project, CHOICE) is None
    _remember(project, CHOICE, 1)
    assert json.loads(stamp.read_bytes())["format"] == 1
    assert noop_answer(project, CHOICE) is not None
