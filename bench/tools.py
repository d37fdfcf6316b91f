"""The tools being timed: pipfence from this checkout, pipenv and uv in a throw-away venv."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import REPO
from bench.isolation import pip_isolated
from bench.processes import capture

# Besides the tools' own configuration: PYTHONDONTWRITEBYTECODE would make every run of an
# editable pipfence recompile its sources, which is not what a user's machine does.
DROPPED = frozenset({"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE"})


def isolated_env() -> dict[str, str]:
    """This process's environment minus every pip/uv/pipenv configuration of the machine."""
    env = pip_isolated(drop_prefixes=("UV_", "PIPENV_", "PIPFENCE_"), drop=DROPPED)
    env.update(
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        PIPENV_IGNORE_VIRTUALENVS="1",
        NO_COLOR="1",
    )
    return env


def base_python() -> str:
    """The interpreter this venv was made from (pipenv and uv create environments with it)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return str(candidate) if candidate.exists() else sys.executable


@dataclass(frozen=True)
class Toolbox:
    pipfence: Path
    pipenv: Path
    uv: Path
    tools_python: Path
    base_python: str
    plot_ok: bool
    versions: dict[str, str]


def tools_dir() -> Path:
    if override := os.environ.get("BENCH_TOOLS_DIR"):
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "pipfence-bench" / "tools"


def prepare_tools(refresh: bool, tools: list[str]) -> Toolbox:
    """Create (once) the throw-away venv holding pipenv, uv and, if possible, matplotlib."""
    env = isolated_env()
    venv = tools_dir()
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating the tools venv in {venv}", file=sys.stderr)
        subprocess.run([base_python(), "-m", "venv", str(venv)], env=env, check=True)
    bin_dir = venv / "bin"
    upgrade = ["--upgrade"] if refresh else []
    if refresh or not (bin_dir / "pipenv").exists() or not (bin_dir / "uv").exists():
        print("installing pipenv and uv into the tools venv", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "-q", *upgrade]
        subprocess.run([*pip, "pipenv", "uv"], env=env, check=True)
    plot_ok = capture([str(python), "-c", "import matplotlib"], env)[0] == 0
    if not plot_ok or refresh:
        print("installing matplotlib into the tools venv (for the plot)", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "-q", *upgrade, "matplotlib"]
        plot_ok = capture(pip, env, timeout=900)[0] == 0
    pipfence = Path(os.environ.get("BENCH_PIPFENCE") or Path(sys.executable).parent / "pipfence")
    toolbox = Toolbox(
        pipfence=pipfence,
        pipenv=bin_dir / "pipenv",
        uv=bin_dir / "uv",
        tools_python=python,
        base_python=base_python(),
        plot_ok=plot_ok,
        versions={},
    )
    for name in tools:
        code, text = capture([str(getattr(toolbox, name)), "--version"], env)
        toolbox.versions[name] = text.splitlines()[-1] if code == 0 and text else f"? ({text})"
    toolbox.versions["python"] = platform.python_version()
    return toolbox


def script_python(script: Path) -> str:
    """The interpreter of a console script (its ``#!`` line), else the one running this."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        first = script.read_bytes()[:512].split(b"\n", 1)[0].decode()
        if first.startswith("#!") and (python := first[2:].strip()) and Path(python).exists():
            return python
    return sys.executable


def precompile_pipfence(toolbox: Toolbox) -> str:
    """Compile pipfence's package to bytecode once, before any timing.

    An editable install's sources are only compiled when some run may write ``__pycache__``;
    doing it up front keeps that one-off cost out of every tool's first measurement.
    """
    env = isolated_env()
    python = script_python(toolbox.pipfence)
    probe = "import os, pipfence; print(os.path.dirname(pipfence.__file__))"
    code, text = capture([python, "-c", probe], env)
    if code != 0 or not text:
        return f"pipfence not precompiled: cannot find its package ({text[-200:]})"
    package = text.splitlines()[-1]
    code, text = capture([python, "-m", "compileall", "-q", package], env, timeout=300)
    if code != 0:
        return f"pipfence not precompiled: compileall failed ({text[-200:]})"
    with contextlib.suppress(ValueError):
        package = str(Path(package).relative_to(REPO))
    return f"pipfence's package ({package}) was compiled to bytecode once before timing."


def pipfence_sync_flags(toolbox: Toolbox) -> list[str] | None:
    """``pipfence sync``'s extra flags when the command exists, else None.

    ``sync --help`` answers even while the command is a placeholder, so an actual call in an
    empty folder is the real probe: a placeholder says "not available".
    """
    env = isolated_env()
    code, text = capture([str(toolbox.pipfence), "sync", "--help"], env)
    if code != 0 or "not available" in text:
        return None
    with tempfile.TemporaryDirectory(prefix="pipfence-bench-probe-") as empty:
        env.update(
            PIPENV_PIPFILE=str(Path(empty) / "Pipfile"),
            WORKON_HOME=str(Path(empty) / "envs"),
            PIPFENCE_CACHE_DIR=str(Path(empty) / "cache"),
        )
        try:
            done = subprocess.run(
                [str(toolbox.pipfence), "sync"],
                cwd=empty,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            probe = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            probe = ""
    if "not available" in probe:
        return None
    return ["--dev"] if "--dev" in text else []
