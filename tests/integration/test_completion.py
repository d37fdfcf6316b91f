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


def _bash_completions(run_pipfence: RunPipfence, tmp_path: Path, *lines: str) -> list[str]:
    """What bash's completion offers for each command line (the last word being completed),
    with the script `pipfence --completion bash` prints sourced."""
    result = run_pipfence(["--completion", "bash"])
    assert result.returncode == 0, result.stderr
    script = tmp_path / "complete.sh"
    script.write_text(result.stdout, encoding="utf-8")
    probes = [
        f"COMP_WORDS=({line}); COMP_CWORD={len(line.split()) - 1}; _pipfence; "
        'echo "${COMPREPLY[@]}"'
        for line in lines
    ]
    return subprocess.run(
        ["bash", "-c", "; ".join([f"source {script}", *probes])],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.splitlines()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_and_their_options(
    run_pipfence: RunPipfence, tmp_path: Path
) -> None:
    offered = _bash_completions(run_pipfence, tmp_path, "pipfence ins", "pipfence install --de")
    assert offered == ["install", "--dev --deploy"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_passes_over_the_values_of_global_options(
    run_pipfence: RunPipfence, tmp_path: Path
) -> None:
    offered = _bash_completions(
        run_pipfence,
        tmp_path,
        "pipfence --python 3.12 install --dep",
        "pipfence --pypi-mirror https://m.example/simple sync --cle",
    )
    assert offered == ["--deploy", "--clean --clear"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(run_pipfence: RunPipfence, shell: str) -> None:
    result = run_pipfence(["--completion", shell])
    assert result.returncode == 0
    assert "install" in result.stdout


def test_unknown_shell_is_a_usage_error(run_pipfence: RunPipfence) -> None:
    result = run_pipfence(["--completion", "tcsh"])
    assert result.returncode == 2
