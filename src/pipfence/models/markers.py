"""PEP 508 markers that depend on the Python version only, and whether such a marker holds
for every Python: what a lock needs to tell "this dependency is for some Pythons" from "every
Python needs it, each in its own version"."""

from __future__ import annotations

import re
from collections.abc import Mapping

from packaging.markers import InvalidMarker, Marker, UndefinedComparison

__all__ = ["PYTHON_VARIABLES", "python_only", "true_for_every_python"]

#: The marker variables that name the Python version.
PYTHON_VARIABLES = frozenset({"python_version", "python_full_version"})

_VARIABLE = re.compile(
    r"\b(os_name|sys_platform|platform_release|platform_system|platform_version|"
    r"platform_machine|platform_python_implementation|implementation_name|"
    r"implementation_version|python_version|python_full_version|extra|os\.name|"
    r"sys\.platform|platform\.\w+|python_implementation|dependency_groups)\b"
)

#: The Python versions a marker is tried on: every 3.x minor a project may meet, each at
#: its first release, a patch release and a late one, and the last 2.7.
_PYTHONS = (
    "2.7.18",
    *(f"3.{minor}.{patch}" for minor in range(21) for patch in (0, 1, 99)),
)


def python_only(marker: str) -> bool:
    """Whether ``marker`` compares nothing but the Python version (and is a marker at all)."""
    names = set(_VARIABLE.findall(marker))
    return bool(names) and names <= PYTHON_VARIABLES


def true_for_every_python(marker: str, environment: Mapping[str, str]) -> bool:
    """Whether ``marker`` holds on every Python version (`_PYTHONS`), the other variables
    taken from ``environment``. False for a marker that does not parse."""
    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return False
    base = dict(environment)
    for full in _PYTHONS:
        major, minor, _patch = full.split(".")
        base["python_version"] = f"{major}.{minor}"
        base["python_full_version"] = full
        try:
            if not parsed.evaluate(base):
                return False
        except UndefinedComparison:
            return False
    return True
