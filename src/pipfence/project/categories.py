"""Checks the ``--categories`` a command is given against the Pipfile and its lock.

Kept apart from `pipfence.project.workflows` so that `pipfence lock` can check its arguments
without importing the installer.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipfence.errors import UsageError
from pipfence.models.lockfile import Lockfile
from pipfence.models.names import is_valid_name, shown
from pipfence.models.pipfile import LOCK_CATEGORY, RESERVED_TABLES
from pipfence.project.project import Project

__all__ = ["check_tables"]

_TABLE_OF_CATEGORY = {category: table for table, category in LOCK_CATEGORY.items()}


def check_tables(
    project: Project, tables: Sequence[str], *, lock: Lockfile | None = None, new: bool = False
) -> None:
    """Refuse a ``--categories`` name that is not a category: `UsageError` naming it and
    listing the known ones (``packages``, ``dev-packages``, the Pipfile's other package
    tables and, given ``lock``, its categories). ``tables`` are Pipfile table names (lock
    names ``default`` / ``develop`` are accepted too). With ``new`` (``install PKG``, which may
    start a table) any well-formed name passes; a name is well formed as a package name is
    (PEP 508): never a path, an option or a reserved table such as ``source``.

    pipenv installs nothing for an unknown category and exits 0; a typo there would pass a
    CI job that installed nothing, so this is an error.
    """
    known = ["packages", "dev-packages"]
    known += [t for t in project.pipfile.data if t not in RESERVED_TABLES and t not in known]
    if lock is not None:
        for category in lock.categories:
            table = _TABLE_OF_CATEGORY.get(category, category)
            if table not in known:
                known.append(table)
    listed = ", ".join(f"`{t}`" for t in known if is_valid_name(t))
    for name in tables:
        table = _TABLE_OF_CATEGORY.get(name, name)
        if not is_valid_name(table) or table in RESERVED_TABLES:
            raise UsageError(
                f"--categories: `{shown(name)}` is not a category name; "
                f"the categories are {listed}",
                hint="a category is a package table of the Pipfile, such as "
                "packages, dev-packages or docs",
            )
        if not new and table not in known:
            raise UsageError(
                f"--categories: no category `{name}` in the Pipfile"
                f"{'' if lock is None else ' or Pipfile.lock'}; "
                f"the categories are {listed}"
            )
