"""Exports of Pipfile.lock: a requirements file as pipenv writes it, and a PEP 751 pylock.toml.

A requirements file cannot say which index a package comes from: pip asks every
``-i``/``--extra-index-url`` index for every name and takes the best version it finds, so a
lock whose packages come from two sources loses its fence on the way (dependency confusion).
`routing_lost` tells the caller when to warn. A pylock.toml keeps it: each package records its
``index`` (PEP 751 ``packages.index``) and its files with URLs and sha256 hashes, matched by
hash against the project page of the package's one source, since the lock records hashes but
not file names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from pipfence.errors import PackageNotFound, UsageError
from pipfence.models.fence import AllowedHashes
from pipfence.models.files import DistFile, ProjectPage, parse_filename, version_of
from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import Pipfile, lock_category
from pipfence.models.sources import Source
from pipfence.models.urls import Routes, is_pypi_url, shown_url, without_secrets
from pipfence.project.concurrency import worker_pool

if TYPE_CHECKING:
    from pipfence.project.files import FileSet
    from pipfence.project.project import Project

__all__ = [
    "PylockExport",
    "fetch_pages",
    "fetched_pylock",
    "index_lines",
    "lock_categories_for",
    "package_source",
    "project_pylock",
    "pylock_document",
    "pylock_path",
    "pylock_toml",
    "requirement_line",
    "requirement_lines",
    "routing_lost",
    "selected_packages",
    "stage_with_pylock",
]

_BARE_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_VCS = ("git", "hg", "svn", "bzr")


def lock_categories_for(
    *, dev: bool = False, dev_only: bool = False, categories: str | None = None
) -> list[str]:
    """The lock categories pipenv's ``--dev`` / ``--dev-only`` / ``--categories`` choose, in
    the order their entries are merged (a later category's entry wins): Pipfile table names
    are mapped to lock categories (``packages`` → ``default``, ``dev-packages`` → ``develop``).
    """
    if categories:
        names = [c for c in re.split(r"[,\s]+", categories) if c]
        aliases = {"packages": "default", "dev-packages": "develop"}
        return [aliases.get(n, n) for n in names]
    chosen: list[str] = []
    if dev or dev_only:
        chosen.append("develop")
    if not dev_only:
        chosen.append("default")
    return chosen


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


def index_lines(lock: Lockfile, *, pypi_mirror: str | None = None) -> list[str]:
    """``-i`` for the lock's first source and ``--extra-index-url`` for the others
    (`source_lines`)."""
    return source_lines(lock.meta.sources, pypi_mirror=pypi_mirror)


def source_lines(sources: Sequence[Source], *, pypi_mirror: str | None = None) -> list[str]:
    """``-i`` for the first of ``sources`` and ``--extra-index-url`` for the others.

    URLs are written with their ``${VAR}`` placeholders (a bare ``$VAR`` becomes ``${VAR}``,
    the only form pip expands), never with the values; PyPI's URL is replaced by
    ``pypi_mirror`` when one is set, as pipenv does, without any literal credentials it holds
    (pip finds them in .netrc or keyring; the caller says they were left out)."""
    lines: list[str] = []
    for position, source in enumerate(sources):
        url = source.url
        if pypi_mirror and is_pypi_url(source.url):
            url = without_secrets(pypi_mirror)[0]
        prefix = "-i" if position == 0 else "--extra-index-url"
        braced = _BARE_VAR.sub(r"${\1}", url)
        lines.append(f"{prefix} {braced}")
    return lines


def requirement_line(
    name: str, package: LockedPackage, *, hashes: bool = False, markers: bool = True
) -> str:
    """One requirements line for a lock entry, exactly as pipenv's ``requirements`` writes it:
    ``name[extras]==1.0; marker --hash=sha256:…`` for index entries, ``-e``/``@`` forms for
    VCS, the path for ``path``/``file`` entries."""
    data = package.data
    marker = f"; {data['markers']}" if markers and data.get("markers") else ""
    os_marker = f"; {data['os_markers']}" if markers and data.get("os_markers") else ""
    extras = f"[{','.join(data.get('extras', []))}]" if "extras" in data else ""
    for vcs in _VCS:
        if vcs in data:
            url = str(data[vcs])
            ref = data.get("ref", "")
            prefix = "" if f"{vcs}+" in url else f"{vcs}+"
            ref_part = f"@{ref}" if ref and f"@{ref}" not in url else ""
            subdirectory = data.get("subdirectory", "")
            if data.get("editable") or "file://" in url:
                egg = "" if "#egg=" in url else f"#egg={name}"
                line = f"-e {prefix}{url}{ref_part}{egg}"
                line += f"&subdirectory={subdirectory}" if subdirectory else ""
                return line + extras
            line = f"{name}{extras} @ {prefix}{url}{ref_part}"
            return line + (f"#subdirectory={subdirectory}" if subdirectory else "")
    for key in ("file", "path"):
        if key in data:
            parts = ["-e"] if data.get("editable") else []
            parts.append(str(data[key]))
            parts.extend(m for m in (os_marker, marker) if m)
            return " ".join(parts)
    version = data.get("version", "")
    if version in ("*", ""):
        version = ""
    digest = ""
    if hashes and "hashes" in data:
        digest = " --hash=" + " --hash=".join(data["hashes"])
    return f"{name}{extras}{version}{os_marker}{marker}{digest}"


def requirement_lines(
    packages: Mapping[str, LockedPackage], *, hashes: bool = False, markers: bool = True
) -> list[str]:
    return [
        requirement_line(name, package, hashes=hashes, markers=markers)
        for name, package in packages.items()
    ]


def package_source(package: LockedPackage, lock: Lockfile) -> Source:
    """The source a lock entry comes from: its ``index``, else the lock's first source."""
    sources = lock.meta.sources
    if not sources:
        raise UsageError("the lock lists no sources", hint="run `pipfence lock` again")
    if package.index is not None:
        for source in sources:
            if source.name == package.index:
                return source
        names = ", ".join(f"`{s.name}`" for s in sources)
        raise UsageError(
            f"`{package.name}` in Pipfile.lock names index `{package.index}`, "
            f"but the lock's sources are {names}",
            hint="run `pipfence lock` again",
        )
    return sources[0]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class PylockExport:
    """The pylock.toml document as plain data, and what could not be matched (notes)."""

    document: dict[str, Any]
    notes: tuple[str, ...] = ()


def _clean_url(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _requires_python(requires: Mapping[str, Any]) -> str | None:
    full = requires.get("python_full_version")
    if isinstance(full, str) and full:
        return f"=={full}"
    minor = requires.get("python_version")
    if isinstance(minor, str) and minor:
        return f"=={minor}.*"
    return None


def pylock_document(
    lock: Lockfile,
    packages: Mapping[str, LockedPackage],
    pages: Mapping[NormalizedName, ProjectPage | None],
    *,
    url_for: Mapping[str, tuple[str, str]] | None = None,
    created_by: str = "pipfence",
    only_when: Mapping[str, Sequence[str]] | None = None,
    dependency_groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    requires_python: str | None = None,
) -> PylockExport:
    """A PEP 751 document for ``packages``.

    ``pages`` holds each package's project page from its own source (keyed by normalised
    name). A file is recorded when its sha256 is among the entry's locked hashes and its
    name carries the locked version; its URL is the one the page gives, without user-info.
    ``url_for`` maps a source name to (expanded request URL, URL as written): a file URL under
    the expanded one is written under the written one, so a credential in a URL's path never
    reaches the file. ``index`` is the source's URL as the Pipfile writes it.

    ``only_when`` maps a package name to PEP 751 marker terms, one of which it needs
    (``'dev' in dependency_groups``, ``'docs' in extras``: pipenv's `pylock --generate` puts
    [dev-packages] in a ``dev`` group); they are joined to its own markers. The document lists
    ``dependency_groups`` (``default`` then being the default group) and ``extras``, and takes
    ``requires_python`` instead of the lock's ``[requires]`` when given.

    Raises `UsageError` for path, file and VCS entries (not exported yet) and
    `PackageNotFound` for an entry no file of its page matches.
    """
    notes: list[str] = []
    records: list[dict[str, Any]] = []
    for name, package in sorted(packages.items(), key=lambda item: canonical_name(item[0])):
        key = canonical_name(name)
        if not package.is_named or package.version is None:
            raise UsageError(
                f"`{name}` is a path, file or VCS entry; pylock.toml export covers index "
                "packages only",
                hint="use `pipfence requirements` for this lock",
            )
        source = package_source(package, lock)
        record: dict[str, Any] = {"name": key, "version": package.version}
        marker = _conditional_marker((only_when or {}).get(name, ()), package.markers)
        if marker:
            record["marker"] = marker
        record["index"] = source.url
        wheels, sdist, unmatched = _files(key, package, pages.get(key), source, url_for or {})
        if not wheels and sdist is None:
            raise PackageNotFound(
                f"no file of `{name}` {package.version} on source `{source.name}` "
                f"({shown_url(source.url)}) has a sha256 the lock lists",
                source=source.name,
                hint="run `pipfence lock` again, then export",
            )
        if unmatched:
            notes.append(
                f"{unmatched} locked hash(es) of `{name}` match no file on `{source.name}`"
            )
        if sdist is not None:
            record["sdist"] = sdist
        if wheels:
            record["wheels"] = wheels
        record["tool"] = {"pipfence": {"source": source.name}}
        records.append(record)
    document: dict[str, Any] = {"lock-version": "1.0"}
    requires_python = requires_python or _requires_python(lock.meta.requires)
    if requires_python:
        document["requires-python"] = requires_python
    if extras:
        document["extras"] = list(extras)
    if dependency_groups:
        document["dependency-groups"] = list(dependency_groups)
        document["default-groups"] = ["default"]
    document["created-by"] = created_by
    document["packages"] = records
    return PylockExport(document=document, notes=tuple(notes))


def _conditional_marker(terms: Sequence[str], markers: str | None) -> str | None:
    """A package's PEP 751 marker: one of ``terms``, and its own ``markers``."""
    if not terms:
        return markers
    wanted = " or ".join(terms)
    return f"({wanted}) and ({markers})" if markers else wanted


def _files(
    key: NormalizedName,
    package: LockedPackage,
    page: ProjectPage | None,
    source: Source,
    url_for: Mapping[str, tuple[str, str]],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int]:
    locked = set(AllowedHashes.of(package.hashes).digests)
    wheels: list[dict[str, Any]] = []
    sdist: dict[str, Any] | None = None
    matched: set[str] = set()
    for file in _locked_version_files(page, package.version):
        digest = file.sha256
        parsed = parse_filename(file.filename, key)
        if digest not in locked or parsed is None or parsed[0] != key:
            continue
        entry: dict[str, Any] = {"name": file.filename, "url": _written(file.url, source, url_for)}
        if file.size is not None:
            entry["size"] = file.size
        entry["hashes"] = {"sha256": digest}
        if parsed[2] is None:
            if sdist is None:
                sdist = entry
                matched.add(str(digest))
        else:
            wheels.append(entry)
            matched.add(str(digest))
    wheels.sort(key=lambda w: str(w["name"]))
    return wheels, sdist, len(locked - matched)


def _locked_version_files(page: ProjectPage | None, locked: str | None) -> list[DistFile]:
    """The page's files of the locked version (written as the lock writes it, local label
    or not)."""
    files: list[DistFile] = []
    for text, group in page.releases.items() if page is not None else ():
        version = version_of(text)
        if version is not None and locked in {str(version), version.public}:
            files.extend(group)
    return files


def _written(url: str, source: Source, url_for: Mapping[str, tuple[str, str]]) -> str:
    clean = _clean_url(url)
    expanded, written = url_for.get(source.name, (source.url, source.url))
    expanded, written = _clean_url(expanded).rstrip("/"), written.rstrip("/")
    if expanded != written and clean.startswith(expanded + "/"):
        return written + clean[len(expanded) :]
    return clean


class PageReader(Protocol):
    """What `fetch_pages` needs of the index client (satisfied by `IndexClient`)."""

    def project_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None: ...


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


def pylock_toml(document: Mapping[str, Any]) -> str:
    """The document as TOML text (tomlkit), checked by ``packaging.pylock`` when the installed
    packaging has it (25.0 and later); `UsageError` when it does not validate."""
    import tomlkit

    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:  # packaging before 25.0: written unchecked
        pass
    else:
        try:
            Pylock.from_dict(document)
        except PylockValidationError as exc:
            raise UsageError(f"the pylock.toml pipfence built is not valid: {exc}") from exc
    return tomlkit.dumps(_toml_ready(document))


def _toml_ready(value: Any) -> Any:
    """Plain data with package tables as arrays of tables and hashes as inline tables."""
    import tomlkit

    if isinstance(value, Mapping):
        table = tomlkit.table()
        for k, v in value.items():
            if k == "hashes" and isinstance(v, Mapping):
                inline = tomlkit.inline_table()
                inline.update(dict(v))
                table.add(k, inline)
            else:
                table.add(k, _toml_ready(v))
        return table
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        array = tomlkit.aot()
        for item in value:
            array.append(_toml_ready(item))
        return array
    return value


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
        files.add(path, side.encode("utf-8"), display=path.name)
    return files
