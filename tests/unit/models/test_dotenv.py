"""`.env` files read as pipenv reads them (python-dotenv's grammar): data cases, each checked
once against python-dotenv itself when written."""

from __future__ import annotations

import pytest

from pipfence.models.dotenv import parse_dotenv

ENVIRON = {"HOME": "/home/ana", "SHELL_ONLY": "from-shell"}

CASES: dict[str, tuple[str, dict[str, str]]] = {
    "plain, exported, spaced": (
        "A=1\n  export   B=2\nC = spaced \n",
        {"A": "1", "B": "2", "C": "spaced"},
    ),
    "comments": (
        '# top\nA=1#kept\nB=1 # dropped\nC="x" # dropped\n',
        {"A": "1#kept", "B": "1", "C": "x"},
    ),
    "single quotes keep everything but \\\\ and \\'": ("K='a\\'b\\\\c\\n'\n", {"K": "a'b\\c\\n"}),
    "double quotes decode escapes and span lines": (
        'J="esc\\nnl\\t\\x"\nG="multi\nline"\n',
        {"J": "esc\nnl\t\\x", "G": "multi\nline"},
    ),
    "references: earlier lines, then the environment, then the default": (
        "A=1\nE=${A}-x\nH=${HOME}\nD=${NOPE:-dflt}\nN=${NOPE}\nQ='${A}'\n",
        {"A": "1", "E": "1-x", "H": "/home/ana", "D": "dflt", "N": "", "Q": "1"},
    ),
    "$NAME without braces is kept": ("Y=$HOME\n", {"Y": "$HOME"}),
    "a later line is not seen by an earlier one": ("A=${B}\nB=2\n", {"A": "", "B": "2"}),
    "the last binding of a key wins, for the lines after it too": (
        "A=1\nA=2\nB=${A}\n",
        {"A": "2", "B": "2"},
    ),
    "a file value hides the environment's for the lines after it": (
        "HOME=/elsewhere\nX=${HOME}\n",
        {"HOME": "/elsewhere", "X": "/elsewhere"},
    ),
    "empty value, key alone": ("EMPTY=\nNOVAL\nafter=1\n", {"EMPTY": "", "after": "1"}),
    "quoted key": ("'Q K'=v\n", {"Q K": "v"}),
    "CRLF": ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    "lines that do not parse are skipped": (
        "V='abc' trailing\nU=\"unclosed\n=bad\nOK=1\n",
        {"OK": "1"},
    ),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_dotenv_values(text: str, expected: dict[str, str]) -> None:
    assert parse_dotenv(text).values(ENVIRON) == expected


def test_lines_that_do_not_parse_are_named() -> None:
    assert parse_dotenv("A=1\nV='abc' trailing\n=bad\nB=2\n").bad_lines == [2, 3]
    assert parse_dotenv("A=1\n# only a comment\n\n").bad_lines == []
