"""pyproject.toml dependencies as Pipfile tables (`pylock --from-pyproject`)."""

from __future__ import annotations

from typing import Any

import pytest

from pipfence.errors import UsageError
from pipfence.models.pyproject import pyproject_tables


def test_dependencies_groups_and_extras_become_tables() -> None:
    found = pyproject_tables(
        {
            "project": {
                "dependencies": ["requests[socks]>=2; python_version >= '3.9'", "six"],
                "optional-dependencies": {"Docs": ["sphinx==7.*"]},
                "requires-python": ">=3.9",
            },
            "dependency-groups": {
                "test": ["pytest", {"include-group": "Lint_Tools"}],
                "lint-tools": ["ruff"],
            },
        }
    )
    assert found.tables == {
        "packages": {
            "requests": {
                "version": ">=2",
                "extras": ["socks"],
                "markers": 'python_version >= "3.9"',
            },
            "six": "*",
        },
        "group-test": {"pytest": "*", "ruff": "*"},
        "group-lint-tools": {"ruff": "*"},
        "extra-docs": {"sphinx": "==7.*"},
    }
    assert found.groups == {"group-test": "test", "group-lint-tools": "lint-tools"}
    assert found.extras == {"extra-docs": "Docs"}
    assert found.requires_python == ">=3.9"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"project": {"dependencies": ["not a requirement!"]}}, "is not a requirement"),
        ({"project": {"dependencies": ["pkg @ https://x/pkg.whl"]}}, "direct URL reference"),
        ({"dependency-groups": {"a": [{"include-group": "b"}]}}, "which is missing"),
        ({"dependency-groups": {"a": [{"include-group": "a"}]}}, "includes itself"),
        ({"project": {"dependencies": "six"}}, "is not an array"),
    ],
)
def test_what_cannot_be_read_is_named(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        pyproject_tables(data)
