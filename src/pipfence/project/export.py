"""Exports of Pipfile.lock: which entries a requirements file or a PEP 751 pylock.toml
holds, the project pages a pylock needs (each from the package's own source: the fence holds
for exports too), and the use cases that write them. The text itself is `pipfence.formats`'.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from pipfence.formats.pylock import PylockExport, pylock_document, pylock_toml
from pipfence.formats.requirements import index_lines, requirement_lines, source_lines
from pipfence.models.files import ProjectPage
from pipfence.models.lockfile import LockedPackage, Lockfile, package_source
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import Pipfile, lock_category
from pipfence.models.sources import Source
from pipfence.models.urls import Routes, without_secrets
from pipfence.project.adapters.fenced_source import PageReader
from pipfence.project.concurrency import worker_pool

if TYPE_CHECKING:
    from pipfence.project.files import FileSet
    from pipfence.project.project import Project

__all__ = [
    "PylockWritten",
    "RequirementsExport",
    "fetch_pages",
    "fetched_pylock",
    "lock_requirements",
    "pipfile_requirements",
    "project_pylock",
    "pylock_path",
    "routing_lost",
    "selected_packages",
    "stage_with_pylock",
    "write_pylock",
]


def selected_packages(
    lock: Lockfile, categories: Sequence[str], *, named_in: Pipfile | None = None
) -> dict[str, LockedPackage]:
    """The entries of ``categories`` merged in order, as pipenv merges them (insertion order
    kept, a later category's entry replacing an earlier one's). With ``named_in``, only the
    entries the Pipfile names in the table of their category (`requirements --from-pipfile`):
    the project's own dependencies, without what they pull in."""
    tables = {lock_category(table): table for table in named_in.categories} if named_in else {}
    merged: dict[str, LockedPackage] = {}
    for category in categories:
        entries = lock.categories.get(category, {})
        if named_in is not None:
            listed = named_in.categories.get(tables.get(category, category), {})
            entries = {k: v for k, v in entries.items() if canonical_name(k) in listed}
        merged.update(entries)
    return merged


def routing_lost(lock: Lockfile, packages: Mapping[str, LockedPackage]) -> dict[str, str]:
    """When the requirements file would list more than one index: each package that comes
    from a source other than the first, with that source's name (pip would look for it, and
    for every other name, on all of them). Empty when one index is listed."""
    if len(lock.meta.sources) < 2:  # noqa: PLR2004
        return {}
    first = lock.meta.sources[0].name
    return {
        name: source.name
        for name, package in packages.items()
        if package.is_named and (source := package_source(package, lock)).name != first
    }


# -- pylock.toml ------------------------------------------------------------------------------


def fetch_pages(
    client: PageReader,
    lock: Lockfile,
    packages: Mapping[str, LockedPackage],
    *,
    routes: Routes,
) -> tuple[dict[NormalizedName, ProjectPage | None], dict[str, tuple[str, str]]]:
    """Each index package's project page, fetched only from the package's own source (the
    fence holds for exports too), concurrently; and, per source used, its (expanded request
    URL, URL as written) for `pylock_document`. Raises what `IndexClient.project_page` raises.
    """

    wanted: dict[NormalizedName, Source] = {
        canonical_name(name): package_source(package, lock)
        for name, package in packages.items()
        if package.is_named
    }
    url_for = {
        source.name: (
            routes.url(source),
            source.url,
        )
        for source in {s.name: s for s in wanted.values()}.values()
    }
    with worker_pool("pipfence-export", 16) as pool:
        futures = {
            key: pool.submit(client.project_page, source, url_for[source.name][0], key)
            for key, source in wanted.items()
        }
        pages = {key: future.result() for key, future in futures.items()}
    return pages, url_for


def pylock_path(project: Project) -> Path:
    """Where the project's pylock.toml goes: beside the Pipfile, named ``pylock.NAME.toml``
    when ``[pipenv] pylock_name = "NAME"`` is set, as pipenv names it."""
    name = project.pipfile.settings.get("pylock_name") if project.pipfile_path.is_file() else None
    from pipfence.project.project import PYLOCK

    return project.root / (f"pylock.{name}.toml" if isinstance(name, str) and name else PYLOCK)


def project_pylock(
    project: Project, client: PageReader, lock: Lockfile, *, dev_groups: Sequence[str] = ("dev",)
) -> PylockExport:
    """The pylock.toml of ``lock`` as `pylock --generate` writes it: ``[packages]``, and
    ``[dev-packages]`` marked as the ``dev_groups`` dependency groups; each file's URL from
    the page of the package's own source."""
    packages = selected_packages(lock, ["develop", "default"])  # default's entry wins
    default = set(lock.categories.get("default", {}))
    terms = [f"'{group}' in dependency_groups" for group in dev_groups]
    only_when = {name: terms for name in packages if name not in default}
    return fetched_pylock(
        project,
        client,
        lock,
        packages,
        only_when=only_when,
        dependency_groups=dev_groups if only_when else (),
    )


def fetched_pylock(
    project: Project,
    client: PageReader,
    lock: Lockfile,
    packages: Mapping[str, LockedPackage],
    **options: Any,
) -> PylockExport:
    """`pylock_document` for ``packages`` (``options`` are its own), each package's page
    fetched from the package's own source, the document signed as made by this pipfence."""
    from pipfence import __version__

    pages, url_for = fetch_pages(client, lock, packages, routes=project.settings.routes)
    return pylock_document(
        lock, packages, pages, url_for=url_for, created_by=f"pipfence {__version__}", **options
    )


