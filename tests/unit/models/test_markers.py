"""Markers in a lock: on the Python version alone, whether they hold for every Python, which
no release of the project's Python meets, and the text pipenv writes for them (each expected
text below is what pipenv 2026.10.3 wrote for the same Pipfile entry): data cases."""

from __future__ import annotations

import pytest

from pipfence.models.markers import (
    all_of,
    any_of,
    edge_marker,
    false_on_pythons,
    lock_marker,
    pipfile_marker,
    python_only,
    requires_python_marker,
    true_for_every_python,
    without_extras,
)
from pipfence.models.names import canonical_name

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


def test_true_for_every_python_answers_for_the_environment_it_is_given() -> None:
    # The answer is memoised: the same marker under another environment is asked anew.
    marker = "python_version >= '2.7' and sys_platform == 'linux'"
    assert true_for_every_python(marker, LINUX) is True
    assert true_for_every_python(marker, {**LINUX, "sys_platform": "win32"}) is False
    assert true_for_every_python(marker, LINUX) is True


@pytest.mark.parametrize(
    ("requires_python", "marker"),
    [
        (">=3.8", "python_version >= '3.8'"),
        (">=3.7.1", "python_full_version >= '3.7.1'"),
        (">=3.8, <4", "python_version >= '3.8' and python_version < '4'"),
        (
            "!=3.0.*,!=3.1.*,>=2.7",
            "python_version >= '2.7' and python_version != '3.0' and python_version != '3.1'",
        ),
        (">3.6", "python_version >= '3.7'"),
        ("<=3.8", "python_version < '3.9'"),
        ("<=3.11", "python_version <= '3.11'"),
        ("==3.8.*", "python_version == '3.8'"),
        (">=3.9,>=3.10", "python_version >= '3.10'"),
        ("", None),
        ("not a specifier", None),
    ],
)
def test_requires_python_marker(requires_python: str, marker: str | None) -> None:
    assert requires_python_marker(requires_python) == marker


@pytest.mark.parametrize(
    ("parts", "own", "os_name"),
    [
        ([("markers", "sys_platform == 'linux'")], "sys_platform == 'linux'", None),
        # Each part normalised, sorted as text, joined with `and`.
        (
            [("markers", "os_name == 'posix'"), ("sys_platform", "== 'linux'")],
            "os_name == 'posix' and sys_platform == 'linux'",
            None,
        ),
        (
            [
                ("markers", "sys_platform == 'win32' and python_version >= '3.9'"),
                ("platform_machine", "== 'AMD64'"),
            ],
            "platform_machine == 'AMD64' and sys_platform == 'win32' and python_version >= '3.9'",
            None,
        ),
        # The `os_name` key is set apart (pipenv adds it after the Python clauses).
        ([("os_name", "== 'splashwear'")], None, "os_name == 'splashwear'"),
        # An `or` keeps its meaning next to another part (pipenv would lose it).
        (
            [
                ("markers", "python_version >= '3.9' or sys_platform == 'linux'"),
                ("os_name", "!= 'x'"),
            ],
            "python_version >= '3.9' or sys_platform == 'linux'",
            "os_name != 'x'",
        ),
        (
            [
                ("markers", "python_version >= '3.9' or sys_platform == 'linux'"),
                ("platform_machine", "== 'x86_64'"),
            ],
            "platform_machine == 'x86_64' and (python_version >= '3.9' or sys_platform == 'linux')",
            None,
        ),
        ([("markers", 'extra == "socks"')], None, None),
        ([], None, None),
    ],
)
def test_pipfile_marker(parts: list[tuple[str, str]], own: str | None, os_name: str | None) -> None:
    assert pipfile_marker(parts) == (own, os_name)


@pytest.mark.parametrize(
    ("own", "requires_python", "direct", "os_name", "marker"),
    [
        # No markers of its own: the Requires-Python clauses, then os_name.
        (
            None,
            ">=3.6",
            True,
            "os_name == 'splashwear'",
            "python_version >= '3.6' and os_name == 'splashwear'",
        ),
        (None, ">=3.7", False, None, "python_version >= '3.7'"),
        (None, None, True, "os_name == 'splashwear'", "os_name == 'splashwear'"),
        (None, None, False, None, None),
        # A Pipfile entry's own markers, without Requires-Python.
        ("sys_platform == 'linux'", ">=3.8", True, None, "sys_platform == 'linux'"),
        ("python_version >= '3.9'", ">=3.10", True, None, "python_version >= '3.9'"),
        # A dependency on some Pythons only: one bound per operator (vcrpy's yarl).
        ("python_version >= '3.4'", ">=3.10", False, None, "python_version >= '3.10'"),
        (
            "python_version < '3.12'",
            ">=3.8",
            False,
            None,
            "python_version >= '3.8' and python_version < '3.12'",
        ),
        (
            "(python_version == '3.11') or (python_version >= '3.12')",
            ">=3.8",
            False,
            None,
            "python_version >= '3.8' and (python_version == '3.11' or python_version >= '3.12')",
        ),
        # A dependency inheriting a platform condition keeps it, without Requires-Python.
        ("platform_machine == 'x86_64'", ">=3.7", False, None, "platform_machine == 'x86_64'"),
    ],
)
def test_lock_marker(
    own: str | None,
    requires_python: str | None,
    direct: bool,
    os_name: str | None,
    marker: str | None,
) -> None:
    assert lock_marker(own, requires_python, direct=direct, os_name=os_name) == marker


