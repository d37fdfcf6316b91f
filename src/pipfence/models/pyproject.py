"""A pyproject.toml's dependencies as Pipfile tables, for `pipfence pylock --from-pyproject`.

``[project] dependencies`` become ``[packages]``; each PEP 735 ``[dependency-groups]`` group
and each ``[project.optional-dependencies]`` extra becomes a table of its own name, so the
lock resolves each of them beside ``[packages]`` (as it resolves a custom category). A group's
``{include-group = "…"}`` brings in that group's requirements. Pure: data in, data out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from packaging.requirements import InvalidRequirement, Requirement

from pipfence.errors import UsageError
from pipfence.models.names import canonical_name

__all__ = ["PyprojectTables", "pyproject_tables"]

_GROUP_NAME = re.compile(r"[-_.]+")


class PyprojectTables(msgspec.Struct, frozen=True, kw_only=True):
    """Pipfile tables (name → package → entry) and what each non-default table stands for."""

    tables: dict[str, dict[str, Any]]
    groups: dict[str, str]  # table → PEP 735 group name
    extras: dict[str, str]  # table → extra name
    requires_python: str | None = None


def _entry(text: str, where: str) -> tuple[str, Any]:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(f"pyproject.toml: {where}: `{text}` is not a requirement: {exc}") from None
    if requirement.url:
        raise UsageError(
            f"pyproject.toml: {where}: `{requirement.name}` is a direct URL reference; "
            "a pylock.toml from pyproject.toml covers index packages only"
        )
    entry: dict[str, Any] = {"version": str(requirement.specifier) or "*"}
    if requirement.extras:
        entry["extras"] = sorted(requirement.extras)
    if requirement.marker is not None:
        entry["markers"] = str(requirement.marker)
    return requirement.name, entry if len(entry) > 1 else entry["version"]


def _group(
    groups: Mapping[str, Any], name: str, where: str, seen: tuple[str, ...] = ()
) -> list[str]:
    """The requirement strings of dependency group ``name``, includes expanded (PEP 735)."""
    wanted = canonical_name(name)
    matches = [key for key in groups if canonical_name(key) == wanted]
    if not matches:
        raise UsageError(f"pyproject.toml: {where} includes the group `{name}`, which is missing")
    if wanted in seen:
        raise UsageError(f"pyproject.toml: the group `{name}` includes itself")
    items = groups[matches[0]]
    if not isinstance(items, list):
        raise UsageError(f"pyproject.toml: [dependency-groups] `{name}` is not an array")
    found: list[str] = []
    for item in items:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("include-group"), str):
            found += _group(groups, item["include-group"], f"group `{name}`", (*seen, wanted))
        else:
            raise UsageError(f"pyproject.toml: [dependency-groups] `{name}` has `{item!r}`")
    return found


def _table(requirements: Sequence[object], where: str) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for text in requirements:
        if not isinstance(text, str):
            raise UsageError(f"pyproject.toml: {where} has `{text!r}`, not a requirement string")
        name, entry = _entry(text, where)
        table[name] = entry
    return table


def pyproject_tables(data: Mapping[str, Any]) -> PyprojectTables:
    """The Pipfile tables for pyproject.toml ``data``. Raises `UsageError` naming what in the
    file cannot be read as requirements."""
    project = data.get("project")
    project = project if isinstance(project, Mapping) else {}
    dependencies = project.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise UsageError("pyproject.toml: [project] dependencies is not an array")
    tables: dict[str, dict[str, Any]] = {"packages": _table(dependencies, "[project] dependencies")}
    groups: dict[str, str] = {}
    extras: dict[str, str] = {}
    dependency_groups = data.get("dependency-groups") or {}
    if not isinstance(dependency_groups, Mapping):
        raise UsageError("pyproject.toml: [dependency-groups] is not a table")
    for name in dependency_groups:
        table = f"group-{_GROUP_NAME.sub('-', str(name)).lower()}"
        where = f"[dependency-groups] `{name}`"
        tables[table] = _table(_group(dependency_groups, str(name), where), where)
        groups[table] = str(name)
    optional = project.get("optional-dependencies") or {}
    if not isinstance(optional, Mapping):
        raise UsageError("pyproject.toml: [project.optional-dependencies] is not a table")
    for name, requirements in optional.items():
        table = f"extra-{_GROUP_NAME.sub('-', str(name)).lower()}"
        where = f"[project.optional-dependencies] `{name}`"
        if not isinstance(requirements, list):
            raise UsageError(f"pyproject.toml: {where} is not an array")
        tables[table] = _table(requirements, where)
        extras[table] = str(name)
    requires_python = project.get("requires-python")
    return PyprojectTables(
        tables=tables,
        groups=groups,
        extras=extras,
        requires_python=requires_python if isinstance(requires_python, str) else None,
    )
