"""Package names: PEP 503 normalisation and PEP 508 validity."""

from __future__ import annotations

import re
from typing import NewType

__all__ = ["NormalizedName", "canonical_name", "is_valid_name"]

NormalizedName = NewType("NormalizedName", str)

# PEP 508 names: ASCII letters and digits, with `.`, `_`, `-` allowed inside.
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[-_.]+")


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid distribution name (PEP 508 §Names)."""
    return bool(_VALID.match(name))


def canonical_name(name: str) -> NormalizedName:
    """The PEP 503 normalised form: lower case, runs of ``-_.`` become one ``-``."""
    return NormalizedName(_SEPARATORS.sub("-", name).lower())
