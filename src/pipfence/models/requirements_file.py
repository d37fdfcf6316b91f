"""A pip requirements file (``requirements.txt``) as data, for `pipfence install -r` and for
the import of a project's requirements.txt into a new Pipfile.

Read as pip reads it: ``#`` comments (at the start or after whitespace), ``\\`` line
continuations, one requirement or option per line. Kept: requirements (with markers), ``-e``
folders, paths and URLs, ``-i/--index-url``, ``--extra-index-url``, ``--trusted-host`` and
``-r`` includes (which the caller reads). Options that only tune pip (``--hash``,
``--no-binary``, …) and ``-c`` constraint files are listed in `ignored` so the caller can say
they were not imported. ``--find-links`` is refused: it would take files from outside any index.
"""

from __future__ import annotations

import re

import msgspec

from pipfence.errors import UsageError
from pipfence.models.names import shown

__all__ = ["RequirementLine", "RequirementsFile", "parse_requirements_file"]

_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTION = re.compile(r"^(?P<option>--?[A-Za-z][\w-]*)(?:(?:\s*=\s*|\s+)(?P<value>.*))?$")
_WITH_VALUE = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "--trusted-host": "--trusted-host",
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-e": "--editable",
    "--editable": "--editable",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-f": "--find-links",
    "--find-links": "--find-links",
}


class RequirementLine(msgspec.Struct, frozen=True):
    """One requirement: ``text`` as an `install` argument takes it, ``editable`` for ``-e``."""

    text: str
    line: int
    editable: bool = False


class RequirementsFile(msgspec.Struct, frozen=True, kw_only=True):
    """What one requirements file says (its ``-r`` includes not yet read)."""

    requirements: tuple[RequirementLine, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    ignored: tuple[str, ...] = msgspec.field(default_factory=tuple)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments removed."""
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = _COMMENT.sub("", raw) if not raw.rstrip().endswith("\\") else raw
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            lines.append((start, full))
    if pending.strip():
        lines.append((start, _COMMENT.sub("", pending).strip()))
    return lines


def parse_requirements_file(text: str, *, path: str) -> RequirementsFile:
    """Parse the requirements file ``path`` (named in errors), whose content is ``text``.

    `UsageError` naming the file and line for ``--find-links``, an option without its value
    and an option pip does not know."""
    requirements: list[RequirementLine] = []
    index_url: str | None = None
    extra: list[str] = []
    trusted: list[str] = []
    includes: list[str] = []
    ignored: list[str] = []
    for number, line in _logical_lines(text):
        where = f"{path}:{number}"
        if not line.startswith("-"):
            # pip reads ``--hash`` and other per-requirement options after the requirement.
            requirement, _, options = line.partition(" --")
            if options:
                ignored.append(f"{where}: --{options.split()[0].split('=')[0]}")
            requirements.append(RequirementLine(requirement.strip(), number))
            continue
        match = _OPTION.match(line)
        option = match.group("option") if match else line.split()[0]
        value = (match.group("value") or "").strip() if match else ""
        canonical = _WITH_VALUE.get(option)
        if canonical is None:
            ignored.append(f"{where}: {shown(option)}")
            continue
        if not value:
            raise UsageError(f"{where}: `{option}` needs a value")
        if canonical == "--find-links":
            raise UsageError(
                f"{where}: `{option}` takes files from outside any index, which the fence "
                "does not allow",
                hint="publish the files to an index, or install them by path",
            )
        if canonical == "--index-url":
            index_url = value
        elif canonical == "--extra-index-url":
            extra.append(value)
        elif canonical == "--trusted-host":
            trusted.append(value)
        elif canonical == "--requirement":
            includes.append(value)
        elif canonical == "--editable":
            requirements.append(RequirementLine(value, number, editable=True))
        else:
            ignored.append(f"{where}: {option} {shown(value)}")
    return RequirementsFile(
        requirements=tuple(requirements),
        index_url=index_url,
        extra_index_urls=tuple(extra),
        trusted_hosts=tuple(trusted),
        includes=tuple(includes),
        ignored=tuple(ignored),
    )
