"""`install --system` picks the interpreter as pipenv does and refuses one the operating
system manages (PEP 668) unless PIP_BREAK_SYSTEM_PACKAGES says otherwise, as pip does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipfence.errors import UsageError
from pipfence.installer.venv import VirtualEnv
from pipfence.project import environment
from pipfence.project.project import Project
from pipfence.project.settings import Settings

MARKER = "/usr/lib/python3.12/EXTERNALLY-MANAGED"


def _project(tmp_path: Path, **environ: str) -> tuple[Project, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python3 = bin_dir / "python3"
    python3.write_text("#!/bin/sh\n", encoding="utf-8")
    python3.chmod(0o755)
    settings = Settings.from_environ({"PATH": str(bin_dir), **environ}, cwd=tmp_path)
    return Project(tmp_path / "Pipfile", settings), python3


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []

    def of_interpreter(python: Path) -> tuple[Any, str | None]:
        calls.append(python)
        return "the-env", MARKER

    monkeypatch.setattr(VirtualEnv, "of_interpreter", staticmethod(of_interpreter))
    return calls


def test_an_externally_managed_python_is_refused_naming_its_marker(
    tmp_path: Path, asked: list[Path]
) -> None:
    project, python3 = _project(tmp_path)
    with pytest.raises(UsageError) as caught:
        environment.system_env(project)
    assert asked == [python3]
    assert MARKER in str(caught.value)
    assert caught.value.hint is not None
    assert "PIP_BREAK_SYSTEM_PACKAGES" in caught.value.hint


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_pip_break_system_packages_lets_it_through(
    tmp_path: Path, asked: list[Path], value: str
) -> None:
    project, python3 = _project(tmp_path, PIP_BREAK_SYSTEM_PACKAGES=value)
    chosen: object = environment.system_env(project)  # what the patched probe returned
    assert chosen == "the-env"
    assert asked == [python3]


def test_no_python_on_path_is_a_usage_error(tmp_path: Path, asked: list[Path]) -> None:
    settings = Settings.from_environ({"PATH": str(tmp_path / "nowhere")}, cwd=tmp_path)
    with pytest.raises(UsageError, match="no `python3` or `python` on PATH"):
        environment.system_env(Project(tmp_path / "Pipfile", settings))
    assert asked == []
