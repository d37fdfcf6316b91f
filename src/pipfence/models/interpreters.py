"""Which Pythons pipfence can make an environment with, and reading what an interpreter said
when it was asked its version."""

from __future__ import annotations

import re

__all__ = ["LOWEST_PYTHON", "probed_version", "too_old"]

#: The oldest Python pipfence makes an environment with: it starts an interpreter with ``-I``
#: (Python 3.4) and makes the environment with ``venv --prompt`` (Python 3.6). Python 2 knows
#: neither.
LOWEST_PYTHON = (3, 6)

_RELEASE = re.compile(r"\d+\.\d+\.\d+")


def probed_version(output: str) -> str | None:
    """The version (``X.Y.Z``) an interpreter printed when asked for it, or None when what it
    printed is anything else: a pyenv shim's ``pyenv: python3.13: command not found``, a usage
    message, nothing at all."""
    lines = output.strip().splitlines()
    if len(lines) != 1 or not _RELEASE.fullmatch(lines[0].strip()):
        return None
    return lines[0].strip()


def too_old(version: str) -> bool:
    """Whether a Python of ``version`` (``X.Y.Z``) is older than `LOWEST_PYTHON`."""
    parts = tuple(int(part) for part in version.split(".")[:2])
    return parts < LOWEST_PYTHON
