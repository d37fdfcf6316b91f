"""PEP 508 markers in a lock: which ones name the Python version only, whether one holds for
every Python, and the text pipenv writes for an entry's markers.

A team may lock with pipenv one day and pipfence the next, so a lock entry's ``markers`` are
rendered as pipenv renders them, clause for clause:

- an entry's own markers (its ``markers`` key and marker keys such as ``sys_platform``, but not
  ``os_name``) are each normalised by packaging, sorted as text and joined with ``and``;
- a ``Requires-Python`` specifier becomes ``python_version``/``python_full_version`` clauses
  (``>`` and ``<=`` turned into ``>=``/``<`` of the next minor version, ``.*`` dropped, one
  bound kept per operator), ordered by version;
- Python clauses come first, an ``os_name`` key's clause last;
- double quotes become single quotes.

Where pipenv drops a condition (it writes only the Pipfile's markers of the top-level entry
for every dependency beneath it), pipfence keeps it, in the same order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet

from pipfence.models.files import parsed_requirement
from pipfence.models.names import NormalizedName, canonical_name

__all__ = [
    "PYTHON_VARIABLES",
    "all_of",
    "any_of",
    "edge_marker",
    "false_on_pythons",
    "lock_marker",
    "pipfile_marker",
    "python_only",
    "quoted",
    "requires_python_marker",
    "true_for_every_python",
    "without_extras",
]

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
    taken from ``environment``. False for a marker that does not parse.

    A lock asks this for each edge into a dependency, with few distinct markers: the answer
    is memoised per marker and environment (it takes 63 evaluations)."""
    return _true_for_every_python(marker, tuple(sorted(environment.items())))


@functools.lru_cache(maxsize=1024)
def _true_for_every_python(marker: str, environment: tuple[tuple[str, str], ...]) -> bool:
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


def false_on_pythons(marker: str, pythons: Sequence[str]) -> bool:
    """Whether ``marker`` is false on each of the full Python versions ``pythons`` whatever
    the platform: a comparison of any other variable counts as unknown, so
    ``python_version < '3.8' and sys_platform == 'win32'`` is false on 3.11 but
    ``sys_platform == 'win32'`` is not. False for a marker that does not parse."""
    try:
        tree: Any = Marker(marker)._markers  # noqa: SLF001  # packaging has no public tree API
    except InvalidMarker:
        return False
    for full in pythons:
        major, minor = full.split(".")[:2]
        environment = {"python_version": f"{major}.{minor}", "python_full_version": full}
        if _truth(tree, environment) is not False:
            return False
    return bool(pythons)


def _truth(node: Any, environment: Mapping[str, str]) -> bool | None:
    """Three-valued evaluation of a marker tree: None where it depends on an unknown."""
    if isinstance(node, tuple):
        left, operator, right = node
        names = {part.value for part in (left, right) if type(part).__name__ == "Variable"}
        if not names or not names <= PYTHON_VARIABLES:
            return None
        text = f"{left.serialize()} {operator.serialize()} {right.serialize()}"
        try:
            return Marker(text).evaluate(dict(environment))
        except (InvalidMarker, UndefinedComparison):
            return None
    alternatives: list[list[Any]] = [[]]
    for item in node:
        if item == "or":
            alternatives.append([])
        elif item != "and":
            alternatives[-1].append(item)
    answers = [_all_of([_truth(item, environment) for item in group]) for group in alternatives]
    if any(answer is True for answer in answers):
        return True
    if all(answer is False for answer in answers):
        return False
    return None


def _all_of(answers: Sequence[bool | None]) -> bool | None:
    if any(answer is False for answer in answers):
        return False
    if all(answer is True for answer in answers):
        return True
    return None


# -- the text pipenv writes -------------------------------------------------------------------

#: The highest minor version pipenv turns ``>3.N`` into ``>=3.N+1`` (and ``<=3.N`` into
#: ``<3.N+1``) for, per major version; beyond it the clause is written as it is.
_HIGHEST_MINOR = {1: 7, 2: 7, 3: 11, 4: 0}
_MICRO = re.compile(r"\d+\.\d+\.\d+")
_RANGE_OPERATORS = {">": ">=", "<=": "<"}
_PYTHON_CLAUSE = tuple[str, str]  # (operator, version text)


def quoted(marker: str) -> str:
    """``marker`` in packaging's normal form with single quotes, as pipenv writes it; as it
    is when it does not parse."""
    try:
        return str(Marker(marker)).replace('"', "'")
    except InvalidMarker:
        return marker


