"""Edits to the Pipfile's text through tomlkit, keeping the user's comments, order and layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tomlkit
from tomlkit.items import AoT, InlineTable, Table

from pipfence.models.names import canonical_name
from pipfence.models.sources import PYPI_SOURCE, Source

__all__ = ["PipfileEditor"]


class PipfileEditor:
    """A Pipfile document being edited; `text()` renders it.

    Only the project layer uses this, after the text has been validated by `Pipfile.parse`.
    """

    def __init__(self, text: str) -> None:
        self._doc = tomlkit.parse(text)

    def text(self) -> str:
        return self._doc.as_string()

    def set_package(self, table: str, name: str, value: str | Mapping[str, Any]) -> None:
        """Add ``name`` to ``[table]``, or replace the entry whose normalised name matches.

        A replaced entry keeps its place and the spelling the user gave it.
        """
        section = self._table(table)
        item: Any = value if isinstance(value, str) else _inline(value)
        existing = _find(section, name)
        if existing is not None:
            section[existing] = item
        else:
            section[name] = item

    def remove_package(self, table: str, name: str) -> bool:
        """Remove ``name`` (any spelling) from ``[table]``; whether it was there."""
        section = self._doc.get(table)
        if not isinstance(section, Table):
            return False
        existing = _find(section, name)
        if existing is None:
            return False
        del section[existing]
        return True

    def add_source(self, source: Source, *, keep_pypi_default: bool = True) -> None:
        """Append a ``[[source]]``.

        A Pipfile without sources implicitly uses PyPI as its default; adding the first source
        writes PyPI's table first (unless ``keep_pypi_default`` is off) so the default does not
        silently change.
        """
        sources = self._doc.get("source")
        if isinstance(sources, AoT):
            table = _source_table(source)
            table.add(tomlkit.nl())
            sources.append(table)
            return
        doc = tomlkit.document()
        aot = tomlkit.aot()
        if keep_pypi_default and source != PYPI_SOURCE:
            aot.append(_source_table(PYPI_SOURCE))
        aot.append(_source_table(source))
        doc.append("source", aot)
        rest = self._doc.as_string()
        self._doc = tomlkit.parse(doc.as_string() + ("" if rest.startswith("\n") else "\n") + rest)

    def _table(self, name: str) -> Table:
        section = self._doc.get(name)
        if isinstance(section, Table):
            return section
        table = tomlkit.table()
        self._doc.append(name, table)
        return table


def _find(section: Table, name: str) -> str | None:
    key = canonical_name(name)
    return next((k for k in section if canonical_name(str(k)) == key), None)


def _inline(value: Mapping[str, Any]) -> InlineTable:
    table = tomlkit.inline_table()
    for key, item in value.items():
        table[key] = item
    return table


def _source_table(source: Source) -> Table:
    table = tomlkit.table()
    table["url"] = source.url
    table["verify_ssl"] = source.verify_ssl
    table["name"] = source.name
    return table
