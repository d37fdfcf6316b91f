"""A parsed project page as one cache blob, and back (`dump_page`, `load_page`).

A head (`marshal`, builtin types only: loading it runs no code) holds the name, the versions,
the etag, the base URL and where each version's group lies with its digest; the groups follow,
so a reader keeps the file open and reads (and checks) only the groups it is asked for.
"""

from __future__ import annotations

import hashlib
import marshal
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from pipfence.errors import DamagedCache
from pipfence.index.releases import Builder
from pipfence.models.files import ProjectPage, Releases
from pipfence.models.names import NormalizedName

if TYPE_CHECKING:
    from pipfence.index.cache import Blob

__all__ = ["dump_page", "load_page", "same_page"]


# 5: an index of the groups, each group read (and checked) when first asked for; 6: a CRC-32 of
# each group (a cache entry is as much the user's as the files it names, so a keyed or
# cryptographic digest would guard nothing more; CRC-32 finds a damaged byte six times faster).
_BLOB_FORMAT = 6
_BLOB_MAGIC = b"pipfence-page\n"
_HEAD_LENGTH = struct.Struct("<Q")
_HEAD_DIGEST = 32  # sha256 of the head


def dump_page(page: ProjectPage) -> bytes | None:
    """A parsed page as bytes for the cache, or None for a page that was not parsed here (its
    groups are not raw rows). A head (`marshal`, builtin types only: loading it runs no code)
    holds the name, the versions, the etag, the base URL and where each version's group lies
    with its digest; the groups follow, so a reader keeps the file open and reads only the
    groups it is asked for (`load_page`): a 300-project lock's pages hold about 90 MB of
    groups, of which it looks at a few each."""
    releases = page.releases
    if not isinstance(releases, Releases) or not isinstance(releases.build, Builder):
        return None
    index: dict[str, tuple[int, int, bytes]] = {}
    groups: list[bytes] = []
    offset = 0
    for version, group in releases.raw.items():
        data = bytes(group) if isinstance(group, bytes | bytearray | memoryview) else None
        if data is None:
            return None
        index[version] = (offset, len(data), _group_digest(data))
        groups.append(data)
        offset += len(data)
    head = marshal.dumps(
        (_BLOB_FORMAT, str(page.name), list(page.versions), page.etag, releases.build.base, index)
    )
    digest = hashlib.sha256(head).digest()
    return b"".join((_BLOB_MAGIC, _HEAD_LENGTH.pack(len(head)), digest, head, *groups))


def same_page(stored: ProjectPage, fresh: ProjectPage) -> bool:
    """Whether two pages parsed here hold the same: name, versions, etag, base URL and each
    version's rows, in order (all that `dump_page` stores). The values are compared, not two
    dumps: `marshal` may write equal heads as different bytes."""
    old, new = stored.releases, fresh.releases
    if not (
        isinstance(old, Releases)
        and isinstance(new, Releases)
        and isinstance(old.build, Builder)
        and isinstance(new.build, Builder)
    ):
        return False
    if (stored.name, stored.versions, stored.etag, old.build.base) != (
        fresh.name,
        fresh.versions,
        fresh.etag,
        new.build.base,
    ) or list(old.raw) != list(new.raw):
        return False
    return all(_bytes(old.raw[version]) == _bytes(group) for version, group in new.raw.items())


def _bytes(group: object) -> bytes | None:
    return bytes(group) if isinstance(group, bytes | bytearray | memoryview) else None


def load_page(blob: Blob, offset: int = 0) -> ProjectPage | None:
    """The page `dump_page` stored at ``offset`` of ``blob`` (bytes, or the open cache
    file), or None when it is not such a page or its head is damaged. Groups are read from
    ``blob`` when first asked for; a damaged one raises `DamagedCache`."""
    at = offset + len(_BLOB_MAGIC)
    try:
        if blob[offset:at] != _BLOB_MAGIC:
            return None
        (length,) = _HEAD_LENGTH.unpack(blob[at : at + _HEAD_LENGTH.size])
        at += _HEAD_LENGTH.size
        digest = blob[at : at + _HEAD_DIGEST]
        at += _HEAD_DIGEST
        head = blob[at : at + length]
        if len(head) != length or hashlib.sha256(head).digest() != digest:
            return None
        fmt, name, versions, etag, base, index = marshal.loads(head)  # noqa: S302  # builtins only, checked above
    except (ValueError, TypeError, EOFError, struct.error):
        return None
    start = at + length
    if (
        fmt != _BLOB_FORMAT
        or not isinstance(name, str)
        or not isinstance(base, str)
        or not isinstance(index, dict)
        or not isinstance(versions, list)
        or not all(_well_placed(entry, len(blob) - start) for entry in index.values())
    ):
        return None
    return ProjectPage(
        name=NormalizedName(name),
        releases=Releases(_StoredGroups(blob, start, index, name), Builder(base)),
        versions=tuple(v for v in versions if isinstance(v, str)),
        etag=etag if isinstance(etag, str) else None,
    )


def _group_digest(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def _well_placed(entry: object, room: int) -> bool:
    return (
        isinstance(entry, tuple)
        and len(entry) == 3  # noqa: PLR2004
        and type(entry[0]) is int
        and type(entry[1]) is int
        and isinstance(entry[2], bytes)
        and 0 <= entry[0] <= entry[0] + entry[1] <= room
    )


class _StoredGroups(Mapping[str, bytes]):
    """The groups of a stored page, each read from the blob and checked when asked for."""

    __slots__ = ("_blob", "_index", "_name", "_start")

    def __init__(
        self, blob: Blob, start: int, index: dict[str, tuple[int, int, bytes]], name: str
    ) -> None:
        self._blob = blob
        self._start = start
        self._index = index
        self._name = name

    def __getitem__(self, version: str) -> bytes:
        offset, length, digest = self._index[version]
        at = self._start + offset
        data = bytes(self._blob[at : at + length])
        if _group_digest(data) != digest:
            raise DamagedCache(
                f"the cached page of `{self._name}` was changed while pipfence read it",
                hint="run the command again (`pipfence --clear` empties the cache)",
            )
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, version: object) -> bool:
        return version in self._index
