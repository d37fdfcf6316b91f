"""Downloading one distribution file, verified while it streams (`Downloader`), and the pieces
the metadata reader shares with it: which endpoint a file is fetched through, the local folder
behind a ``file:`` link, and how many bytes a body may have.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import NoReturn

from pipfence.errors import ArchiveError, HashMismatch, IndexServerError, IntegrityError
from pipfence.index.cache import IndexCache
from pipfence.index.folder import FolderIndex, is_file_url
from pipfence.index.http import (
    ClientSettings,
    Endpoint,
    Http,
    Response,
    check_complete,
    content_length,
    raw_chunks,
)
from pipfence.models.files import DistFile
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url

__all__ = [
    "IDENTITY",
    "Downloader",
    "file_endpoint",
    "local_folder",
    "oversized",
    "size_cap",
]

#: Files are asked for as they are stored: their hash is of those bytes.
IDENTITY = {"Accept-Encoding": "identity"}


class Downloader:
    """`IndexClient.download` and `IndexClient.holds_file`, over the client's `Http` and cache."""

    __slots__ = ("_http", "cache", "settings")

    def __init__(self, http: Http, settings: ClientSettings, cache: IndexCache | None) -> None:
        self._http = http
        self.settings = settings
        self.cache = cache

    def download(
        self,
        source: Source,
        request_url: str,
        file: DistFile,
        dest_dir: Path,
        allowed_sha256: Collection[str] = (),
    ) -> Path:
        """`IndexClient.download`, which documents it."""
        local = is_file_url(file.url)
        label = (
            local_folder(source, request_url, file).label
            if local
            else file_endpoint(source, request_url, file.url).label
        )
        filename = file.filename
        if not filename or filename in {".", ".."} or "/" in filename or "\\" in filename:
            raise ArchiveError(f"source {label} lists a file named {filename!r}")
        allowed = {h.strip().lower().removeprefix("sha256:") for h in allowed_sha256}
        if not allowed and file.sha256:
            allowed = {file.sha256.lower()}
        target = dest_dir / filename
        dest_dir.mkdir(parents=True, exist_ok=True)
        if local:  # read from disk: nothing to cache
            temp, digest = local_folder(source, request_url, file).copy(file, dest_dir)
            return self._verified(label, temp, digest, allowed, target)
        endpoint = file_endpoint(source, request_url, file.url)
        # A file fetched with credentials is reused only for the same credentials, even when
        # the lock's hash would verify it: without them the index would not have served it.
        scope = self._http.credential_scope(endpoint, file.url) if self.cache is not None else None
        if self.cache is not None:
            for digest in sorted(allowed):
                cached = self.cache.load_file(digest, scope)
                if cached is not None:
                    place(cached, target)
                    return target

        def consume(response: Response, _url: str) -> tuple[Path, str]:
            cap = size_cap(self.settings, endpoint, file, response)
            fd, name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
            temp = Path(name)
            hasher = hashlib.sha256()
            received = 0
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in raw_chunks(response, self.settings.read_timeout * 3):
                        received += len(chunk)
                        if received > cap[0]:
                            oversized(endpoint, file, cap)
                        hasher.update(chunk)
                        out.write(chunk)
                check_complete(response, received)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            return temp, hasher.hexdigest()

        temp, digest = self._http.stream(
            endpoint, file.url, what=f"`{filename}`", headers=IDENTITY, consume=consume
        )
        self._verified(endpoint.label, temp, digest, allowed, target)
        if self.cache is not None:
            self.cache.store_file(digest, target, scope)
        return target

    @staticmethod
    def _verified(
        label: str, temp: Path, digest: str, allowed: Collection[str], target: Path
    ) -> Path:
        """Rename ``temp`` to ``target`` when ``digest`` is allowed (or nothing is required);
        else delete it and raise `HashMismatch`."""
        if allowed and digest not in allowed:
            temp.unlink(missing_ok=True)
            expected = ", ".join(f"sha256:{h}" for h in sorted(allowed))
            raise HashMismatch(
                f"`{target.name}` from source {label} has sha256:{digest}, "
                f"which is not among the allowed hashes ({expected})",
                hint="if the file was replaced on purpose, run `pipfence lock` again; "
                "otherwise something altered it between the index and you",
            )
        temp.replace(target)
        return target

    def holds_file(self, source: Source, request_url: str, sha256: str) -> bool:
        """`IndexClient.holds_file`, which documents it."""
        if self.cache is None or is_file_url(request_url):
            return False
        endpoint = Endpoint.of(source, request_url)
        return self.cache.holds_file(sha256.lower(), self._http.credential_scope(endpoint))


def size_cap(
    settings: ClientSettings, endpoint: Endpoint, file: DistFile, response: Response
) -> tuple[int, str]:
    """How many bytes the body of ``file`` may have, and who said so: the project page's
    ``size`` (PEP 700), else the ``Content-Length``, else ``max_download_bytes``. A
    ``Content-Length`` over the page's size or the limit is refused at once."""
    declared = content_length(response)
    if file.size is not None:
        cap = (file.size, "the project page lists")
    elif declared is not None:
        cap = (declared, "its Content-Length announced")
    else:
        cap = (settings.max_download_bytes, "pipfence accepts for one file")
    if declared is not None and declared > min(cap[0], settings.max_download_bytes):
        raise IntegrityError(
            f"`{file.filename}` from source {endpoint.label} is announced as {declared} "
            f"bytes, more than the {cap[0]} bytes {cap[1]}; refusing it"
        )
    return cap


def oversized(endpoint: Endpoint, file: DistFile, cap: tuple[int, str]) -> NoReturn:
    raise IntegrityError(
        f"`{file.filename}` from source {endpoint.label} sent more than the {cap[0]} bytes "
        f"{cap[1]}; the download was stopped there",
        hint="the index serves something other than the file it lists",
    )


def file_endpoint(source: Source, request_url: str, file_url: str) -> Endpoint:
    """The endpoint requests for a file of ``source`` go through. For a ``file:`` source
    whose page links to an http(s) file, the file's own origin, with no credentials."""
    if not is_file_url(request_url):
        return Endpoint.of(source, request_url)
    scheme, _, rest = file_url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2]
    return Endpoint.of(source, f"{scheme}://{host}/")


def local_folder(source: Source, request_url: str, file: DistFile) -> FolderIndex:
    """The folder index a ``file:`` link is read through: only a ``file:`` source's page
    may list one (`parse_project_page` drops them elsewhere); refused otherwise."""
    if not is_file_url(request_url):
        raise IndexServerError(
            f"source `{source.name}` ({shown_url(request_url)}) lists `{file.filename}` "
            "as a local file; only a file: source may",
            source=source.name,
        )
    return FolderIndex(source, request_url)


def place(cached: Path, target: Path) -> None:
    """Put a copy (or hard link) of a cached file at ``target`` atomically."""
    temp_dir = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    temp = temp_dir / target.name
    try:
        try:
            os.link(cached, temp)
        except OSError:
            shutil.copyfile(cached, temp)
        temp.replace(target)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
