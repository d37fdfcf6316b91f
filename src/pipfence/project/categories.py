"""Which categories a command works on: pipenv's ``--dev``, ``--dev-only``, ``--categories``,
``--extras``, ``--all`` and ``PIPENV_DEFAULT_CATEGORIES`` read into Pipfile tables, those
checked against the Pipfile and its lock, and turned into lock categories.

Kept apart from the use cases that install so that `pipfence lock` can check its arguments
without importing the installer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from pipfence.errors import UsageError
from pipfence.models.lockfile import Lockfile
from pipfence.models.names import is_valid_name, shown
from pipfence.models.pipfile import LOCK_CATEGORY, RESERVED_TABLES, lock_category
from pipfence.project.project import Project

__all__ = [
    "CategoryOptions",
    "categories_of",
    "category_names",
    "check_tables",
    "chosen_tables",
    "lock_categories",
    "pipfile_tables",
    "target_tables",
]

_TABLE_OF_CATEGORY = {category: table for table, category in LOCK_CATEGORY.items()}


class CategoryOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What a command line says about categories: ``--dev``, ``--dev-only``, ``--categories``
    and ``--extras`` (as written: comma or space separated) and ``--all`` (``every``)."""

    dev: bool = False
    dev_only: bool = False
    categories: str | None = None
    extras: str | None = None
    every: bool = False


def category_names(text: str) -> list[str]:
    """The Pipfile tables ``text`` names, separated by commas or spaces, the lock's names
    (``default``, ``develop``) taken for their tables, in the order given without repeats."""
    names = text.replace(",", " ").split()
    return list(dict.fromkeys(_TABLE_OF_CATEGORY.get(n, n) for n in names))


def chosen_tables(
    options: CategoryOptions,
    *,
    pipfile: Mapping[str, object] | None = None,
    default_categories: str | None = None,
) -> list[str] | None:
    """The Pipfile tables ``options`` choose; None: the command's own default.

    ``--all``: every package table of ``pipfile`` (its data), in file order. ``--dev-only``:
    ``dev-packages``. ``--categories``, else (unless ``--dev`` or ``--extras`` is given)
    ``default_categories`` (``PIPENV_DEFAULT_CATEGORIES``, for the commands that read it, as
    pipenv does): those tables. ``--extras``: ``packages`` (and ``dev-packages`` with
    ``--dev``) and those tables besides.
    """
    if options.every and pipfile is not None:
        tables = ["packages", "dev-packages"]
        tables += [t for t in pipfile if t not in RESERVED_TABLES and t not in tables]
        present = [t for t in tables if t in pipfile]
        if present:
            return present
    if options.dev_only:
        return ["dev-packages"]
    categories = options.categories
    if not categories and not options.extras and not options.dev:
        categories = default_categories
    if categories:
        return category_names(categories) or None
    if options.extras:
        names = [_TABLE_OF_CATEGORY.get(c, c) for c in options.extras.replace(",", " ").split()]
        base = ["packages", "dev-packages"] if options.dev else ["packages"]
        return [*base, *(n for n in names if n not in base)]
    return None


def target_tables(tables: Sequence[str] | None, *, dev: bool) -> list[str]:
    """The Pipfile tables a command edits (``install PKG``, ``uninstall PKG``, ``update -e``):
    ``tables`` when chosen, else ``dev-packages`` with ``--dev``, else ``packages``."""
    return list(tables) if tables else ["dev-packages" if dev else "packages"]


def lock_categories(
    project: Project,
    tables: Sequence[str] | None,
    *,
    dev: bool,
    lock: Lockfile | None = None,
    default_last: bool = False,
) -> list[str]:
    """`categories_of` ``tables``, which are first checked by `check_tables` against the
    Pipfile and ``lock`` when chosen."""
    if tables:
        check_tables(project, tables, lock=lock)
    return categories_of(tables, dev=dev, default_last=default_last)


def categories_of(
    tables: Sequence[str] | None, *, dev: bool, default_last: bool = False
) -> list[str]:
    """The lock categories a command works on: those of ``tables`` when chosen, else
    ``default`` (and ``develop`` with ``dev``). ``default_last`` orders the latter as an
    export merges them, a later category's entry winning: ``develop`` then ``default``."""
    found = [lock_category(t) for t in pipfile_tables(tables, dev=dev)]
    return found[::-1] if default_last and not tables else found


def pipfile_tables(tables: Sequence[str] | None, *, dev: bool) -> list[str]:
    """The Pipfile tables a command reads: ``tables`` when chosen, else ``packages`` (and
    ``dev-packages`` with ``dev``)."""
    if tables:
        return list(tables)
    return ["packages", "dev-packages"] if dev else ["packages"]


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
