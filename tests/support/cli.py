"""Running the pipfence CLI inside the test process, as if it were a process of its own.

`run_in_process(args, cwd, env)` calls `pipfence.cli.main.main(args)` and returns what
`support.run_pipfence` (the subprocess) returns: a `CompletedProcess` with the exit code and the
text written to stdout and stderr. What a process would have to itself is set up for the call
and put back after it:

- `os.environ` is exactly `env`, and the working directory is `cwd`;
- file descriptors 1 and 2 point at temporary files, and `sys.stdout`/`sys.stderr` write
  through them (stdout block-buffered, stderr line-buffered, as into a pipe), so the output of
  the processes pipfence starts lands in the result too, in the order it was written;
- `sys.stdin` reads `input` (or nothing);
- logging is as in a fresh interpreter (no handlers on the root logger, so a warning reaches
  stderr through logging's last resort; the `pipfence` logger as it was), and so are the
  warning filters;
- `SystemExit` (argparse's usage errors) becomes the exit code.

Some runs need a real process, and `run_cli` sends them to the subprocess runner: commands
that replace the process (`run` and `shell` exec their command); an environment that sets the
interpreter up differently (a `PYTHON*` variable this process was not started with, other than
the `PYTHONUTF8=1` and `PYTHONPATH=src` every test environment has: another `PYTHONPATH` hides
or adds modules, `PYTHONPROFILEIMPORTTIME` reports what a fresh start imports); and a test marked
`subprocess_cli` (interrupting a command, for one: pipfence may end its process when threads
are left). `PIPFENCE_TEST_SUBPROCESS=1` sends every run there.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import tempfile
import threading
import warnings
from typing import IO, TYPE_CHECKING, TextIO

from support import CLI_TIMEOUT, SRC_DIR, run_pipfence

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

__all__ = ["EXEC_COMMANDS", "run_cli", "run_in_process"]

EXEC_COMMANDS = frozenset({"run", "shell"})
"""Commands that exec another program in place of pipfence: always a real process."""

_SAME_INTERPRETER = {"PYTHONUTF8": "1", "PYTHONPATH": str(SRC_DIR)}
"""Interpreter variables this process already runs as (pipfence is imported from src)."""

_ONE_AT_A_TIME = threading.Lock()  # the process-wide state below has room for one command


def run_cli(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path | str,
    env: Mapping[str, str],
    *,
    input: str | None = None,  # noqa: A002
    timeout: float = CLI_TIMEOUT,
    subprocess_only: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`run_in_process`, or `support.run_pipfence` for the commands and cases that need a
    process of their own (see the module's docstring)."""
    from pipfence.cli.main import command_of

    argv = [os.fspath(a) for a in args]
    if (
        subprocess_only
        or os.environ.get("PIPFENCE_TEST_SUBPROCESS") == "1"
        or command_of(argv) in EXEC_COMMANDS
        or _other_interpreter(env)
    ):
        return run_pipfence(argv, cwd, env, input=input, timeout=timeout)
    return run_in_process(argv, cwd, env, input=input)


def _other_interpreter(env: Mapping[str, str]) -> bool:
    """Whether `env` sets Python up otherwise than this process was started (variables it
    leaves out, PYTHONSTARTUP say, change nothing a command does)."""
    return any(
        value != _SAME_INTERPRETER.get(key, os.environ.get(key))
        for key, value in env.items()
        if key.startswith("PYTHON")
    )


def run_in_process(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path | str,
    env: Mapping[str, str],
    *,
    input: str | None = None,  # noqa: A002
) -> subprocess.CompletedProcess[str]:
    """`pipfence *args` in this process, in cwd with env; output captured, exit code returned."""
    from pipfence.cli.main import main

    argv = [os.fspath(a) for a in args]
    with _ONE_AT_A_TIME, _captured_fds() as (out, err), _process_state(cwd, env, input):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = _exit_code(stop.code)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "pipfence", *argv], code, out.getvalue(), err.getvalue()
    )


def _exit_code(code: object) -> int:
    """The status `raise SystemExit(code)` gives a process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


class _Captured:
    """The text written to one descriptor, readable once the capture has ended."""

    def __init__(self) -> None:
        self.text = ""

    def getvalue(self) -> str:
        return self.text


@contextlib.contextmanager
def _captured_fds() -> Iterator[tuple[_Captured, _Captured]]:
    """fds 1 and 2 (and sys.stdout/sys.stderr over them) into temporary files."""
    out, err = _Captured(), _Captured()
    saved_streams = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        saved_fds = os.dup(1), os.dup(2)
        for stream in saved_streams:
            with contextlib.suppress(ValueError, OSError):
                stream.flush()
        os.dup2(out_file.fileno(), 1)
        os.dup2(err_file.fileno(), 2)
        sys.stdout = _text(1, line_buffering=False)
        sys.stderr = _text(2, line_buffering=True)
        try:
            yield out, err
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(ValueError, OSError):
                    stream.flush()
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            out.text = _read(out_file)
            err.text = _read(err_file)


def _text(fd: int, *, line_buffering: bool) -> TextIO:
    """A text stream over fd, encoded as the subprocess's (PYTHONUTF8=1) are."""
    return open(  # flushed with the capture; closefd=False leaves the fd
        fd,
        "w",
        buffering=1 if line_buffering else -1,
        encoding="utf-8",
        errors="surrogateescape",
        closefd=False,
    )


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


@contextlib.contextmanager
def _process_state(cwd: Path | str, env: Mapping[str, str], input: str | None) -> Iterator[None]:  # noqa: A002
    """The environment, working directory, stdin, logging and warning filters of a fresh
    process, put back afterwards."""
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_stdin = sys.stdin
    root = logging.getLogger()
    saved_root = root.handlers[:], root.level
    ours = logging.getLogger("pipfence")
    saved_ours = ours.handlers[:], ours.level, ours.propagate
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin = io.StringIO(input or "")
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
                warnings.simplefilter("ignore", category)
            warnings.simplefilter("ignore", ResourceWarning)
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        os.chdir(saved_cwd)
        sys.stdin = saved_stdin
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        ours.handlers[:] = saved_ours[0]
        ours.setLevel(saved_ours[1])
        ours.propagate = saved_ours[2]
