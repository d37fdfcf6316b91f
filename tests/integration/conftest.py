"""Fixtures shared by integration modules that keep the environment inside the project.

A module that needs another environment defines its own `env`, which takes precedence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from support import RunPipfence


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment with the virtualenv at project/.venv."""
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1"}


@pytest.fixture
def cli(run_pipfence: RunPipfence, env: dict[str, str]) -> RunPipfence:
    """`run_pipfence` with `env` as the default environment."""

    def run(args: Any, cwd: Any = None, env: Any = None, **kwargs: Any) -> Any:
        return run_pipfence(args, cwd=cwd, env=default if env is None else env, **kwargs)

    default = env
    return run
