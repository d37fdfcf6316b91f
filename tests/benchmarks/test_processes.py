"""A measurement starts on a settled file system (bench/processes.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench import processes

pytestmark = pytest.mark.fast_io


def test_the_file_system_is_settled_before_the_timed_commands_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    marker = tmp_path / "ran"
    monkeypatch.setattr(os, "sync", lambda: events.append("sync"))
    real_popen = subprocess.Popen

    def popen(*args: object, **kwargs: object) -> object:
        events.append("start")
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", popen)
    step = processes.Step(
        [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"], tmp_path, dict(os.environ)
    )
    outcome = processes.run_steps([step, step], 30, tmp_path / "log")
    assert outcome.ok, outcome.error
    assert marker.exists()
    assert events == ["sync", "start", "start"]  # once, before the first command
