"""Run the real pipenv (`python -m pipenv`) next to pipfence, for the interoperability tests.

pipenv keeps its virtualenv inside the project and every proxy points at a closed loopback
port, so any request that is not for 127.0.0.1 fails instead of leaving the machine.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["DEAD_PROXY", "PIPENV_TIMEOUT", "pipenv_environ", "run_pipenv"]

PIPENV_TIMEOUT = 240.0
DEAD_PROXY = "http://127.0.0.1:9"
"""A closed loopback port: any request that would leave 127.0.0.1 is refused at once."""


def pipenv_environ(pipfence_env: Mapping[str, str], root: Path) -> dict[str, str]:
    """An environment for pipenv made from one for pipfence (without its PYTHONPATH): no
    prompts, spinner or .env loading, the virtualenv in the project, the cache at
    root/pipenv-cache and every proxy dead."""
    env = {key: value for key, value in pipfence_env.items() if key != "PYTHONPATH"}
    env.update(
        {
            "PIPENV_YES": "1",
            "PIPENV_NOSPIN": "1",
            "PIPENV_VENV_IN_PROJECT": "1",
            "PIPENV_IGNORE_VIRTUALENVS": "1",
            "PIPENV_DONT_LOAD_ENV": "1",
            "PIPENV_VERBOSITY": "-1",
            "PIPENV_CACHE_DIR": str(root / "pipenv-cache"),
            "HTTP_PROXY": DEAD_PROXY,
            "HTTPS_PROXY": DEAD_PROXY,
            "http_proxy": DEAD_PROXY,
            "https_proxy": DEAD_PROXY,
        }
    )
    return env


def run_pipenv(
    project: Path, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipenv *args` in project; output is captured as text, never checked."""
    return subprocess.run(
        [sys.executable, "-m", "pipenv", *args],
        cwd=project,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=PIPENV_TIMEOUT,
        check=False,
    )