def pipfile_marker(parts: Sequence[tuple[str, str]]) -> tuple[str | None, str | None]:
    """What pipenv writes for a Pipfile entry's own markers: ``parts`` are ``("markers",
    text)`` and ``(key, "== 'value'")`` for marker keys (``sys_platform = "== 'win32'"``).

    Returns the entry's markers and, apart, its ``os_name`` clause, which pipenv adds after
    the Python clauses instead. Each is None when there is none."""
    clauses: dict[str, None] = {}
    os_name = None
    for key, value in parts:
        text = value if key == "markers" else f"{key} {value}"
        try:
            normal = str(Marker(text))
        except InvalidMarker:
            continue
        if key == "os_name":
            os_name = normal.replace('"', "'")
        elif "extra" not in normal:
            clauses[normal] = None
    if not clauses:
        return None, os_name
    ordered = sorted(clauses)
    if len(ordered) > 1:
        ordered = [_grouped(clause) for clause in ordered]
    return quoted(" and ".join(ordered)), os_name


def requires_python_marker(requires_python: str | None) -> str | None:
    """A ``Requires-Python`` specifier as the marker pipenv writes for it (``>=3.8`` →
    ``python_version >= '3.8'``); None when there is nothing to say or it does not parse."""
    clauses = _python_clauses(requires_python or "")
    return _render(clauses) if clauses else None


def lock_marker(
    own: str | None,
    requires_python: str | None,
    *,
    direct: bool,
    os_name: str | None = None,
) -> str | None:
    """The ``markers`` of a lock entry.

    ``own`` is where the entry is needed: a direct entry's `pipfile_marker`, a dependency's
    markers inherited from the edges into it. ``requires_python`` is its version's
    ``Requires-Python``. As pipenv does: an entry with markers of its own keeps them and no
    Requires-Python clause, except that a dependency needed on some Pythons only gets its
    Python clauses and the Requires-Python ones merged into one bound per operator; an entry
    without any gets the Requires-Python clauses. ``os_name`` goes last."""
    python = _python_clauses(requires_python or "")
    if own is None:
        result = _render(python) if python else None
    elif direct or not python or not python_only(own):
        result = own
    else:
        flat = _flat_python_clauses(own)
        if flat is None:
            result = f"{_render(python)} and {_grouped(own)}"
        else:
            result = _render(_merged([*python, *flat]))
    if os_name is not None:
        result = os_name if result is None else f"{_grouped(result)} and {os_name}"
    return quoted(result) if result is not None else None


def _grouped(marker: str) -> str:
    return f"({marker})" if " or " in marker else marker


def _python_clauses(requires_python: str) -> list[_PYTHON_CLAUSE]:
    """pipenv's reading of a Requires-Python specifier: ``.*`` and trailing ``*`` dropped,
    ``>``/``<=`` moved to the next minor version, then `_merged`."""
    texts = [part.strip().removesuffix(".*").rstrip("*") for part in requires_python.split(",")]
    try:
        specifiers = SpecifierSet(",".join(t for t in texts if t))
    except InvalidSpecifier:
        return []
    return _merged([_widened(spec) for spec in specifiers])


def _widened(spec: Specifier) -> _PYTHON_CLAUSE:
    operator, version = spec.operator, spec.version
    replacement = _RANGE_OPERATORS.get(operator)
    numbers = _numbers(version)
    if replacement is None or numbers is None:
        return operator, version
    major, minor = numbers[0], numbers[1] if len(numbers) > 1 else None
    following = (major, minor + 1) if minor is not None else (major, 1)
    highest = _HIGHEST_MINOR.get(following[0])
    if highest is not None and following[1] <= highest:
        return replacement, f"{following[0]}.{following[1]}"
    return operator, version


