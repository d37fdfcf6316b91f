"""The project's ``.env`` file, loaded as pipenv loads it before every command."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.errors import UsageError
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.project.settings import Settings

__all__ = ["load_dotenv", "read_dotenv"]


def read_dotenv(
    path: Path, environ: Mapping[str, str], on_warning: Callable[[str], None] | None = None
) -> dict[str, str]:
    """The variables of the ``.env`` file at ``path`` (none when there is no such file), with
    their ``${NAME}`` references replaced from the file and then ``environ``: the grammar
    python-dotenv reads for pipenv (`pipfence.models.dotenv`). A line that does not parse is
    skipped, and ``on_warning`` told."""
    if not path.is_file():
        return {}  # none, or a folder (`python -m venv .env` makes one): pipenv skips it too
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        if on_warning is not None:
            on_warning(f"{path} could not be read ({exc}); no variables loaded from it")
        return {}
    from pipfence.models.dotenv import parse_dotenv  # here: most projects have no `.env`

    parsed = parse_dotenv(text)
    if on_warning is not None:
        for line in parsed.bad_lines:
            on_warning(f"{path}: line {line} is not a `NAME=value` line; skipped")
    return parsed.values(environ)


def load_dotenv(
    settings: Settings,
    environ: MutableMapping[str, str],
    on_warning: Callable[[str], None] | None = None,
) -> None:
    """What pipenv does before any command: the project's ``.env`` (``PIPENV_DOTENV_LOCATION``
    names another file, ``PIPENV_DONT_LOAD_ENV`` skips it) loaded into ``environ``, its values
    taking precedence over those already there; the current folder's ``.env`` when there is
    no project. A command's settings read afterwards see it: credentials for a source's URL,
    pipenv's own variables. ``on_warning`` hears of a ``PIPENV_DOTENV_LOCATION`` that names
    no file and of lines of the file that do not parse."""
    if environ.get("PIPENV_DONT_LOAD_ENV"):
        return
    located = environ.get("PIPENV_DOTENV_LOCATION")
    if located:
        dotenv = settings.cwd / Path(located).expanduser()
        if not dotenv.is_file() and on_warning is not None:
            on_warning(
                f"PIPENV_DOTENV_LOCATION names `{located}`, which is not a file: "
                "no variables loaded from it"
            )
    else:
        try:
            dotenv = Project.find(settings).root / ".env"
        except UsageError:
            dotenv = settings.cwd / ".env"
    environ.update(read_dotenv(dotenv, environ, on_warning))
