"""Importing a pip requirements file into the Pipfile: `pipfence install -r FILE`, and the
project's requirements.txt when `pipfence install` starts a new Pipfile (as pipenv does).

The file's indexes become sources, fenced:

- ``--index-url``: pip takes every package of the file from it. A new Pipfile gets it as its
  default source (in place of PyPI); an existing Pipfile whose default it is not gets it as a
  source (reused when its URL is there), and the file's named packages are pinned to it with
  ``index =``. pipenv adds it beside the default and pins nothing, so its packages would come
  from the default only.
- ``--extra-index-url``: added as a source, nothing pinned to it: as every unpinned package,
  the file's packages come from the default source; one that only that index has needs its
  ``index =`` (the lock's error shows the line).
- ``--trusted-host``: the sources on that host get ``verify_ssl = false``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from pipfence.errors import UsageError
from pipfence.models.pipfile import Pipfile
from pipfence.models.requirements_file import (
    RequirementLine,
    RequirementsFile,
    parse_requirements_file,
)
from pipfence.models.sources import PYPI_SOURCE, Source, generated_source_name
from pipfence.models.urls import is_pypi_url, same_url, shown_url
from pipfence.project.edits import template_credentials
from pipfence.project.pipfile_edit import PipfileEditor
from pipfence.project.project import Project

__all__ = ["ImportedSources", "read_requirements", "with_requirement_sources"]

_MAX_INCLUDES = 20


def read_requirements(path: Path, *, cwd: Path) -> RequirementsFile:
    """The requirements file at ``path`` (relative to ``cwd``) with its ``-r`` includes
    (relative to the including file) read in. `UsageError` naming the file when it cannot be
    read, or when includes go more than 20 deep or in a circle."""

    def read(file: Path, depth: int, seen: tuple[Path, ...]) -> RequirementsFile:
        shown = str(file if file.is_absolute() and not _under(file, cwd) else _rel(file, cwd))
        if depth > _MAX_INCLUDES or file in seen:
            raise UsageError(f"`{shown}` includes itself (through `-r`), or too deeply")
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"requirements file `{shown}` does not exist") from None
        except UnicodeDecodeError:
            raise UsageError(f"requirements file `{shown}` is not UTF-8 text") from None
        except OSError as exc:
            raise UsageError(f"requirements file `{shown}` cannot be read: {exc}") from None
        parsed = parse_requirements_file(text, path=shown)
        merged = parsed
        for include in parsed.includes:
            inner = read((file.parent / include).absolute(), depth + 1, (*seen, file))
            merged = _merge(merged, inner)
        return merged

    return read((cwd / path).absolute(), 0, ())


def _under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder.absolute())
    except ValueError:
        return False
    return True


def _rel(path: Path, folder: Path) -> Path:
    return path.relative_to(folder.absolute()) if _under(path, folder) else path


def _merge(outer: RequirementsFile, inner: RequirementsFile) -> RequirementsFile:
    return RequirementsFile(
        requirements=(*outer.requirements, *inner.requirements),
        index_url=outer.index_url or inner.index_url,
        extra_index_urls=(*outer.extra_index_urls, *inner.extra_index_urls),
        trusted_hosts=(*outer.trusted_hosts, *inner.trusted_hosts),
        includes=(),
        ignored=(*outer.ignored, *inner.ignored),
    )


class ImportedSources(msgspec.Struct, frozen=True):
    """The Pipfile text with the file's sources, the source URL its named packages are to be
    pinned to (None: the default), notes, and credentials moved out of URLs."""

    text: str
    pin: str | None
    notes: tuple[str, ...] = ()
    credentials: dict[str, str] = msgspec.field(default_factory=dict)


def _verify(url: str, trusted: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = parts.netloc.rpartition("@")[2]
    return parts.scheme == "https" and not ({host, netloc} & set(trusted))


def with_requirement_sources(
    project: Project, text: str, imported: RequirementsFile
) -> ImportedSources:
    """``text`` (the Pipfile) with the sources ``imported`` names, as the module docstring
    says; the URL of a new source's credentials become ``${…}`` placeholders."""
    pipfile = Pipfile.parse(text)
    editor = PipfileEditor(text)
    environ = project.settings.environ
    notes: list[str] = []
    credentials: dict[str, str] = {}
    pin: str | None = None
    names = [s.name for s in pipfile.effective_sources]
    index = imported.index_url
    if index is not None:
        default = pipfile.fence().default
        if project.is_new and same_url(default.url, PYPI_SOURCE.url):
            name = PYPI_SOURCE.name if is_pypi_url(index) else generated_source_name(index, [])
            url, found = template_credentials(index, name, environ)
            credentials.update(found)
            editor.set_default_source(
                Source(name=name, url=url, verify_ssl=_verify(index, imported.trusted_hosts))
            )
            names = [name]
            notes.append(f"The default source is `{name}` ({shown_url(url)}), from `-i`.")
        elif not same_url(template_credentials(index, "x", {})[0], default.url):
            pin = index
    for extra in imported.extra_index_urls:
        plain = template_credentials(extra, "x", {})[0]
        current = Pipfile.parse(editor.text())
        if any(same_url(s.url, plain) for s in current.effective_sources):
            continue
        name = generated_source_name(extra, names)
        url, found = template_credentials(extra, name, environ)
        credentials.update(found)
        editor.add_source(
            Source(name=name, url=url, verify_ssl=_verify(extra, imported.trusted_hosts))
        )
        names.append(name)
        notes.append(
            f"Added source `{name}` from `--extra-index-url`; a package only it has needs "
            f'`index = "{name}"` in the Pipfile.'
        )
    notes.extend(f"Not imported: {item}" for item in imported.ignored)
    return ImportedSources(editor.text(), pin, tuple(notes), credentials)


def split_lines(lines: tuple[RequirementLine, ...]) -> tuple[list[str], list[str]]:
    """The file's requirements as `install` arguments and as ``-e`` arguments."""
    return [r.text for r in lines if not r.editable], [r.text for r in lines if r.editable]
