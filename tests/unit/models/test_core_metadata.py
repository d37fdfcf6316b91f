"""`CoreMetadata.parse`: the header block of METADATA, never its body."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from pipfence.models import files
from pipfence.models.files import CoreMetadata, _simple_headers


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_headers_are_read_and_the_body_is_not(newline: bytes) -> None:
    lines = [
        b"Metadata-Version: 2.1",
        b"Name: Demo_Pkg",
        b"Version: 1.0",
        b"Requires-Dist: idna (>=2.5)",
        b"Requires-Dist: six;",
        b"  python_version < '3'",  # a continuation line belongs to the header above
        b"Provides-Extra: socks",
        b"",
        b"Requires-Dist: not-a-header",
        b"Name: other",
    ]
    parsed = CoreMetadata.parse(newline.join(lines))
    assert parsed.name == "demo-pkg"
    assert parsed.version == Version("1.0")
    assert parsed.requires_dist[0] == "idna (>=2.5)"
    assert len(parsed.requires_dist) == 2
    assert "python_version" in parsed.requires_dist[1]
    assert parsed.provides_extra == ("socks",)


def test_metadata_without_a_body_is_read_whole() -> None:
    parsed = CoreMetadata.parse(b"Name: a\nVersion: 2\nRequires-Dist: b")
    assert parsed.requires_dist == ("b",)


def test_a_body_only_message_lacks_name() -> None:
    with pytest.raises(ValueError, match="lacks Name"):
        CoreMetadata.parse(b"\nName: a\nVersion: 1\n")


# -- the fast header path reads exactly what the email parser reads ------------------------------

_NAMES = ["Name", "Version", "Requires-Dist", "Requires-Python", "Provides-Extra", "From", ""]


def _email_fields(block: bytes) -> dict[str, list[str]]:
    from email.parser import BytesParser

    message = BytesParser().parsebytes(block, headersonly=True)
    return {n: [str(v) for v in message.get_all(n) or ()] for n in _NAMES}


def _fast_fields(block: bytes) -> dict[str, list[str]] | None:
    found = _simple_headers(block)
    if found is None:
        return None
    return {n: [str(v) for v in found.get_all(n) or ()] for n in _NAMES}


@pytest.mark.parametrize(
    "block",
    [
        b"Name: a\nVersion: 1\nRequires-Dist: b ; extra == 'x'\nrequires-dist:c\n",
        b"Name:  spaced  \nVersion:\t2\n",
        b"Name: a\nVersion: 1",
        b"Name: a\n  folded\nVersion: 1\n",
        b"\nName: a\nVersion: 1\n",
        b"From nobody\nName: a\n",
        b"From: someone\nName: a\n",
        b"Name: a\r\nVersion: 1\r\n",
        b"Name: caf\xc3\xa9\nVersion: 1\n",
        b"Name: a\nnot a field\nVersion: 1\n",
        b":empty name\nName: a\n",
        b"Name: a\x0cb\nVersion: 1\n",
    ],
)
def test_the_fast_header_path_agrees_with_the_email_parser_or_steps_aside(
    block: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _fast_fields(block)
    if fast is not None:
        assert fast == _email_fields(block)
    # And parse() as a whole answers as it does through the email parser alone.
    try:
        answer: object = CoreMetadata.parse(block)
    except ValueError as exc:
        answer = str(exc)
    monkeypatch.setattr(files, "_simple_headers", lambda _block: None)
    try:
        expected: object = CoreMetadata.parse(block)
    except ValueError as exc:
        expected = str(exc)
    assert answer == expected


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["Name: a", "Version: 1.0", "Requires-Dist: b>=1", "From x", " c"]),
            st.text(alphabet=st.sampled_from(list("Na:me -\t\r\x0cé\x85")), max_size=12),
        ),
        max_size=6,
    )
)
def test_any_block_the_fast_path_reads_is_read_the_same_by_the_email_parser(
    lines: list[str],
) -> None:
    block = "\n".join(lines).encode("utf-8") + b"\n"
    fast = _fast_fields(block)
    if fast is not None:
        assert fast == _email_fields(block)
