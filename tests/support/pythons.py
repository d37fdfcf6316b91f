"""Fake Python interpreters, as small shell scripts, for the tests of how pipfence finds one:
a Python that only says its version, a Python 2 (which refuses ``-I``, as the real one does)
and a pyenv shim of a version that is not selected (which says so and exits 127)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["fake_python", "pyenv_install", "pyenv_shim", "python2"]


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def fake_python(path: Path, version: str) -> Path:
    """An interpreter that answers pipfence's version probe with ``version``."""
    return _script(path, f"echo {version}\n")


def python2(path: Path, version: str = "2.7.18") -> Path:
    """A Python 2: ``-I`` (Python 3.4) is an unknown option to it, as to the real one, with
    the real one's usage lines; asked its version otherwise, it says ``version``."""
    return _script(
        path,
        'for arg in "$@"; do\n'
        '  if [ "$arg" = "-I" ]; then\n'
        '    echo "Unknown option: -I" >&2\n'
        '    echo "usage: $0 [option] ... [-c cmd | -m mod | file | -] [arg] ..." >&2\n'
        '    echo "Try \\`python -h\' for more information." >&2\n'
        "    exit 2\n"
        "  fi\n"
        "done\n"
        f"echo {version}\n",
    )


def pyenv_shim(path: Path) -> Path:
    """What pyenv's shim ``path`` does when its version is not the selected one."""
    return _script(
        path,
        f'echo "pyenv: {path.name}: command not found" >&2\n'
        'echo "" >&2\n'
        f'echo "The \\`{path.name}\' command exists in these Python versions:" >&2\n'
        "exit 127\n",
    )


def pyenv_install(root: Path, version: str) -> Path:
    """pyenv's install of Python ``version`` under ``root`` (``PYENV_ROOT``):
    ``root/versions/X.Y.Z/bin/pythonX.Y``, a Python 2 for a version 2."""
    minor = ".".join(version.split(".")[:2])
    binary = root / "versions" / version / "bin" / f"python{minor}"
    if version.startswith("2."):
        return python2(binary, version)
    return fake_python(binary, version)
