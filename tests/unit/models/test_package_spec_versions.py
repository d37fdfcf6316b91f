"""A Pipfile entry's version is read without packaging when it has a common shape: the answer
must be packaging's, for every shape (the property below builds them from pieces)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from pipfence.models.package_spec import PackageSpec

_OPERATORS = ["==", "!=", "<=", ">=", "<", ">", "~=", "===", "=", " ", "\t", ","]
_VERSION_BITS = ["1", "0", "12", ".", ".*", "*", "a1", "b2", "rc3", ".post1", ".dev0"]
_PIECES = st.sampled_from([*_OPERATORS, *_VERSION_BITS, "+local", "!", "v", "-", "é"])


def _slow(version: str) -> str | None:
    """What packaging alone makes of ``version``: the text, None when it is refused."""
    text = version.strip()
    if text in ("", "*"):
        return "*"
    if any(not clause.strip() for clause in text.split(",")):
        return None
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        try:
            SpecifierSet(f"=={text}")
        except InvalidSpecifier:
            return None
        if not text[:1].isdigit():
            return None
        text = f"=={text}"
    try:
        Requirement(f"demo{text}")
    except InvalidRequirement:
        return None
    return text


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=8))
def test_an_entry_version_is_read_as_packaging_reads_it(pieces: list[str]) -> None:
    version = "".join(pieces)
    expected = _slow(version)
    try:
        got: str | None = PackageSpec.from_entry("demo", version).version
    except ValueError:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    ("version", "read"),
    [
        (">=2.1", ">=2.1"),
        ("==1.4.*", "==1.4.*"),
        ("~=3.0,!=3.0.2", "~=3.0,!=3.0.2"),
        (" >= 1.0rc1 , < 2.0.post1.dev3 ", ">= 1.0rc1 , < 2.0.post1.dev3"),
        ("1.11", "==1.11"),
        ("==1!2.0", "==1!2.0"),
        ("==1.0+local", "==1.0+local"),
    ],
)
def test_common_and_rarer_versions(version: str, read: str) -> None:
    assert PackageSpec.from_entry("demo", version).version == read


@pytest.mark.parametrize("version", ["~=3", "<1.*", ">=1.0+local", "=>2", "==1.0.*.*"])
def test_versions_packaging_refuses_are_refused(version: str) -> None:
    with pytest.raises(ValueError, match="demo"):
        PackageSpec.from_entry("demo", version)


@pytest.mark.fast_io
def test_reading_a_common_pipfile_loads_no_packaging_parser() -> None:
    # `pipfence run` reads the Pipfile on every start: the parsers' import is kept off it.
    code = (
        "import sys\n"
        "from pipfence.models.pipfile import Pipfile\n"
        'Pipfile.parse(\'[packages]\\nrequests = ">=2.31"\\nflask = {version = "~=3.0", '
        'extras = ["async"]}\\nsix = "*"\\n\')\n'
        "print(sorted(m for m in sys.modules if m.startswith('packaging')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
