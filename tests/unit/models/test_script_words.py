"""[scripts] entries and `run` command lines as pipenv reads them (pure: nothing runs)."""

from __future__ import annotations

from typing import Any

import pytest

from pipfence.errors import PipfileError
from pipfence.models.scripts import Command, expand_variables, script_commands

ENV = {"HOME": "/home/u", "NAME": "world", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("echo $NAME", "echo world"),
        ("echo ${NAME}!", "echo world!"),
        ("$HOME/bin", "/home/u/bin"),
        ("[$EMPTY]", "[]"),
        ("$UNSET stays", "$UNSET stays"),
        ("${UNSET}", "${UNSET}"),
        ("cost: $5", "cost: $5"),
        ("no dollar", "no dollar"),
    ],
)
def test_expand_variables(text: str, expected: str) -> None:
    assert expand_variables(text, ENV) == expected


@pytest.mark.parametrize(
    ("argv", "scripts", "expected"),
    [
        # A plain command line: inline assignments split off, the rest kept word for word.
        (["python", "-c", "x"], {}, [(("python", "-c", "x"), {})]),
        (["A=1", "B=two words", "env"], {}, [(("env",), {"A": "1", "B": "two words"})]),
        # The last word is always the program, even when it looks like an assignment.
        (["A=1"], {}, [(("A=1",), {})]),
        (["python", "A=1"], {}, [(("python", "A=1"), {})]),
        # A string script, split as a shell splits it, arguments appended.
        (["t", "-x"], {"t": "pytest -q"}, [(("pytest", "-q", "-x"), {})]),
        (
            ["greet"],
            {"greet": "GREET='hello world' python -c \"print(1)\""},
            [(("python", "-c", "print(1)"), {"GREET": "hello world"})],
        ),
        # A call script becomes python -c, with () added when no arguments are given.
        (
            ["f"],
            {"f": {"call": "pkg.mod:func"}},
            [(("python", "-c", "import pkg.mod as _m; _m.func()"), {})],
        ),
        (
            ["f"],
            {"f": {"call": "pkg.mod:arg_func('abc', 123)"}},
            [(("python", "-c", "import pkg.mod as _m; _m.arg_func('abc', 123)"), {})],
        ),
        # An array script: each string one command; arguments go to the last.
        (
            ["lint", "--fix"],
            {"lint": ["ruff check .", "X=1 ruff format ."]},
            [(("ruff", "check", "."), {}), (("ruff", "format", ".", "--fix"), {"X": "1"})],
        ),
    ],
)
def test_script_commands(
    argv: list[str], scripts: dict[str, Any], expected: list[tuple[tuple[str, ...], dict[str, str]]]
) -> None:
    commands = script_commands(argv, scripts)
    assert [(c.argv, dict(c.assigned)) for c in commands] == expected


def test_expanded_uses_the_environment_and_the_assignments() -> None:
    command = Command(argv=("echo", "$A", "$NAME", "$HOME"), assigned={"A": "$NAME!", "HOME": "/x"})
    done = command.expanded(ENV)
    assert done.assigned == {"A": "world!", "HOME": "/x"}
    assert done.argv == ("echo", "world!", "world", "/x")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "the script is empty"),
        ("echo 'unclosed", "cannot split"),
        ({"call": "no_colon"}, "is not of the form"),
        ({"call": "pkg.mod:"}, "is not of the form"),
        ({"call": "pkg mod:f"}, "is not of the form"),
        ({"call": "pkg.mod:f", "other": 1}, "takes one key"),
        ([], "a script is"),
        (["ok", 3], "a script is"),
        (3, "a script is"),
    ],
)
def test_bad_scripts_name_the_entry(value: object, problem: str) -> None:
    with pytest.raises(PipfileError) as caught:
        script_commands(["s"], {"s": value})
    assert "[scripts] `s`" in str(caught.value)
    assert problem in str(caught.value)
