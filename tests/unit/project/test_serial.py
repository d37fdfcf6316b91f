"""The project lock: one process at a time, the same thread may take it again inside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipfence.project.serial import _file_lock

pytestmark = pytest.mark.fast_io  # another process tries the lock

_TRY = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("free")
"""


def _other_process_finds(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _TRY, str(path)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_another_process_waits_while_the_lock_is_held(tmp_path: Path) -> None:
    path = tmp_path / "project.lock"
    with _file_lock(path):
        assert _other_process_finds(path) == "busy"
        with _file_lock(path):  # taken again inside: no deadlock
            assert _other_process_finds(path) == "busy"
        assert _other_process_finds(path) == "busy"  # the outer hold remains
    assert _other_process_finds(path) == "free"


def test_the_lock_is_let_go_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "project.lock"
    with pytest.raises(KeyboardInterrupt), _file_lock(path):
        raise KeyboardInterrupt
    assert _other_process_finds(path) == "free"
