"""The two fields an install reads from WHEEL (`unpacked_install._wheel_fields`): the same
answer as `installer`'s email parser for every text, plain or not."""

from __future__ import annotations

import pytest
from installer.utils import parse_metadata_file

from pipfence.installer.unpacked_install import _wheel_fields

TEXTS = [
    "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "Wheel-Version: 1.0\r\nRoot-Is-Purelib: false\r\nTag: cp311-cp311-linux_x86_64\r\n",
    "wheel-version:1.9\nROOT-IS-PURELIB:   true\n",
    "Wheel-Version: 1.0\nRoot-Is-Purelib: true  \n",
    "Wheel-Version: 2.0\nWheel-Version: 1.0\nRoot-Is-Purelib: true\nRoot-Is-Purelib: false\n",
    "Wheel-Version: 1.0\nRoot-Is-Purelib:\n  true\n",
    "Wheel-Version: 1.0\n\nRoot-Is-Purelib: true\n",
    "Generator: x\nTag: py3-none-any\n",
    "",
    "not a header line\nWheel-Version: 1.0\n",
    "Wheel Version: 1.0\nRoot-Is-Purelib: true\n",
    "Wheel-Version: 1.0\tRoot-Is-Purelib: true\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_wheel_fields_read_as_the_email_parser_does(text: str) -> None:
    parsed = parse_metadata_file(text)
    assert _wheel_fields(text) == (parsed["Wheel-Version"], parsed["Root-Is-Purelib"])
