"""Fixtures shared by integration modules that keep the environment inside the project.

A module that needs another environment defines its own `env`, which takes precedence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import support

if TYPE_CHECKING:
    import os
    import subprocess
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from support import RunPipfence


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment with the virtualenv at project/.venv."""
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}


@pytest.fixture
def cli(run_pipfence: RunPipfence, env: dict[str, str]) -> RunPipfence:
    """`run_pipfence` with `env` as the default environment."""
    default = env

    def run(
        args: Sequence[str | os.PathLike[str]],
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,  # noqa: A002
        timeout: float = support.CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return run_pipfence(
            args, cwd=cwd, env=default if env is None else env, input=input, timeout=timeout
        )

    return run
