"""Reading a wheel's core metadata from an index (`MetadataReader`): the PEP 658/714 metadata
file when the page offers one, else HTTP range requests for only the zip's central directory
and METADATA, else the whole wheel; checked against the file's name and version, and cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import tempfile
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

import msgspec

from pipfence.errors import ArchiveError, HashMismatch, IndexServerError, IntegrityError
from pipfence.index.cache import IndexCache, metadata_key
from pipfence.index.downloads import IDENTITY, file_endpoint, local_folder, oversized, size_cap
from pipfence.index.folder import is_file_url
from pipfence.index.http import (
    ClientSettings,
    Endpoint,
    Http,
    Response,
    check_complete,
    raw_chunks,
)
from pipfence.index.metadata import RangeFile, read_wheel_metadata
from pipfence.models.files import CoreMetadata, DistFile, parse_filename
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source

if TYPE_CHECKING:
    from packaging.version import Version

__all__ = ["MetadataReader"]

#: Bytes asked for first when reading a wheel's metadata by ranges: the zip's end record and, for
#: most wheels, its whole central directory.
_TAIL = 64 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)", re.IGNORECASE)


class MetadataReader:
    """`IndexClient.metadata`, over the client's `Http` and cache."""

    __slots__ = ("_http", "cache", "settings")

    def __init__(self, http: Http, settings: ClientSettings, cache: IndexCache | None) -> None:
        self._http = http
        self.settings = settings
        self.cache = cache

    def metadata(self, source: Source, request_url: str, file: DistFile) -> CoreMetadata | None:
        """`IndexClient.metadata`, which documents it."""
        parsed = parse_filename(file.filename)
        if parsed is None or parsed[2] is None:
            return None
        name, version, _tags = parsed
        if is_file_url(file.url):
            folder = local_folder(source, request_url, file)
            on_disk = folder.metadata(file, name, self.settings.max_metadata_bytes)
            return self._checked(folder.label, file, on_disk, name, version)
        endpoint = file_endpoint(source, request_url, file.url)
        dist_sha256 = file.sha256
        keys: list[tuple[str, str | None]] = []
        if self.cache is not None and dist_sha256:
            scope = self._http.credential_scope(endpoint, file.url)
            promised = _metadata_sha256(file)
            if promised is not None:
                keys.append((metadata_key(endpoint.url, scope, dist_sha256, promised), promised))
            keys.append((metadata_key(endpoint.url, scope, dist_sha256, None), None))
            for key, digest in keys:
                data = self.cache.load_metadata(key, digest)
                if data is not None:
                    with contextlib.suppress(IntegrityError):
                        return self._check_metadata(endpoint.label, file, data, name)
        data = self._metadata_file(endpoint, file) if file.has_metadata_file else None
        verified = data is not None and _metadata_sha256(file) is not None
        if data is None:
            data = self._wheel_metadata(endpoint, file, name)
        result = self._checked(endpoint.label, file, data, name, version)
        if self.cache is not None and keys:
            self.cache.store_metadata(keys[0 if verified else -1][0], data)
        return result

    @classmethod
    def _checked(
        cls, label: str, file: DistFile, data: bytes, name: NormalizedName, version: Version
    ) -> CoreMetadata:
        result = cls._check_metadata(label, file, data, name)
        if result.version != version:
            raise IntegrityError(
                f"the metadata of `{file.filename}` from source {label} says version "
                f"{result.version}, not {version}"
            )
        return result

    @staticmethod
    def _check_metadata(
        label: str, file: DistFile, data: bytes, name: NormalizedName
    ) -> CoreMetadata:
        try:
            result = CoreMetadata.parse(data)
        except ValueError as exc:
            raise ArchiveError(
                f"the metadata of `{file.filename}` from source {label} is invalid: {exc}"
            ) from exc
        if result.name != name:
            raise IntegrityError(
                f"the metadata of `{file.filename}` from source {label} names "
                f"the project `{result.name}`, not `{name}`"
            )
        return result

    def _metadata_file(self, endpoint: Endpoint, file: DistFile) -> bytes | None:
        """PEP 658: ``{file.url}.metadata``; None when the index does not have it after all."""
        what = f"the metadata file of `{file.filename}`"
        reply = self._http.get(
            endpoint,
            file.url + ".metadata",
            what=what,
            limit=self.settings.max_metadata_bytes,
            accept=(200, 404),
        )
        if reply.status == 404:  # noqa: PLR2004 - promised but missing: read the wheel instead
            return None
        expected = _metadata_sha256(file)
        if expected:
            got = hashlib.sha256(reply.body).hexdigest()
            if got != expected.lower():
                raise HashMismatch(
                    f"{what} from source {endpoint.label} has sha256 {got}, "
                    f"but the project page lists {expected}"
                )
        return reply.body

    def _wheel_metadata(self, endpoint: Endpoint, file: DistFile, name: NormalizedName) -> bytes:
        what = f"`{file.filename}`"
        tail = self._http.stream(
            endpoint,
            file.url,
            what=what,
            headers={"Range": f"bytes=-{_TAIL}", **IDENTITY},
            accept=(200, 206, 416),
            consume=lambda response, url: self._tail_or_whole(endpoint, file, response, url),
        )
        if tail is None:  # 416, or a 206 we cannot trust: fetch the whole file instead
            tail = self._http.stream(
                endpoint,
                file.url,
                what=what,
                headers=IDENTITY,
                consume=lambda response, _url: self._spool(endpoint, file, response),
            )
        try:
            if isinstance(tail, _Tail):
                url = tail.url
                wheel: IO[bytes] = io.BufferedReader(
                    RangeFile(
                        tail.size,
                        lambda start, end: self._range(endpoint, file, url, start, end),
                        known=[(tail.start, tail.body)],
                    )
                )
            else:
                wheel = tail
            try:
                return read_wheel_metadata(wheel, name=name, limit=self.settings.max_metadata_bytes)
            except ValueError as exc:
                raise ArchiveError(
                    f"`{file.filename}` from source {endpoint.label} is not a usable wheel: {exc}"
                ) from exc
        finally:
            if not isinstance(tail, _Tail):
                tail.close()

    def _tail_or_whole(
        self, endpoint: Endpoint, file: DistFile, response: Response, url: str
    ) -> _Tail | IO[bytes] | None:
        if response.status_code == 200:  # noqa: PLR2004 - Range ignored: this is the whole wheel
            return self._spool(endpoint, file, response)
        if response.status_code != 206:  # noqa: PLR2004
            return None
        span = _content_range(response.headers.get("content-range"))
        body = self._http.read_body(response, endpoint, what=f"`{file.filename}`", limit=_TAIL)
        if span is None or span[0] + len(body) != span[1] or span[1] < len(body):
            return None
        return _Tail(url=url, start=span[0], size=span[1], body=body)

    def _range(self, endpoint: Endpoint, file: DistFile, url: str, start: int, end: int) -> bytes:
        what = f"bytes {start}-{end - 1} of `{file.filename}`"

        def consume(response: Response, _url: str) -> bytes:
            span = _content_range(response.headers.get("content-range"))
            if response.status_code != 206 or span is None or span[0] != start:  # noqa: PLR2004
                raise IndexServerError(
                    f"source {endpoint.label} answered a range request for {what} with "
                    "something else",
                    source=endpoint.name,
                )
            return self._http.read_body(response, endpoint, what=what, limit=end - start)

        return self._http.stream(
            endpoint,
            url,
            what=what,
            headers={"Range": f"bytes={start}-{end - 1}", **IDENTITY},
            accept=(200, 206),
            consume=consume,
        )

    def _spool(self, endpoint: Endpoint, file: DistFile, response: Response) -> IO[bytes]:
        """The whole response body in a temporary file, its sha256 checked against the page."""
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - returned open
            max_size=_SPOOL_IN_MEMORY,
            dir=None if self.settings.temp_dir is None else str(self.settings.temp_dir),
        )
        hasher = hashlib.sha256()
        received = 0
        try:
            cap = size_cap(self.settings, endpoint, file, response)
            for chunk in raw_chunks(response, self.settings.read_timeout * 3):
                received += len(chunk)
                if received > cap[0]:
                    oversized(endpoint, file, cap)
                hasher.update(chunk)
                spool.write(chunk)
            check_complete(response, received)
        except BaseException:
            spool.close()
            raise
        expected = file.sha256
        if expected and hasher.hexdigest() != expected:
            spool.close()
            raise HashMismatch(
                f"`{file.filename}` from source {endpoint.label} has sha256 "
                f"{hasher.hexdigest()}, but the project page lists {expected}"
            )
        if expected and self.cache is not None:
            # Kept as a download is (for the same credentials): installing it asks no more.
            scope = self._http.credential_scope(endpoint, file.url)
            self.cache.store_file_from(expected, spool, scope)
        spool.seek(0)
        return spool


class _Tail(msgspec.Struct, frozen=True):
    """The end of a remote file fetched by a suffix range request."""

    url: str
    start: int
    size: int
    body: bytes


def _metadata_sha256(file: DistFile) -> str | None:
    """The sha256 the page gives for the file's PEP 658/714 metadata file, lower-cased."""
    if not isinstance(file.metadata, Mapping):
        return None
    digest = file.metadata.get("sha256")
    return digest.strip().lower() if digest else None


def _content_range(value: str | None) -> tuple[int, int] | None:
    """(first byte, total size) from ``Content-Range: bytes a-b/total``."""
    if value is None:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last, total = (int(g) for g in match.groups())
    if first > last or last >= total:
        return None
    return first, total
