"""Package names: one PEP 508 rule (packaging's), so a name accepted anywhere parses as a
requirement everywhere; and `shown`, which keeps names in messages visible and on one line."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.utils import InvalidName, canonicalize_name

from pipfence.models.names import canonical_name, is_valid_name, shown

VALID = ["a", "A1", "Pay_Load", "zope.interface", "x-y.z_1", "0", "requests"]
INVALID = [
    "",
    "-x",
    "x-",
    ".x",
    "a b",
    "../x",
    "x/y",
    "é",
    "\u017fecret",  # LATIN SMALL LETTER LONG S: case-folds to `s`
    "\u212aelvin",  # KELVIN SIGN: case-folds to `k`
    "\u0130x",  # LATIN CAPITAL LETTER I WITH DOT ABOVE
    "payload\n",
    "payload\r\n",
    "\npayload",
    "pay\x00load",
]


@pytest.mark.parametrize("name", VALID)
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    assert Requirement(name).name == name


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


@pytest.mark.parametrize("name", VALID + INVALID)
def test_the_rule_is_packagings(name: str) -> None:
    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        accepted = False
    else:
        accepted = True
    assert is_valid_name(name) == accepted


def test_canonical_name() -> None:
    assert canonical_name("Zope.Interface__x") == "zope-interface-x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("payload", "payload"),
        ("\u017fecret", "\\u017fecret"),
        ("\u212aelvin", "\\u212aelvin"),
        ("payload\n", "payload\\n"),
        ("café", "caf\\xe9"),
    ],
)
def test_shown_is_printable_ascii_on_one_line(text: str, expected: str) -> None:
    assert shown(text) == expected
