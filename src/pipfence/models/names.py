"""Package names: PEP 503 normalisation and PEP 508 validity; a source's name as the variable
that holds its mirror."""

from __future__ import annotations

import re
from typing import NewType

__all__ = [
    "MIRROR_PREFIX",
    "NormalizedName",
    "canonical_name",
    "is_valid_name",
    "lock_key",
    "mirror_variable",
    "shown",
]

NormalizedName = NewType("NormalizedName", str)

# PEP 508 names: ASCII letters and digits, with `.`, `_`, `-` allowed inside; the pattern of
# `packaging.utils.canonicalize_name(validate=True)`. `re.ASCII` matters: without it IGNORECASE
# lets LATIN SMALL LETTER LONG S (U+017F) match `s` and KELVIN SIGN match `k`; `fullmatch`
# keeps `$` from accepting a trailing newline. So every name passing here parses as a
# requirement too.
_VALID = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE | re.ASCII)
_SEPARATORS = re.compile(r"[-_.]+")


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid distribution name (PEP 508 §Names)."""
    return _VALID.fullmatch(name) is not None


def canonical_name(name: str) -> NormalizedName:
    """The PEP 503 normalised form: lower case, runs of ``-_.`` become one ``-``."""
    return NormalizedName(_SEPARATORS.sub("-", name).lower())


def lock_key(name: str) -> str:
    """The key pipenv gives a package in Pipfile.lock: lower case, ``_`` as ``-``, dots kept
    (``ruamel.yaml``, ``zope.interface``), so a lock alternates between the tools unchanged.
    Readers match keys by `canonical_name`."""
    return name.lower().replace("_", "-")


def shown(text: str) -> str:
    """``text`` as an error message may quote it: as is when it is printable ASCII, else with
    Python's escapes (``\\u017fecret`` for a name with a long s, ``\\n`` for a newline), so a
    look-alike letter is visible and a message stays on one line."""
    if text.isascii() and text.isprintable():
        return text
    return ascii(text)[1:-1]


#: ``PIPFENCE_MIRROR_<SOURCE>=URL`` sends a source's requests to a mirror on this machine
#: (`pipfence.models.urls.Routes`). Here, not beside the routes, so that reading the settings
#: does not load the URL rules.
MIRROR_PREFIX = "PIPFENCE_MIRROR_"


def mirror_variable(source_name: str) -> str:
    """The variable that holds the mirror of source ``source_name`` (``corp-pypi`` →
    ``PIPFENCE_MIRROR_CORP_PYPI``)."""
    return MIRROR_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", source_name).upper()