ELEVEN = ["3.11.7", "3.11.0", "3.11.1", "3.11.99"]


@pytest.mark.parametrize(
    ("marker", "excluded"),
    [
        ("python_version < '3.8'", True),
        ("python_version < '3.8' and sys_platform == 'win32'", True),
        ("python_version >= '3.12' or (python_version < '3.8' and os_name == 'nt')", True),
        ("sys_platform == 'win32'", False),
        ("os_name == 'FakeOS'", False),
        ("python_version < '3.8' or sys_platform == 'win32'", False),
        ("python_full_version < '3.11.2'", False),
        ("python_version >= '3.11'", False),
        ("not a marker", False),
    ],
)
def test_false_on_pythons(marker: str, excluded: bool) -> None:
    assert false_on_pythons(marker, ELEVEN) is excluded


@pytest.mark.parametrize(
    ("first", "second", "both"),
    [
        (None, None, None),
        ("os_name == 'nt'", None, "os_name == 'nt'"),
        (None, "os_name == 'nt'", "os_name == 'nt'"),
        ("os_name == 'nt'", "os_name == 'nt'", "os_name == 'nt'"),
        ("a == '1'", "b == '2'", "a == '1' and b == '2'"),
        ("a == '1' or a == '2'", "b == '2'", "(a == '1' or a == '2') and b == '2'"),
    ],
)
def test_all_of(first: str | None, second: str | None, both: str | None) -> None:
    assert all_of(first, second) == both


@pytest.mark.parametrize(
    ("markers", "either"),
    [
        (["os_name == 'nt'"], "os_name == 'nt'"),
        (["os_name == 'nt'", "os_name == 'nt'"], "os_name == 'nt'"),
        (["a == '1'", "b == '2'", "a == '1'"], "(a == '1') or (b == '2')"),
    ],
)
def test_any_of(markers: list[str], either: str) -> None:
    assert any_of(markers) == either


@pytest.mark.parametrize(
    ("marker", "kept"),
    [
        (None, None),
        ("", ""),
        ("sys_platform == 'win32'", "sys_platform == 'win32'"),
        ('extra == "socks"', None),
        ('extra == "socks" and sys_platform == "win32"', 'sys_platform == "win32"'),
        ('extra == "a" or sys_platform == "win32"', None),
        (
            'python_version < "3.11" and (extra == "a" or extra == "b")',
            'python_version < "3.11"',
        ),
        ("extra ==", None),
    ],
)
def test_without_extras(marker: str | None, kept: str | None) -> None:
    assert without_extras(marker) == kept


NUMPY = [
    "numpy>=1.23; python_version == '3.11'",
    "numpy>=1.26; python_version >= '3.12'",
]


@pytest.mark.parametrize(
    ("marker", "requires", "edge"),
    [
        (None, NUMPY, None),
        ("sys_platform == 'win32'", NUMPY, "sys_platform == 'win32'"),
        ('python_version == "3.11"', None, 'python_version == "3.11"'),
        (
            'python_version == "3.11"',
            NUMPY,
            "(python_version == '3.11') or (python_version >= '3.12')",
        ),
        (
            'python_version == "3.11"',
            [*NUMPY, "numpy<2; python_version < '3.11'"],
            None,
        ),
        ('python_version == "3.11"', [*NUMPY, "numpy"], None),
        (
            'python_version == "3.11"',
            [*NUMPY, "numpy; sys_platform == 'linux'"],
            'python_version == "3.11"',
        ),
        ('python_version == "3.11" and extra == "fast"', NUMPY[:1], "python_version == '3.11'"),
        ('python_version == "3.11"', ["not a requirement ~", "scipy"], 'python_version == "3.11"'),
    ],
)
def test_edge_marker(marker: str | None, requires: list[str] | None, edge: str | None) -> None:
    assert edge_marker(marker, canonical_name("numpy"), requires, LINUX) == edge
