"""Test support: isolated subprocess environments and running the pipfence CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bench.isolation import pip_isolated

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CASES_DIR",
    "CLI_TIMEOUT",
    "REPO_ROOT",
    "SRC_DIR",
    "TESTS_DIR",
    "RunPipfence",
    "isolated_environ",
    "pipfence_environ",
    "run_pipfence",
    "start_pipfence",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SRC_DIR = REPO_ROOT / "src"
TESTS_DIR = REPO_ROOT / "tests"
CASES_DIR = TESTS_DIR / "cases"  # data cases and corpora the tests read
CLI_TIMEOUT = 120.0

_DROPPED_PREFIXES = ("PIP_", "PIPENV_", "PIPFENCE_")
_DROPPED_NAMES = {
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
}
_PROXY_NAMES = {"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy"}


def isolated_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) without pip/pipenv/pipfence settings, proxies or venv markers.

    pip is pointed at no configuration file (`bench.isolation`, the recipe the benchmark and the
    Makefile share) and loopback is never proxied.
    """
    env = pip_isolated(base, drop_prefixes=_DROPPED_PREFIXES, drop=_DROPPED_NAMES)
    env = {key: value for key, value in env.items() if key.lower() not in _PROXY_NAMES}
    env.update(
        {
            "PIP_NO_INPUT": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def pipfence_environ(root: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An isolated environment for the CLI whose home, caches and virtualenvs live under root."""
    dirs = {
        "HOME": root / "home",
        "XDG_CACHE_HOME": root / "xdg" / "cache",
        "XDG_CONFIG_HOME": root / "xdg" / "config",
        "XDG_DATA_HOME": root / "xdg" / "data",
        "XDG_STATE_HOME": root / "xdg" / "state",
        "PIPFENCE_CACHE_DIR": root / "pipfence-cache",
        "WORKON_HOME": root / "virtualenvs",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env = isolated_environ(base)
    env.update({name: str(path) for name, path in dirs.items()})
    env.update(
        {
            "NO_COLOR": "1",
            "TERM": "dumb",
            "COLUMNS": "200",
            "PYTHONUTF8": "1",
            "PYTHONPATH": str(SRC_DIR),
        }
    )
    env.pop("FORCE_COLOR", None)
    return env


def run_pipfence(
    args: Sequence[str | os.PathLike[str]],
    cwd: Path | str,
    env: Mapping[str, str],
    *,
    input: str | None = None,  # noqa: A002
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipfence *args` in cwd with env; output is captured as text, never checked."""
    return subprocess.run(
        [sys.executable, "-m", "pipfence", *(os.fspath(a) for a in args)],
        cwd=cwd,
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_pipfence(
    args: Sequence[str | os.PathLike[str]], cwd: Path | str, env: Mapping[str, str]
) -> subprocess.Popen[str]:
    """Start `python -m pipfence *args` in cwd with env, stdout and stderr piped as text: for a
    test that signals it or runs another command beside it (`processes.finish` collects it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipfence", *(os.fspath(a) for a in args)],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class RunPipfence(Protocol):
    """The `run_pipfence` fixture: cwd defaults to the test's project directory."""

    def __call__(
        self,
        args: Sequence[str | os.PathLike[str]],
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,  # noqa: A002
        timeout: float = CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]: ...
