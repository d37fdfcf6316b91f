"""`pipfence run PROGRAM …` is started often, so its arguments are read without building the
parser (`plain_run`), and the launcher loads none of what only other commands need."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipfence.cli.main import build_parser, plain_run


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "python", "-c", "pass"],
        ["run", "pytest", "-v", "-q", "--lf"],
        ["run", "serve"],
        ["run", "A=1", "python", "--", "-x"],
        ["run", "", "x"],
        ["run", "run", "--help"],
    ],
)
def test_a_plain_run_is_read_as_the_parser_reads_it(argv: list[str]) -> None:
    quick = plain_run(argv)
    assert quick is not None
    for parser in (build_parser("run"), build_parser()):
        parsed, unknown = parser.parse_known_args(argv)
        assert unknown == []
        assert vars(quick) == vars(parsed)


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["run", "-v", "python"],
        ["run", "--", "python"],
        ["run", "--help"],
        ["--python", "3.12", "run", "python"],
        ["-v", "run", "python"],
        ["install", "six"],
        ["runs", "python"],
        [],
    ],
)
def test_any_other_command_line_goes_through_the_parser(argv: list[str]) -> None:
    assert plain_run(argv) is None


_LOADED = """
import os, sys
def stop(*args):
    print(" ".join(sorted(sys.modules)))
    os._exit(0)
os.execve = stop
from pipfence.cli.main import main
main(["run", "python", "-c", "pass"])
"""


@pytest.mark.fast_io  # a fresh interpreter: what the launcher loads
def test_the_launcher_loads_neither_the_pipfile_model_nor_dataclasses(tmp_path: Path) -> None:
    (tmp_path / "Pipfile").write_text(
        '[packages]\nsix = "*"\n\n[pipenv]\nvenv_in_project = true\n', encoding="utf-8"
    )
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPENV_", "VIRTUAL_ENV"))}
    done = subprocess.run(
        [sys.executable, "-c", _LOADED],
        cwd=tmp_path,
        env={**env, "PIPENV_IGNORE_VIRTUALENVS": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(done.stdout.split())
    assert "pipfence.project.running" in loaded  # it did reach the launch
    unwanted = {
        "dataclasses",
        "inspect",
        "packaging",
        "pipfence.models.pipfile",
        "pipfence.models.urls",
        "pipfence.project.environment",
        "subprocess",
        "threading",
        "traceback",
    }
    assert loaded & unwanted == set()
