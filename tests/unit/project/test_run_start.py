"""How `pipfence run` starts what it found: a file it cannot execute, one without a `#!` line,
one whose interpreter is missing, each answered as a shell answers it (exit 126 or 127)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pipfence.errors import CommandNotExecutable, CommandNotFound
from pipfence.models.scripts import Command
from pipfence.project.running import Launch, call_launch, exec_launch, launch_for


def test_a_file_that_is_not_executable_or_a_folder_is_not_reported_missing(
    tmp_path: Path,
) -> None:
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    script.chmod(0o644)
    with pytest.raises(CommandNotExecutable, match="is not executable") as raised:
        launch_for(Command((str(script), "a")), {"PATH": "/nowhere"})
    assert raised.value.exit_code == 126
    assert raised.value.hint is not None
    assert "chmod +x" in raised.value.hint
    with pytest.raises(CommandNotExecutable, match="is a folder"):
        launch_for(Command((str(tmp_path),)), {"PATH": "/nowhere"})
    with pytest.raises(CommandNotFound):
        launch_for(Command((str(tmp_path / "missing.sh"),)), {"PATH": "/nowhere"})


def test_exec_runs_a_file_without_an_interpreter_line_through_the_shell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[tuple[str, list[str]]] = []

    class Replaced(Exception):
        """Stands for the process being replaced."""

    def execve(path: str, argv: list[str], environ: dict[str, str]) -> None:
        started.append((path, list(argv)))
        if len(started) == 1:
            raise OSError(errno.ENOEXEC, "Exec format error")
        raise Replaced

    monkeypatch.setattr(os, "execve", execve)
    with pytest.raises(Replaced):
        exec_launch(Launch("/p/ns.sh", ["./ns.sh", "a"], {}))
    assert started == [("/p/ns.sh", ["./ns.sh", "a"]), ("/bin/sh", ["sh", "/p/ns.sh", "a"])]


@pytest.mark.parametrize(
    ("code", "error", "exit_code"),
    [(errno.ENOENT, CommandNotFound, 127), (errno.EACCES, CommandNotExecutable, 126)],
)
def test_exec_failures_are_errors_with_a_shells_exit_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    error: type[Exception],
    exit_code: int,
) -> None:
    def execve(path: str, argv: list[str], environ: dict[str, str]) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "execve", execve)
    found = tmp_path / "badi.sh"
    found.write_text("#!/nonexistent/interpreter\n", encoding="utf-8")
    with pytest.raises(error, match="could not be started") as raised:
        exec_launch(Launch(str(found), ["./badi.sh"], {}))
    assert getattr(raised.value, "exit_code", None) == exit_code


def test_exec_of_a_program_that_is_not_there_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-shell"
    with pytest.raises(CommandNotFound, match="was not found") as raised:
        exec_launch(Launch(str(missing), ["zsh", "-i"], {}))
    assert raised.value.exit_code == 127


@pytest.mark.fast_io
def test_an_array_scripts_command_starts_as_a_single_one_does(tmp_path: Path) -> None:
    plain = tmp_path / "ns.sh"
    plain.write_text("exit 5\n", encoding="utf-8")
    plain.chmod(0o755)
    assert call_launch(Launch(str(plain), [str(plain)], {"PATH": "/usr/bin:/bin"})) == 5
    missing = tmp_path / "badi.sh"
    missing.write_text("#!/nonexistent/interpreter\n", encoding="utf-8")
    missing.chmod(0o755)
    with pytest.raises(CommandNotFound, match="interpreter"):
        call_launch(Launch(str(missing), [str(missing)], {"PATH": "/usr/bin:/bin"}))
