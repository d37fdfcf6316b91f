"""Reading a Pipfile's TOML (pure): the decoded tables, and the line of a table or key for
error messages. Apart from `pipfence.models.pipfile` so that a command which only needs a
table or two of the file (`pipfence run` its ``[scripts]``, the environment's place its
``[pipenv]``) reads them without building the whole model."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from pipfence.errors import PipfileError

__all__ = ["LineFinder", "decode_pipfile", "table_of"]


def decode_pipfile(text: str, *, path: str = "Pipfile") -> dict[str, Any]:
    """The decoded TOML of a Pipfile; `PipfileError` naming ``path`` and the line when the
    text is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _error_line(str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise PipfileError(f"invalid TOML: {reason}", path=path, line=line) from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table.
        raise PipfileError("invalid TOML: nested too deeply", path=path) from None


def table_of(data: Mapping[str, Any], name: str, path: str, lines: LineFinder) -> Mapping[str, Any]:
    """Table ``name`` of ``data`` (empty when absent); `PipfileError` when it is not a table."""
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise PipfileError(f"[{name}] must be a table", path=path, line=lines.table(name))
    return value


def _error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


class LineFinder:
    """Finds the line of a table or key in Pipfile text, for error messages only."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._found: list[tuple[int, str, bool]] | None = None

    def _headers(self) -> list[tuple[int, str, bool]]:
        """Each table header: its line number, its name, whether it is an array table
        (found once: a Pipfile of hundreds of packages asks for a key's line per package)."""
        if self._found is None:
            self._found = []
            for number, line in enumerate(self._lines, start=1):
                match = self._HEADER.match(line)
                if match:
                    name = match.group(1).strip().strip("\"'")
                    self._found.append((number, name, line.lstrip().startswith("[[")))
        return self._found

    def table(self, name: str) -> int | None:
        return next((n for n, table, _ in self._headers() if table == name), None)

    def nth_array_table(self, name: str, position: int) -> int | None:
        found = [n for n, table, is_array in self._headers() if table == name and is_array]
        return found[position - 1] if len(found) >= position else None

    def key(self, table: str, key: str) -> int | None:
        start = self.table(table)
        if start is None:
            return None
        end = next((n for n, _t, _a in self._headers() if n > start), len(self._lines) + 1)
        for number in range(start + 1, end):
            if _assigns(self._lines[number - 1], key):
                return number
        return None


def _assigns(line: str, key: str) -> bool:
    """Whether ``line`` assigns ``key`` (bare or quoted): ``key =``, ``"key" =``."""
    rest = line.lstrip()
    if rest[:1] in {'"', "'"}:
        rest = rest[1:]
    if not rest.startswith(key):
        return False
    rest = rest[len(key) :]
    if rest[:1] in {'"', "'"}:
        rest = rest[1:]
    return rest.lstrip().startswith("=")
