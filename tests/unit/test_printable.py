"""`pipfence.errors.printable`: what a server says, made safe for a terminal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipfence.errors import IndexServerError, PipfenceError, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Not Found", "Not Found"),
        ("caf\u00e9 \u2014 ok", "caf\u00e9 \u2014 ok"),
        ("a\x1b[31mred\x1b[0m", "ared"),
        ("\x1b[2J\x1b[Hclear", "clear"),
        ("title\x1b]0;owned\x07!", "title!"),
        ("title\x1b]8;;http://x\x1b\\link", "titlelink"),
        ("c1\x9b31mcsi", "c1csi"),
        ("bell\x07back\x08null\x00", "bell?back?null?"),
        ("del\x7f c1\x85", "del? c1?"),
        ("bidi \u202eevil\u202c", "bidi ?evil?"),
        ("two\nlines\tand tab", "two\nlines\tand tab"),
        ("lone escape\x1b", "lone escape"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


@given(st.text())
def test_printable_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = printable(text)
    assert not any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in shown), (
        repr(shown)
    )


def test_every_error_message_and_hint_is_printable() -> None:
    error = IndexServerError("answered \x1b[31mHTTP 500", hint="try \x1b]0;x\x07again")
    assert str(error) == "answered HTTP 500"
    assert error.hint == "try again"
    assert PipfenceError("a\x1bcb").message == "ab"
