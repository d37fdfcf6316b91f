"""A lock as a PEP 751 pylock.toml document, and that document as TOML text.

Unlike a requirements file, a pylock.toml keeps the fence: each package records its ``index``
(PEP 751 ``packages.index``) and its files with URLs and sha256 hashes, matched by hash
against the project page of the package's one source (the lock records hashes, not file
names). The pages are fetched by the caller; this module only reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from pipfence.errors import PackageNotFound, UsageError
from pipfence.models.files import DistFile, ProjectPage, parse_filename, version_of
from pipfence.models.listing import AllowedHashes
from pipfence.models.lockfile import LockedPackage, Lockfile, package_source
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url

__all__ = ["PylockExport", "pylock_document", "pylock_toml"]


class PylockExport(msgspec.Struct, frozen=True, kw_only=True):
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