def stage_with_pylock(
    project: Project,
    client: PageReader,
    *,
    pipfile_text: str | None = None,
    lock: Lockfile | None = None,
) -> FileSet:
    """`Project.stage_files`, and with ``[pipenv] use_pylock = true`` the lock's pylock.toml
    too, so that the two files are replaced together (pipenv writes it after each lock)."""
    pipfile = Pipfile.parse(pipfile_text) if pipfile_text is not None else project.pipfile
    side = None
    if lock is not None and pipfile.setting("use_pylock"):
        side = pylock_toml(project_pylock(project, client, lock).document)
    files = project.stage_files(pipfile_text=pipfile_text, lock=lock)
    if side is not None:
        path = pylock_path(project)
        try:
            files.add(path, side.encode("utf-8"), display=path.name)
        except BaseException:
            files.discard()
            raise
    return files


class PylockWritten(msgspec.Struct, frozen=True, kw_only=True):
    """A pylock.toml made by `write_pylock`: its text, where it went (None: not written, the
    caller prints ``text``), how many packages it holds, and what could not be matched."""

    text: str
    path: Path | None
    packages: int
    notes: tuple[str, ...] = ()


def write_pylock(
    project: Project,
    lock: Lockfile,
    packages: Mapping[str, LockedPackage] | None = None,
    *,
    output: str | None,
    dev_groups: Sequence[str] | None = None,
    warn: Callable[[str], None] | None = None,
    **options: Any,
) -> PylockWritten:
    """Fetch each package's project page from its own source, build the pylock.toml of
    ``packages`` (``options`` are `pylock_document`'s), and write it atomically to ``output``
    (None: the project's `pylock_path`; ``-``: nowhere, the caller prints the text). Without
    ``packages``, the document `pylock --generate` writes (`project_pylock`, [dev-packages]
    in ``dev_groups``). ``warn`` hears of sources that skip TLS verification."""
    from pipfence.project.files import atomic_write
    from pipfence.project.index_settings import open_client

    with open_client(project.settings, project.pipfile, warn=warn) as client:
        if packages is None:
            export = project_pylock(project, client, lock, dev_groups=dev_groups or ("dev",))
        else:
            export = fetched_pylock(project, client, lock, packages, **options)
    text = pylock_toml(export.document)
    path = None if output == "-" else Path(output) if output else pylock_path(project)
    if path is not None:
        atomic_write(path, text.encode("utf-8"), display=str(path))
    return PylockWritten(
        text=text, path=path, packages=len(export.document["packages"]), notes=export.notes
    )


class RequirementsExport(msgspec.Struct, frozen=True, kw_only=True):
    """A requirements file's lines, and what the user should know about it."""

    lines: list[str]
    warnings: list[str]
    hints: list[str]


def lock_requirements(
    project: Project,
    lock: Lockfile,
    packages: Mapping[str, LockedPackage],
    *,
    hashes: bool = False,
    markers: bool = True,
    index: bool = True,
) -> RequirementsExport:
    """``packages`` as requirements lines, after the ``-i`` lines of the lock's sources (with
    ``index``); warns when the PyPI mirror's credentials were left out, and when the file
    lists several indexes (pip then looks for every package on all of them)."""
    mirror = project.settings.pypi_mirror
    lines = index_lines(lock, pypi_mirror=mirror) if index else []
    lines += requirement_lines(packages, hashes=hashes, markers=markers)
    warnings: list[str] = []
    hints: list[str] = []
    if mirror and index and without_secrets(mirror)[1]:
        warnings.append(
            "the PyPI mirror's credentials were left out of the `-i` line: "
            "pip takes them from .netrc or keyring, or write them as ${VARIABLES}"
        )
    if len(lock.meta.sources) > 1 and index:
        lost = routing_lost(lock, packages)
        shown = ", ".join(f"`{n}` from `{s}`" for n, s in sorted(lost.items())[:5])
        more = f" ({shown}{', …' if len(lost) > 5 else ''})" if lost else ""  # noqa: PLR2004
        warnings.append(
            f"this file lists {len(lock.meta.sources)} indexes and pip looks for every package "
            f"on all of them: the lock's one-index-per-package routing{more} is lost, and a "
            "package published under the same name on another index could be installed "
            "instead (dependency confusion)"
        )
        hints.append(
            "hint: install with `pipfence sync`, or export with `pipfence requirements "
            "--pylock`, which records each package's index"
        )
    return RequirementsExport(lines=lines, warnings=warnings, hints=hints)


def pipfile_requirements(
    project: Project, tables: Sequence[str], *, markers: bool = True, index: bool = True
) -> RequirementsExport:
    """`requirements --no-lock`: the Pipfile's own lines for ``tables`` (version ranges,
    extras, markers), no lock needed; a path, file or VCS entry is left out with a warning
    (its lock entry says what to write)."""
    pipfile = project.pipfile
    mirror = project.settings.pypi_mirror
    lines = source_lines(pipfile.effective_sources, pypi_mirror=mirror) if index else []
    warnings: list[str] = []
    seen: set[str] = set()
    for _table, spec in pipfile.iter_specs(list(tables)):
        if spec.key in seen:
            continue
        seen.add(spec.key)
        if not spec.is_named:
            warnings.append(
                f"`{spec.name}` is a path, file or VCS entry: left out without the lock"
            )
            continue
        lines.append(spec.requirement_text(markers=markers))
    return RequirementsExport(lines=lines, warnings=warnings, hints=[])
