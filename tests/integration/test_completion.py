"""`pipfence --completion SHELL` prints a script that completes commands and options."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence

pytestmark = pytest.mark.integration


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_and_their_options(
    run_pipfence: RunPipfence, tmp_path: Path
) -> None:
    result = run_pipfence(["--completion", "bash"])
    assert result.returncode == 0, result.stderr
    script = tmp_path / "complete.sh"
    script.write_text(result.stdout, encoding="utf-8")
    probe = (
        f"source {script}; "
        'COMP_WORDS=(pipfence ins); COMP_CWORD=1; _pipfence; echo "${COMPREPLY[@]}"; '
        'COMP_WORDS=(pipfence install --de); COMP_CWORD=2; _pipfence; echo "${COMPREPLY[@]}"'
    )
    lines = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    assert lines == ["install", "--dev --deploy"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_passes_over_the_values_of_global_options(
    run_pipfence: RunPipfence, tmp_path: Path
) -> None:
    result = run_pipfence(["--completion", "bash"])
    assert result.returncode == 0, result.stderr
    script = tmp_path / "complete.sh"
    script.write_text(result.stdout, encoding="utf-8")
    probe = (
        f"source {script}; "
        "COMP_WORDS=(pipfence --python 3.12 install --dep); COMP_CWORD=4; _pipfence; "
        'echo "${COMPREPLY[@]}"; '
        "COMP_WORDS=(pipfence --pypi-mirror https://m.example/simple sync --cle); "
        'COMP_CWORD=4; _pipfence; echo "${COMPREPLY[@]}"'
    )
    lines = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    assert lines == ["--deploy", "--clean --clear"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(run_pipfence: RunPipfence, shell: str) -> None:
    result = run_pipfence(["--completion", shell])
    assert result.returncode == 0
    assert "install" in result.stdout


def test_unknown_shell_is_a_usage_error(run_pipfence: RunPipfence) -> None:
    result = run_pipfence(["--completion", "tcsh"])
    assert result.returncode == 2
