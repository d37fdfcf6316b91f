"""Markers on the Python version alone, and whether they hold for every Python: data cases."""

from __future__ import annotations

import pytest

from pipfence.models.markers import python_only, true_for_every_python

LINUX = {"sys_platform": "linux", "os_name": "posix", "platform_machine": "x86_64"}


@pytest.mark.parametrize(
    ("marker", "only"),
    [
        ("python_version < '3.11'", True),
        ("python_full_version >= '3.8.1' and python_version < '4'", True),
        ("sys_platform == 'win32'", False),
        ("python_version >= '3.8' and sys_platform == 'linux'", False),
        ("extra == 'socks'", False),
        ("", False),
    ],
)
def test_python_only(marker: str, only: bool) -> None:
    assert python_only(marker) is only


@pytest.mark.parametrize(
    ("marker", "every"),
    [
        (
            "(python_version < '3.11') or (python_version == '3.11') or (python_version >= '3.12')",
            True,
        ),
        ("python_version >= '2.7'", True),
        ("python_version < '3.11'", False),
        ("(python_version < '3.11') or (python_version >= '3.12')", False),
        ("python_full_version >= '3.8.1'", False),
        ("python_version == '3.11' and python_version >= '3.11'", False),
        ("not a marker", False),
    ],
)
def test_true_for_every_python(marker: str, every: bool) -> None:
    assert true_for_every_python(marker, LINUX) is every
