"""The unpacked cache's fast paths keep the checks they stand in for."""

from __future__ import annotations

import pytest

from pipfence.errors import ArchiveError
from pipfence.installer.archive import check_member_name, plainly_safe

NAMES = [
    "a.py",
    "pkg/sub/mod.py",
    "pkg-1.0.dist-info/METADATA",
    "pkg-1.0.data/scripts/tool",
    "..a/b..",
    "a/.hidden",
    "1:x",
    "",
    "/abs",
    "a//b",
    "a/./b",
    "a/../b",
    "..",
    ".",
    "a/",
    "a\\b",
    "a\x00b",
    "C:evil",
    "c:/evil",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_fast_yes_is_a_yes_of_the_full_check(name: str) -> None:
    try:
        check_member_name(name, filename="w.whl")
    except ArchiveError:
        assert not plainly_safe(name)
    else:
        assert plainly_safe(name) or name == "a/"  # a folder entry: never in a manifest
