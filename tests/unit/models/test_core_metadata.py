"""`CoreMetadata.parse`: the header block of METADATA, never its body."""

from __future__ import annotations

import pytest
from packaging.version import Version

from pipfence.models.files import CoreMetadata


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