def _numbers(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    try:
        return tuple(int(part) for part in parts[:2])
    except ValueError:
        return None


def _version_key(version: str) -> tuple[Any, ...]:
    """Versions ordered as numbers (``3.9`` before ``3.10``); a part that is no number
    after every one that is."""
    head = version.split(",", maxsplit=1)[0].strip()
    try:
        return (0, tuple(int(part) for part in head.split(".")), version)
    except ValueError:
        return (1, (), version)


def _merged(clauses: Sequence[_PYTHON_CLAUSE]) -> list[_PYTHON_CLAUSE]:
    """One clause per operator and kind of version (``X.Y`` or ``X.Y.Z``) where a conjunction
    allows it: the highest lower bound, the lowest upper bound; every ``!=``; several ``==``
    as one ``in`` group. Ordered by version."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for operator, version in clauses:
        micro = _MICRO.search(version) is not None
        groups.setdefault((operator, micro), [])
        if version not in groups[operator, micro]:
            groups[operator, micro].append(version)
    merged: list[_PYTHON_CLAUSE] = []
    for (operator, _micro), versions in sorted(groups.items()):
        ordered = sorted(versions, key=_version_key)
        if operator in {">", ">="}:
            merged.append((operator, ordered[-1]))
        elif operator in {"<", "<="}:
            merged.append((operator, ordered[0]))
        elif operator == "!=":
            merged.extend((operator, version) for version in ordered)
        elif operator == "==" and len(ordered) > 1:
            merged.append(("in", ", ".join(ordered)))
        else:
            merged.append((operator, ", ".join(ordered)))
    return sorted(merged, key=lambda clause: _version_key(clause[1]))


def _render(clauses: Sequence[_PYTHON_CLAUSE]) -> str:
    return " and ".join(_render_one(operator, version) for operator, version in clauses)


def _render_one(operator: str, version: str) -> str:
    if operator == "in":
        alternatives = [_render_one("==", v.strip()) for v in version.split(",")]
        return "(" + " or ".join(alternatives) + ")"
    variable = "python_full_version" if _MICRO.search(version) else "python_version"
    return f"{variable} {operator} '{version}'"


def _flat_python_clauses(marker: str) -> list[_PYTHON_CLAUSE] | None:
    """``marker``'s clauses when it is ``python_version``/``python_full_version``
    comparisons joined by ``and`` (variable on the left); None otherwise."""
    try:
        tree: Any = Marker(marker)._markers  # noqa: SLF001  # packaging has no public tree API
    except InvalidMarker:
        return None
    while isinstance(tree, list) and len(tree) == 1:
        tree = tree[0]
    items = tree if isinstance(tree, list) else [tree]
    clauses: list[_PYTHON_CLAUSE] = []
    for position, item in enumerate(items):
        if position % 2:
            if item != "and":
                return None
            continue
        if not isinstance(item, tuple):
            return None
        variable, operator, value = item
        if type(variable).__name__ != "Variable" or variable.value not in PYTHON_VARIABLES:
            return None
        if operator.value in {"in", "not in"}:
            return None
        clauses.append((operator.value, value.value))
    return clauses


# -- the markers of a dependency's edges ------------------------------------------------------


def all_of(first: str | None, second: str | None) -> str | None:
    """Both markers (``and``, an ``or`` inside either grouped); None stands for "everywhere",
    so it leaves the other one as it is. Equal markers are kept once."""
    if first is None or second is None or first == second:
        return first or second
    return f"{_grouped(first)} and {_grouped(second)}"


def any_of(markers: Sequence[str]) -> str:
    """Either of one or more markers (``or``), each kept once in the order given and
    parenthesised when there are several."""
    unique = list(dict.fromkeys(markers))
    return unique[0] if len(unique) == 1 else " or ".join(f"({m})" for m in unique)


def without_extras(marker: str | None) -> str | None:
    """``marker`` with its ``extra == …`` clauses taken as true (they chose the edge, they do
    not limit where the dependency is installed); None when nothing else is left, or when
    the marker does not parse."""
    if not marker or "extra" not in marker:
        return marker
    try:
        parsed = Marker(marker)
        kept = _drop_extra(parsed._markers)  # noqa: SLF001  # packaging has no public tree API
    except (InvalidMarker, AttributeError, TypeError):
        return None
    if kept is None:
        return None
    from packaging.markers import _format_marker  # the inverse of the tree above

    return str(_format_marker(kept))


def _drop_extra(node: Any) -> Any:
    """The marker tree without ``extra`` comparisons; None when the node becomes true."""
    if isinstance(node, tuple):
        is_extra = any(
            type(part).__name__ == "Variable" and part.value == "extra"
            for part in (node[0], node[2])
        )
        return None if is_extra else node
    if isinstance(node, list):
        operator = next((item for item in node if isinstance(item, str)), "and")
        kept = [_drop_extra(item) for item in node if not isinstance(item, str)]
        if operator == "or" and any(item is None for item in kept):
            return None
        kept = [item for item in kept if item is not None]
        if not kept:
            return None
        result: list[Any] = []
        for item in kept:
            if result:
                result.append(operator)
            result.append(item)
        return result
    return node


def edge_marker(
    marker: str | None,
    child: NormalizedName,
    parent_requires: Sequence[str] | None,
    environment: Mapping[str, str],
) -> str | None:
    """The marker of an edge from a parent to ``child``, widened to every Python the parent
    needs the child on; None means everywhere.

    A resolution takes only the ``Requires-Dist`` lines whose marker holds for the project's
    Python. When a parent names a child on several lines that differ only by Python version
    (``numpy>=1.23; python_version == "3.11"``, ``numpy>=1.26; python_version >= "3.12"``),
    the child is needed on all of those Pythons, so the edge's marker is their union, and none
    at all when the union holds for every Python: a lock made on 3.11 must not leave the child
    out on 3.12. ``parent_requires`` is the parent's ``Requires-Dist`` (None when unknown),
    ``environment`` the target's marker environment for the other variables."""
    own = without_extras(marker)
    if not own or parent_requires is None or not python_only(own):
        return own
    alternatives: list[str] = []
    for text in parent_requires:
        requirement = parsed_requirement(text)
        if requirement is None:
            continue
        if canonical_name(requirement.name) != child:
            continue
        line = without_extras(str(requirement.marker)) if requirement.marker else None
        if line is None:
            return None
        if not python_only(line):
            return own
        alternatives.append(quoted(line))
    union = any_of(alternatives or [own])
    return None if true_for_every_python(union, environment) else union
