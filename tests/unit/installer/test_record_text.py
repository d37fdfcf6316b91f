"""RECORD's text is what `csv.writer` makes, whether or not a row needs quoting
(pipfence.installer.destination._record_text): the plain path must not change a byte."""

from __future__ import annotations

import csv
import io

import pytest

from pipfence.installer.destination import _record_text


def _csv(lines: list[tuple[str, str, str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n").writerows(lines)
    return out.getvalue()


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([], id="no rows"),
        pytest.param([("pkg/__init__.py", "sha256=abc", "12")], id="plain"),
        pytest.param([("pkg-1.0.dist-info/RECORD", "", "")], id="RECORD's own row"),
        pytest.param([("pkg/a,b.txt", "sha256=abc", "3")], id="a comma in a path"),
        pytest.param([('pkg/say "hi".txt', "sha256=abc", "3")], id="a quote in a path"),
        pytest.param([("pkg/two\nlines", "sha256=abc", "3")], id="a newline in a path"),
        pytest.param([("pkg/cr\r.txt", "sha256=abc", "3")], id="a carriage return in a path"),
        pytest.param([("", "", "")], id="every field empty"),
        pytest.param([("pkg/a.py", "sha256=abc", "1"), ("pkg/b,c.py", "", "")], id="one of many"),
        pytest.param([(" spaced ", "sha256=abc", "1")], id="spaces are not quoted"),
    ],
)
def test_record_text_is_what_csv_writes(lines: list[tuple[str, str, str]]) -> None:
    assert _record_text(lines) == _csv(lines)


def test_a_path_with_a_comma_is_quoted() -> None:
    assert _record_text([("pkg/a,b.txt", "sha256=abc", "3")]) == '"pkg/a,b.txt",sha256=abc,3\n'
