"""A ``.env`` file's variables, read as pipenv reads them (it loads the file with python-dotenv,
its values taking precedence over the environment's).

The grammar, line by line: blank lines and ``#`` comments are skipped; a binding is
``[export ]KEY=VALUE``, the key bare or in single quotes, spaces allowed around ``=``. A value
is single-quoted (``\\\\`` and ``\\'`` decoded, may span lines), double-quoted (the C escapes
``\\n``, ``\\t``, ``\\"``… decoded, may span lines) or bare (to the end of the line, a `` #``
comment and trailing spaces removed). ``KEY`` alone sets nothing. Then every value has its
``${NAME}`` and ``${NAME:-default}`` replaced (``$NAME`` without braces is kept as written),
from the values above it in the file first, then from the environment; a name set nowhere
becomes its default, or nothing. A line that does not parse is skipped and reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["DotenvFile", "parse_dotenv"]

_SPACE = r"[^\S\r\n]*"
_BINDING = re.compile(
    rf"{_SPACE}(?:export[^\S\r\n]+)?"
    rf"(?:'(?P<quoted_key>[^']+)'|(?P<key>[^=#\s]+)){_SPACE}"
    rf"(?:=(?P<value>{_SPACE}(?:'(?:\\'|[^'])*'|\"(?:\\\"|[^\"])*\"|(?!['\"])[^\r\n]*)))?"
    rf"{_SPACE}(?:#[^\r\n]*)?(?:\r\n|\n|\r|$)"
)
_BLANK_OR_COMMENT = re.compile(r"(?:\s*#[^\r\n]*(?:\r\n|\n|\r|$))|\s+")
_REST_OF_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r|$)")
_VARIABLE = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")
_DOUBLE_QUOTE_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v",
}  # fmt: skip
_DOUBLE_QUOTE_ESCAPE = re.compile(r"\\([\\'\"abfnrtv])")
_SINGLE_QUOTE_ESCAPE = re.compile(r"\\([\\'])")


class DotenvFile:
    """The bindings of a ``.env`` text in order (``values`` resolves them) and the lines that
    did not parse (``bad_lines``, 1-based)."""

    __slots__ = ("bad_lines", "bindings")

    def __init__(self, bindings: list[tuple[str, str]], bad_lines: list[int]) -> None:
        self.bindings = bindings
        self.bad_lines = bad_lines

    def values(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Each key's value with its ``${NAME}`` references replaced: a name bound earlier in
        the file first, then ``environ``."""
        resolved: dict[str, str] = {}
        for key, raw in self.bindings:

            def lookup(match: re.Match[str]) -> str:
                name, default = match["name"], match["default"]
                if name in resolved:
                    return resolved[name]
                if name in environ:
                    return environ[name]
                return default or ""

            resolved[key] = _VARIABLE.sub(lookup, raw)
        return resolved


def parse_dotenv(text: str) -> DotenvFile:
    """The bindings of ``text`` (see the module's docstring for the grammar)."""
    bindings: list[tuple[str, str]] = []
    bad: list[int] = []
    position = 0
    while position < len(text):
        skipped = _BLANK_OR_COMMENT.match(text, position)
        if skipped is not None and skipped.end() > position:
            position = skipped.end()
            continue
        match = _BINDING.match(text, position)
        if match is None or match.end() == position:
            bad.append(text.count("\n", 0, position) + 1)
            rest = _REST_OF_LINE.match(text, position)
            position = rest.end() if rest is not None and rest.end() > position else len(text)
            continue
        key = match["quoted_key"] or match["key"]
        if match["value"] is not None:
            bindings.append((key, _value(match["value"].lstrip(" \t"))))
        position = match.end()
    return DotenvFile(bindings, bad)


def _value(written: str) -> str:
    if len(written) >= 2 and written[0] == written[-1] == "'":  # noqa: PLR2004 - two quotes
        return _SINGLE_QUOTE_ESCAPE.sub(lambda m: m[1], written[1:-1])
    if len(written) >= 2 and written[0] == written[-1] == '"':  # noqa: PLR2004 - two quotes
        return _DOUBLE_QUOTE_ESCAPE.sub(lambda m: _DOUBLE_QUOTE_ESCAPES[m[1]], written[1:-1])
    return re.sub(r"\s+#.*", "", written).rstrip()
