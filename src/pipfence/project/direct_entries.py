"""Direct references given to `pipfence install` (a folder, an archive, a file URL), turned into
the Pipfile entry pipenv writes for them.

    Reference (models) ──► check it on disk ──► the project's name ──► DirectEntry
                           (relative to the     (the argument, the     name = {path = "./x",
                            working folder)      file name, pyproject,   editable = true, …}
                                                 else built metadata)

A local path is written relative to the project folder (``.``, ``./libs/x``, ``../x``), a
``file:`` URL as typed, an http(s) URL without its fragment; ``editable`` and ``extras`` as
given. The entry's dependencies are resolved later by the lock, fenced as any path or file
entry's are.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import msgspec

from pipfence.errors import UsageError
from pipfence.installer.build import temp_dir
from pipfence.models.files import parse_filename
from pipfence.models.names import is_valid_name, lock_key, shown
from pipfence.models.references import DirectRef, Reference, relative_location
from pipfence.project.adapters.direct import DirectFetcher
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.project.adapters.fenced_builds import Builds

__all__ = ["DirectEntry", "direct_entry", "metadata_namer"]

#: Builds the core metadata of a source tree or archive on demand (the project's `Builds`).
MetadataBuilder = Callable[[DirectRef, Path], str]


class DirectEntry(msgspec.Struct, frozen=True):
    """A Pipfile entry for a direct reference: the package's name and the inline table."""

    name: str
    entry: dict[str, Any]


def _local_path(reference: Reference, cwd: Path) -> Path:
    """The absolute path a ``path`` reference or a ``file:`` URL names (links kept)."""
    if reference.kind == "file":
        from urllib.request import url2pathname

        path = Path(url2pathname(unquote(urlsplit(reference.location).path)))
    else:
        path = Path(reference.location).expanduser()
    return Path(os.path.abspath(cwd / path))  # noqa: PTH100 - keep the user's links


def _check_on_disk(reference: Reference, path: Path) -> None:
    shown_location = shown(reference.location)
    if path.is_dir():
        if reference.kind == "file":
            raise UsageError(f"`{shown_location}` is a folder; a file URL names an archive")
        if not any((path / f).is_file() for f in ("pyproject.toml", "setup.py", "setup.cfg")):
            raise UsageError(
                f"`{shown_location}` has neither pyproject.toml nor setup.py: it is not a Python "
                "project to install"
            )
        return
    if not path.exists():
        raise UsageError(
            f"`{shown_location}` does not exist",
            hint="give the path of a project folder, a wheel or an sdist",
        )
    if reference.editable:
        raise UsageError(f"`{shown_location}` is a file; `-e` installs a folder in editable mode")
    if reference.filename is None:
        raise UsageError(f"`{shown_location}` is neither a wheel nor an sdist")


def _static_name(tree: Path) -> str | None:
    """The ``[project] name`` of a pyproject.toml that states it (not dynamic), else None."""
    try:
        data = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    table = data.get("project")
    name = table.get("name") if isinstance(table, dict) else None
    return name if isinstance(name, str) and is_valid_name(name) else None


def direct_entry(
    reference: Reference,
    project: Project,
    *,
    metadata_name: MetadataBuilder,
) -> DirectEntry:
    """The Pipfile entry for ``reference`` in ``project``.

    The project's name comes from the argument (``name @ url``), else from the archive's file
    name, else from the folder's pyproject.toml, else from the metadata ``metadata_name``
    builds (a setup.py project, a dynamic name). `UsageError` when the path does not exist or
    holds no Python project.
    """
    settings = project.settings
    location = reference.location
    local: Path | None = None
    if reference.kind == "path" or location.lower().startswith("file:"):
        local = _local_path(reference, settings.cwd)
        _check_on_disk(reference, local)
        if reference.kind == "path":
            location = relative_location(local.as_posix(), project.root.absolute().as_posix())
    name = reference.name
    if name is None and reference.filename is not None:
        parsed = parse_filename(reference.filename)
        name = str(parsed[0]) if parsed is not None else None
    if name is None and local is not None and local.is_dir():
        name = _static_name(local)
    if name is None:
        stand_in = (local.name if local is not None else reference.filename) or "package"
        ref = DirectRef(
            name=stand_in,
            kind=reference.kind,
            location=str(local) if local is not None else location,
        )
        with temp_dir(settings.cache_dir / "tmp", "install-") as tmp:
            name = metadata_name(ref, Path(tmp))
    entry: dict[str, Any] = {}
    if reference.extras:
        entry["extras"] = list(reference.extras)
    entry[reference.kind] = location
    if reference.editable:
        entry["editable"] = True
    return DirectEntry(lock_key(name), entry)


def metadata_namer(fetcher: DirectFetcher, builds: Builds) -> MetadataBuilder:
    """A `MetadataBuilder` that fetches a reference and builds its metadata with ``builds``."""

    def name_of(ref: DirectRef, tmp: Path) -> str:
        fetched = fetcher.fetch(ref, tmp)
        if fetched.archive is not None and fetched.sha256 is not None:
            metadata = builds.archive_metadata(fetched.archive, fetched.sha256, name=ref.name)
        elif fetched.tree is not None:
            metadata = builds.tree_metadata(fetched.tree, name=ref.name)
        else:  # pragma: no cover - fetch always gives one of the two
            raise UsageError(f"`{ref.location}` could not be read")
        return str(metadata.name)

    return name_of
