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
        ("PIPFENCE_PAGE_WORKERS", "-1"),
        ("PIPFENCE_PAGE_WORKERS", "17"),
        ("PIPFENCE_PAGE_WORKERS", "two"),
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
        PIPFENCE_PAGE_WORKERS="0",
        PIPENV_MAX_DEPTH="0",
    )
    assert (found.timeout, found.retries, found.page_max_age, found.max_depth) == (2.5, 4, 0.0, 0)
    assert found.page_workers == 0
    assert settings(PIPFENCE_PAGE_WORKERS="").page_workers is None
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


@pytest.mark.parametrize(
    ("value", "ignored"),
    [("1", True), ("yes", True), ("0", False), ("false", False), ("off", False), ("", False)],
)
def test_boolean_variables_share_one_reading(value: str, ignored: bool) -> None:
    found = settings(
        PIPENV_IGNORE_VIRTUALENVS=value, PIPENV_USE_SYSTEM=value, PIP_BREAK_SYSTEM_PACKAGES=value
    )
    assert found.ignore_virtualenvs is ignored
    assert found.use_system is ignored
    assert found.break_system_packages is ignored


def test_remove_keeps_the_activated_environment_when_ignoring_is_switched_off(
    tmp_path: Path,
) -> None:
    """``PIPENV_IGNORE_VIRTUALENVS=0`` means "do not ignore": the activated environment is the
    one found, and `remove` leaves it alone (it once counted as set, so as true, here)."""
    from pipfence.project.environment import remove_environment
    from pipfence.project.project import Project

    (tmp_path / "Pipfile").write_text("[packages]\n", encoding="utf-8")
    active = tmp_path / "active"
    active.mkdir()
    (active / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    found = Settings.from_environ(
        {**BASE, "VIRTUAL_ENV": str(active), "PIPENV_IGNORE_VIRTUALENVS": "0"}, cwd=tmp_path
    )
    project = Project.find(found)
    assert project.venv_path() == active
    with pytest.raises(UsageError, match="activated environment"):
        remove_environment(project)
    assert (active / "pyvenv.cfg").is_file()


def test_every_variable_settings_reads_is_listed_for_envs() -> None:
    """`pipfence --envs` prints `ENVIRONMENT_VARIABLES`; each variable the settings module
    reads by name is among them (``HOME`` and ``PATH`` aside: everyone's)."""
    import re

    from pipfence.project import settings as module
    from pipfence.project.settings import ENVIRONMENT_VARIABLES

    source = Path(module.__file__).read_text(encoding="utf-8")
    code = source[source.index("\ndef _boolean") :]  # past the table itself
    read = set(re.findall(r'(?:get|environ)\(\s*"([A-Z][A-Z0-9_]+)"', code))
    read |= {f"PIPENV_{n}" for n in re.findall(r'env_flag\(env, "([A-Z_]+)"\)', code)}
    read |= set(re.findall(r'"([A-Z][A-Z0-9_]+)" (?:not )?in \(', code))
    read |= set(re.findall(r'is_true\(env, "([A-Z_]+)"\)', code))
    assert {"PIPENV_IGNORE_VIRTUALENVS", "NO_COLOR", "PIPENV_PIPFILE"} <= read
    assert read - {"HOME", "PATH"} <= set(ENVIRONMENT_VARIABLES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("envs", "/work/project/envs"), ("../envs", "/work/project/../envs"), ("/abs", "/abs")],
)
def test_workon_home_is_absolute_from_where_the_command_runs(value: str, expected: str) -> None:
    settings = Settings.from_environ({"WORKON_HOME": value}, cwd=Path("/work/project"))
    assert settings.workon_home == Path(expected)
