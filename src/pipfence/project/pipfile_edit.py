"""Edits to the Pipfile's text through tomlkit, keeping the user's comments, order and layout."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import AoT, Comment, InlineTable, Table

from pipfence.models.names import canonical_name
from pipfence.models.package_spec import MARKER_KEYS
from pipfence.models.sources import PYPI_SOURCE, Source

__all__ = ["PipfileEditor"]

#: A table header line (``[name]``, ``[[name]]``, with an optional comment).
_HEADER = re.compile(r"\[\[?[^\[\]\n]+\]\]?[ \t]*(#.*)?")


class PipfileEditor:
    """A Pipfile document being edited; `text()` renders it.

    Only the project layer uses this, after the text has been validated by `Pipfile.parse`.
    """

    def __init__(self, text: str) -> None:
        self._doc = tomlkit.parse(text)

    def text(self) -> str:
        return self._doc.as_string()

    def sort_table(self, table: str) -> None:
        """Put ``[table]``'s entries in the order of their names, as pipenv's
        ``sort_pipfile = true`` asks (a table whose parts lie apart in the file is left as it
        is: its order is the file's layout)."""
        section = self._doc.get(table)
        if not isinstance(section, Table):
            return
        names = [str(key) for key in section]
        if names == sorted(names):
            return
        entries = [(name, section[name]) for name in names]
        for name in names:
            del section[name]
        for name, item in sorted(entries, key=lambda entry: entry[0]):
            # Each after the last: blank lines and comments that end the table stay below.
            self._append(self._table(table), name, item)

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
            self._append(section, name, item)

    def update_package(
        self,
        table: str,
        name: str,
        *,
        version: str | None = None,
        index: str | None = None,
        extras: Iterable[str] = (),
        markers: str | None = None,
    ) -> bool:
        """Merge a change into the entry of ``[table]`` whose normalised name matches ``name``,
        or add a new entry; whether the entry is new.

        Only what is given changes: ``version``, ``index`` and ``extras`` replace theirs,
        ``markers`` replaces the entry's environment condition (the
        ``markers`` key and any shorthand such as ``sys_platform``). Every other key, the
        entry's spelling, place, form (string, inline table or ``[table.name]`` sub-table)
        and comments stay. A string entry stays a string while only its version changes.
        A new entry's version is ``version`` or ``*``.
        """
        section = self._table(table)
        change = _Change(version, index, sorted(extras), markers)
        existing = _find(section, name)
        if existing is None:
            self._append(section, name, _new_entry(change))
            return True
        current = section[existing]
        if not isinstance(current, str):
            _merge(section, existing, current, change)
        elif index is not None or change.extras or markers is not None:
            # Written as a new entry is, in pipenv's key order, the string's version kept
            # unless the change gives one.
            kept = _Change(version or str(current), index, change.extras, markers)
            section[existing] = _new_entry(kept)
        elif version is not None and version != current:
            section[existing] = version
        return False

    def inline_sub_tables(self, table: str) -> None:
        """Rewrite each ``[table.name]`` sub-table of ``[table]`` as an inline entry
        ``name = {…}`` in ``[table]``, as pipenv writes every entry it edits a table with
        (its comments kept as lines above the entry). Keys, values and their order stay; so
        does a dotted entry (``name.version = "*"``), which is no sub-table."""
        section = self._doc.get(table)
        if not isinstance(section, (Table, OutOfOrderTableProxy)):
            return
        outlined = [
            (str(key), item)
            for key in list(section)
            if isinstance(item := section[key], Table) and not item.is_super_table()
        ]
        for name, item in outlined:
            section = self._table(table)  # afresh: an insert may have re-read the document
            values: list[tuple[str, Any]] = []
            comments: list[str] = []
            for key, value in item.value.body:
                if isinstance(value, Comment):
                    comments.append(value.as_string().strip())
                elif key is not None:
                    values.append((key.key, value.unwrap()))
                    if value.trivia.comment:
                        comments.append(value.trivia.comment.strip())
            del section[name]
            entry = tomlkit.inline_table()
            for key_name, value in values:
                entry[key_name] = value
            if comments:
                entry.comment("; ".join(c.lstrip("#").strip() for c in comments))
                entry.trivia.comment_ws = "  "
            self._append(self._table(table), name, entry)
        if outlined:
            # The blank lines that ended a sub-table went with it: a table header right
            # below the new entry gets its blank line back, and the end of the file keeps one
            # newline.
            text = _spaced_headers(self._doc.as_string())
            self._doc = tomlkit.parse(text.rstrip("\n") + "\n" if text.strip() else text)

    def _append(self, section: Table | OutOfOrderTableProxy, name: str, item: Any) -> None:
        """`_append`, then the document read again when the entry went into the middle of
        the table's body (tomlkit's tables keep a second index that such an insert does not
        update)."""
        if _append(section, name, item):
            self._doc = tomlkit.parse(self._doc.as_string())

    def remove_package(self, table: str, name: str) -> bool:
        """Remove ``name`` (any spelling) from ``[table]``; whether it was there."""
        section = self._doc.get(table)
        if not isinstance(section, (Table, OutOfOrderTableProxy)):
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

    def set_default_source(self, source: Source) -> None:
        """Make the first ``[[source]]`` table ``source`` (its keys' order and comments kept);
        for a new Pipfile whose default a requirements file's ``--index-url`` chose."""
        sources = self._doc.get("source")
        if not isinstance(sources, AoT) or not sources:
            self.add_source(source, keep_pypi_default=False)
            return
        first = sources[0]
        first["url"] = source.url
        first["verify_ssl"] = source.verify_ssl
        first["name"] = source.name

    def _table(self, name: str) -> Table | OutOfOrderTableProxy:
        """``[name]``; a table whose parts are apart in the file (``[packages.x]`` after
        ``[dev-packages]``) is edited through tomlkit's proxy, which writes to the parts."""
        section = self._doc.get(name)
        if isinstance(section, (Table, OutOfOrderTableProxy)):
            return section
        table = tomlkit.table()
        self._doc.append(name, table)
        return table


def _spaced_headers(text: str) -> str:
    """``text`` with a blank line put before each table header that directly follows an
    entry (not a comment, which belongs to the header below it)."""
    lines = text.split("\n")
    spaced: list[str] = []
    for line in lines:
        previous = spaced[-1].strip() if spaced else ""
        if _HEADER.fullmatch(line.strip()) and previous and not previous.startswith("#"):
            spaced.append("")
        spaced.append(line)
    return "\n".join(spaced)


def _append(section: Table | OutOfOrderTableProxy, name: str, item: Any) -> bool:
    """Add the entry ``name`` to ``section`` right after its last entry (or the comment line
    right below it): blank lines and comments after that belong to what follows the table,
    so they stay below the new entry. A table in several parts gets it in its first part.
    Whether it was inserted before other items (see `PipfileEditor._append`)."""
    table = section._tables[0] if isinstance(section, OutOfOrderTableProxy) else section  # noqa: SLF001
    body = table.value.body

    def is_entry(position: int) -> bool:
        key, value = body[position]
        if key is not None:
            return not (isinstance(value, Table) and not value.is_super_table())
        return isinstance(value, Comment) and position > 0 and is_entry(position - 1)

    last = max((position for position in range(len(body)) if is_entry(position)), default=-1)
    if last + 1 >= len(body):
        table.append(name, item)
        return False
    table.value._insert_at(last + 1, name, item)  # noqa: SLF001
    return True


def _find(section: Table | OutOfOrderTableProxy, name: str) -> str | None:
    key = canonical_name(name)
    return next((k for k in section if canonical_name(str(k)) == key), None)


class _Change(msgspec.Struct, frozen=True):
    """What a command changes in one entry; None (or no extras) leaves that part alone."""

    version: str | None
    index: str | None
    extras: list[str]
    markers: str | None


def _new_entry(change: _Change) -> str | InlineTable:
    version = change.version or "*"
    if change.index is None and not change.extras and change.markers is None:
        return version
    # Keys in pipenv's order (extras, version, index, markers): a team moving between the two
    # tools sees no line change.
    entry = tomlkit.inline_table()
    if change.extras:
        entry["extras"] = change.extras
    entry["version"] = version
    if change.index is not None:
        entry["index"] = change.index
    if change.markers is not None:
        entry["markers"] = change.markers
    return entry


def _merge(section: Table | OutOfOrderTableProxy, key: str, entry: Any, change: _Change) -> None:
    """Apply ``change`` to ``entry``, the inline table or sub-table at ``section[key]``, key by
    key: the keys not named keep their value, order and comments; new keys go at the end."""
    values: dict[str, Any] = {}
    deleted: list[str] = []
    if change.version is not None and entry.get("version") != change.version:
        values["version"] = change.version
    extras = _merged_extras(entry.get("extras"), change.extras)
    if extras is not None:
        values["extras"] = extras
    if change.markers is not None:
        deleted = [k for k in entry if k in MARKER_KEYS]
        if entry.get("markers") != change.markers:
            values["markers"] = change.markers
    if change.index is not None and entry.get("index") != change.index:
        values["index"] = change.index
    if isinstance(entry, InlineTable) and (deleted or any(k not in entry for k in values)):
        # tomlkit leaves stray spaces around a key added to or deleted from a parsed inline
        # table; one written afresh from the kept keys and values renders cleanly.
        section[key] = _rebuilt(entry, values, deleted)
        return
    for name in deleted:
        del entry[name]
    for name, value in values.items():
        entry[name] = value


def _merged_extras(present: Any, extras: list[str]) -> list[str] | None:
    """The new ``extras`` value, or None when it stays: the extras the command names replace
    the entry's, as pipenv replaces them (`install "requests[socks]"` on an entry with other
    extras leaves ``["socks"]``); none named keeps the entry's."""
    if not extras:
        return None
    listed = [] if present is None else [present] if isinstance(present, str) else list(present)
    if {canonical_name(str(e)) for e in listed} == {canonical_name(e) for e in extras}:
        return None
    return extras


def _rebuilt(entry: InlineTable, values: Mapping[str, Any], deleted: list[str]) -> Any:
    """``entry`` with ``values`` set (new keys at the end) and ``deleted`` left out; every
    other key and value is written as it was."""
    parts: list[str] = []
    for key, item in entry.value.body:
        if key is None or key.key in deleted:
            continue
        value = tomlkit.item(values[key.key]) if key.key in values else item
        parts.append(f"{key.as_string().strip()} = {value.as_string()}")
    parts.extend(
        f"{name} = {tomlkit.item(value).as_string()}"
        for name, value in values.items()
        if name not in entry
    )
    return tomlkit.parse(f"entry = {{{', '.join(parts)}}}\n")["entry"]


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
