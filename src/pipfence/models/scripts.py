"""Pipfile ``[scripts]`` entries and `pipfence run` command lines, as pipenv reads them.

A script is one of:

- a string, split as a POSIX shell splits words (``test = "pytest -q"``);
- a table ``{call = "pkg.mod:func"}`` or ``{call = "pkg.mod:func('arg', 1)"}``, run as
  ``python -c "import pkg.mod as _m; _m.func('arg', 1)"`` in the environment;
- an array of strings, each a command, run in order until one fails (``&&``); arguments
  given to `pipfence run NAME` go to the last one.

Each command may start with ``NAME=value`` words, set in the command's environment only
(``GREET='hello world' python greet.py``), and ``$NAME`` / ``${NAME}`` in its arguments are
replaced from that environment (the process's, the project's ``.env``, then the inline
words); a name the environment does not hold is left as written. Nothing here reads the
environment or runs anything.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from pipfence.errors import PipfileError

__all__ = ["Command", "entry_commands", "expand_variables", "script_commands"]

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)
# `$NAME` or `${NAME}`; what follows `${` up to `}` is looked up as written.
_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})")
_MODULE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_CALL = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(\(.*\))?", re.DOTALL)


class Command(NamedTuple):
    """One program to start: its words (``argv[0]`` the program) and the variables the
    command line assigned before it."""

    argv: tuple[str, ...]
    assigned: Mapping[str, str] = MappingProxyType({})

    def expanded(self, environ: Mapping[str, str]) -> Command:
        """The command with ``$NAME`` replaced: in its assignments from ``environ``, in its
        words from ``environ`` together with the assignments (which win)."""
        assigned = {key: expand_variables(value, environ) for key, value in self.assigned.items()}
        scope = {**environ, **assigned}
        return Command(
            argv=tuple(expand_variables(word, scope) for word in self.argv), assigned=assigned
        )


def expand_variables(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with each ``$NAME`` and ``${NAME}`` that ``environ`` holds replaced by its
    value; other ``$`` words stay as they are (as pipenv leaves them)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("{"):
            name = name[1:-1]
        return environ.get(name, match.group(0))

    return _VARIABLE.sub(value, text)


def _split_assignments(words: Sequence[str]) -> Command:
    """Leading ``NAME=value`` words become assignments; the last word is always the program,
    so ``run A=1`` runs a program called ``A=1``."""
    assigned: dict[str, str] = {}
    index = 0
    while index < len(words) - 1:
        match = _ASSIGNMENT.fullmatch(words[index])
        if match is None:
            break
        assigned[match.group(1)] = match.group(2)
        index += 1
    return Command(argv=tuple(words[index:]), assigned=assigned)


def _split(text: str, name: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise _invalid(name, f"cannot split the command line: {exc}") from None
    if not words:
        raise _invalid(name, "the script is empty")
    return words


def _invalid(name: str, problem: str) -> PipfileError:
    return PipfileError(f"[scripts] `{name}`: {problem}", key=f"scripts.{name}")


def _call_words(target: object, name: str) -> list[str]:
    """``{call = "pkg.mod:func('arg')"}`` as the words of a ``python -c`` command."""
    module, _, function = str(target).partition(":")
    called = _CALL.fullmatch(function.strip())
    if _MODULE.fullmatch(module.strip()) is None or called is None:
        raise _invalid(
            name,
            f"`call = {target!r}` is not of the form `package.module:function` "
            "(optionally with arguments: `function('arg', 1)`)",
        )
    function_name, arguments = called.groups()
    code = f"import {module.strip()} as _m; _m.{function_name}{arguments or '()'}"
    return ["python", "-c", code]


def entry_commands(name: str, value: object) -> list[Command]:
    """The commands the ``[scripts]`` entry ``name = value`` runs, in order."""
    if isinstance(value, str):
        return [_split_assignments(_split(value, name))]
    if isinstance(value, Mapping):
        if set(value) != {"call"}:
            keys = ", ".join(sorted(str(k) for k in value)) or "none"
            raise _invalid(name, f"a script table takes one key, `call` (it has: {keys})")
        return [_split_assignments(_call_words(value["call"], name))]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return [_split_assignments(_split(item, name)) for item in value]
    raise _invalid(
        name,
        'a script is a command line, an array of command lines, or {call = "pkg.mod:func"}',
    )


def script_commands(argv: Sequence[str], scripts: Mapping[str, object]) -> list[Command]:
    """What `pipfence run ARGV…` runs: the ``[scripts]`` entry ``argv[0]`` names (the other
    words appended to its last command), or ``argv`` itself as one command."""
    if argv[0] in scripts:
        commands = entry_commands(argv[0], scripts[argv[0]])
        last = commands[-1]
        commands[-1] = Command(argv=(*last.argv, *argv[1:]), assigned=last.assigned)
        return commands
    return [_split_assignments(list(argv))]
