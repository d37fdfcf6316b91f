"""Numeric settings from the environment: a number in range, or a `UsageError` naming the
variable; never nan, inf, a negative, or a typo silently read as the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipfence.errors import UsageError
from pipfence.project.settings import Settings, parse_count, parse_seconds

BASE = {"HOME": "/nonexistent-home", "XDG_CONFIG_HOME": "/nonexistent-config"}


def settings(**variables: str) -> Settings:
    return Settings.from_environ({**BASE, **variables}, cwd=Path("/"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PIPFENCE_TIMEOUT", "nan"),
        ("PIPFENCE_TIMEOUT", "inf"),
        ("PIPFENCE_TIMEOUT", "-inf"),
        ("PIPFENCE_TIMEOUT", "-1"),
        ("PIPFENCE_TIMEOUT", "0"),
        ("PIPFENCE_TIMEOUT", "86401"),
        ("PIPFENCE_TIMEOUT", "1e999"),
        ("PIPFENCE_TIMEOUT", "ten"),
        ("PIPFENCE_RETRIES", "nan"),
        ("PIPFENCE_RETRIES", "-1"),
        ("PIPFENCE_RETRIES", "0"),
        ("PIPFENCE_RETRIES", "101"),
        ("PIPFENCE_RETRIES", "1e400"),
        ("PIPFENCE_RETRIES", "2.5"),
        ("PIPFENCE_RETRIES", "\u0663"),  # ARABIC-INDIC DIGIT THREE: isdigit(), not ASCII
        ("PIPFENCE_PAGE_MAX_AGE", "nan"),
        ("PIPFENCE_PAGE_MAX_AGE", "-0.5"),
        ("PIPENV_MAX_DEPTH", "-1"),
        ("PIPENV_MAX_DEPTH", "x"),
        ("PIPENV_MAX_DEPTH", "100000"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(variable: str, value: str) -> None:
    with pytest.raises(UsageError) as info:
        settings(**{variable: value})
    assert variable in str(info.value)
    assert "\n" not in str(info.value)


def test_numbers_in_range_and_unset_ones() -> None:
    found = settings(
        PIPFENCE_TIMEOUT="2.5",
        PIPFENCE_RETRIES="4",
        PIPFENCE_PAGE_MAX_AGE="0",
        PIPENV_MAX_DEPTH="0",
    )
    assert (found.timeout, found.retries, found.page_max_age, found.max_depth) == (2.5, 4, 0.0, 0)
    empty = settings(PIPFENCE_TIMEOUT="", PIPFENCE_RETRIES="", PIPENV_MAX_DEPTH="")
    assert (empty.timeout, empty.retries, empty.page_max_age, empty.max_depth) == (
        None,
        None,
        None,
        10,
    )


def test_parsers_name_what_they_read() -> None:
    with pytest.raises(UsageError, match="--timeout"):
        parse_seconds("nan", "--timeout")
    assert parse_seconds("0", "--x", zero=True) == 0.0
    assert parse_count(" 7 ", "N", minimum=1, maximum=9) == 7
