"""Which file a sync installs for a locked package, and what it knows of it: a wheel already
unpacked in the cache (`from_unpacked_cache`), else the best file a source lists with a
sha256 the lock allows (`choose_file`); a chosen wheel's own METADATA (`wheel_core_metadata`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from packaging.version import InvalidVersion, Version

from pipfence.errors import HashMismatch, InstallError, UsageError
from pipfence.index.client import IndexClient
from pipfence.installer.build import wheel_metadata
from pipfence.installer.cache import UnpackedCache
from pipfence.installer.satisfies import WantedDist
from pipfence.models.files import CoreMetadata, DistFile, install_rank, parse_filename
from pipfence.models.listing import AllowedHashes, Listing
from pipfence.models.lockfile import LockedPackage
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes, shown_url
from pipfence.project.sync_types import Choice

__all__ = [
    "best_file",
    "choose_file",
    "from_unpacked_cache",
    "page_listing",
    "sha_of",
    "wheel_core_metadata",
]


def choose_file(
    client: IndexClient,
    routes: Routes,
    wanted: WantedDist,
    *,
    package: LockedPackage,
    sources: Sequence[Source],
    target: Target,
    requested: bool,
    refresh: bool = False,
) -> Choice:
    hashes = AllowedHashes.of(package.hashes).digests
    try:
        version = Version(wanted.version)
    except InvalidVersion:
        raise UsageError(f"Pipfile.lock pins `{wanted.name}` to an invalid version") from None
    mismatched: list[str] = []
    for source in sources:
        page = client.project_page(
            source, routes.url(source), wanted.name, max_age=0.0 if refresh else None
        )
        if page is None:
            continue
        best = best_file(page.release(version), wanted.name, hashes, target, mismatched)
        if best is not None:
            return Choice(wanted, source, best, hashes, requested)
    where = ", ".join(f"`{s.name}` ({shown_url(s.url)})" for s in sources)
    if mismatched:
        raise HashMismatch(
            f"no file of `{wanted.name}` {wanted.version} on {where} has a sha256 that "
            f"Pipfile.lock allows (seen: {', '.join(sorted(set(mismatched))[:4])})",
            hint="if the files were replaced on purpose run `pipfence lock`; otherwise the index "
            "serves something other than what was locked",
        )
    raise InstallError(
        f"`{wanted.name}` {wanted.version} has no file for this platform on {where}",
        hint="check the lock was made for this platform's Python, or run `pipfence lock`",
    )


def best_file(
    files: Iterable[DistFile],
    name: NormalizedName,
    hashes: frozenset[str],
    target: Target,
    mismatched: list[str],
) -> DistFile | None:
    """The file of ``files`` that fits ``target`` best (wheels by tag rank, then the sdist)
    among those whose sha256 the lock allows; the names of files refused for their sha256 are
    added to ``mismatched``."""
    best: tuple[int, DistFile] | None = None
    for file in files:
        parsed = parse_filename(file.filename, name)
        if parsed is None or parsed[0] != name:
            continue
        if file.sha256 and file.sha256.lower() not in hashes:
            mismatched.append(file.filename)
            continue
        rank = install_rank(parsed[2], target)
        if rank is None:
            continue
        if best is None or rank < best[0]:
            best = (rank, file)
    return None if best is None else best[1]


def page_listing(
    client: IndexClient, routes: Routes, source: Source, name: NormalizedName
) -> Listing | None:
    page = client.project_page(source, routes.url(source), name)
    return Listing(page.releases) if page is not None else None


def from_unpacked_cache(
    cache: UnpackedCache,
    wanted: WantedDist,
    package: LockedPackage,
    target: Target,
    requested: bool,
    *,
    granted: Callable[[WantedDist, str], Source | None],
    checked: bool = True,
) -> tuple[Choice, Path] | None:
    """A wheel of ``wanted`` whose sha256 the lock allows and that is unpacked in the cache
    already, fit for ``target``: installed from there with no page lookup or download (the
    cache is keyed by the digest a verified download had). Only when ``granted`` names the
    source whose cached download of that digest this run may use: a wheel a source served
    to other credentials than the ones this run has is fetched (and so authorised) again.
    An entry whose files changed since they were written is unpacked again from its kept
    wheel (sha256 checked) first; without ``checked``, the entry is taken as it is, for the
    caller to check."""
    for digest in sorted(AllowedHashes.of(package.hashes).digests):
        unpacked = cache.verified(digest) if checked else cache.get(digest)
        if unpacked is None:
            continue
        parsed = parse_filename(unpacked.info.filename)
        if (
            parsed is None
            or parsed[0] != wanted.name
            or str(parsed[1]) != str(Version(wanted.version))
            or parsed[2] is None
            or install_rank(parsed[2], target) is None
        ):
            continue
        source = granted(wanted, digest)
        if source is None:
            continue
        file = DistFile(filename=unpacked.info.filename, url="", hashes={"sha256": digest})
        choice = Choice(wanted, source, file, frozenset({digest}), requested)
        return choice, unpacked.wheel
    return None


def wheel_core_metadata(choice: Choice, path: Path, cache: UnpackedCache) -> CoreMetadata | None:
    """A downloaded (or cached) wheel's own METADATA; None when it cannot be read."""
    digest = sha_of(choice)
    unpacked = cache.get(digest) if digest else None
    try:
        if unpacked is not None:
            folder = unpacked.tree / unpacked.info.dist_info
            return CoreMetadata.parse((folder / "METADATA").read_bytes())
        return wheel_metadata(path)
    except (OSError, ValueError, IndexError):
        return None


def sha_of(choice: Choice) -> str | None:
    sha = choice.file.sha256
    return sha.lower() if sha else None
