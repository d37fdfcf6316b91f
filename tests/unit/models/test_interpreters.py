"""Which Pythons pipfence can make an environment with, and what counts as an interpreter's
answer when it is asked its version."""

from __future__ import annotations

import pytest

from pipfence.models.interpreters import LOWEST_PYTHON, probed_version, too_old


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("3.13.0\n", "3.13.0"),
        ("  2.7.18  \n", "2.7.18"),
        ("pyenv: python3.13: command not found\n", None),
        ("Try `python -h' for more information.\n", None),
        ("", None),
        ("Python 3.12.1\n", None),
        ("3.12\n", None),
        ("3.12.1\n3.11.7\n", None),
    ],
)
def test_only_a_version_on_one_line_is_a_version(output: str, version: str | None) -> None:
    assert probed_version(output) == version


@pytest.mark.parametrize(
    ("version", "old"),
    [("2.7.18", True), ("3.5.10", True), ("3.6.0", False), ("3.13.0", False), ("4.0.0", False)],
)
def test_a_python_before_the_lowest_is_too_old(version: str, old: bool) -> None:
    assert LOWEST_PYTHON == (3, 6)
    assert too_old(version) is old
