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


_BURN = (
    "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"
)


def test_a_measurement_counts_the_cpu_time_of_the_command_and_the_children_it_waited_for(
    tmp_path: Path,
) -> None:
    burn = _BURN.format(seconds=0.3)
    # A child that burns CPU in a grandchild it waits for, then in itself.
    parent = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {burn!r}])\n{burn}"
    step = processes.Step([sys.executable, "-c", parent], tmp_path, dict(os.environ))
    outcome = processes.run_steps([step], 30, tmp_path / "log")
    assert outcome.ok, outcome.error
    assert outcome.cpu_seconds >= 0.55


def test_a_command_that_waits_shows_wall_time_without_cpu_time_and_steps_add_up(
    tmp_path: Path,
) -> None:
    sleep = processes.Step(
        [sys.executable, "-c", "import time; time.sleep(0.4)"], tmp_path, dict(os.environ)
    )
    burn = processes.Step(
        [sys.executable, "-c", _BURN.format(seconds=0.3)], tmp_path, dict(os.environ)
    )
    slept = processes.run_steps([sleep], 30, tmp_path / "slept")
    assert slept.seconds >= 0.4
    assert slept.cpu_seconds < 0.25
    both = processes.run_steps([sleep, burn], 30, tmp_path / "both")
    assert both.seconds >= 0.7
    assert 0.3 <= both.cpu_seconds < 0.55
