"""Parsing a project page of the simple repository API: PEP 691 JSON and PEP 503 HTML (pure).

Nothing here does I/O. `parse_project_page` turns the bytes an index answered into a
`ProjectPage`; every problem with those bytes is a `ValueError`, which the client reports as an
`IndexServerError` naming the source.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import json
import marshal
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from pipfence.errors import DamagedCache, printable
from pipfence.models.files import DistFile, ProjectPage, Releases, split_sdist_stem, version_of
from pipfence.models.names import NormalizedName, canonical_name

if TYPE_CHECKING:
    from pipfence.index.cache import Blob

__all__ = [
    "ACCEPT",
    "HTML_TYPES",
    "JSON_TYPES",
    "dump_page",
    "load_page",
    "parse_project_page",
]

#: The ``Accept`` header of a project-page request: JSON preferred, HTML as a fallback
#: (PEP 691 §Version + Format Selection).
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)

JSON_TYPES = frozenset(
    {
        "application/vnd.pypi.simple.v1+json",
        "application/vnd.pypi.simple.latest+json",
        # Not a simple-API type, but some servers label PEP 691 bodies with it; the shape is
        # checked all the same.
        "application/json",
    }
)
HTML_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "application/vnd.pypi.simple.v1+html",
        "application/vnd.pypi.simple.latest+html",
    }
)

_SUPPORTED_MAJOR = 1
_WHEEL_PARTS = (5, 6)
_HASH_NAMES = frozenset(hashlib.algorithms_guaranteed)


def parse_project_page(
    body: bytes,
    content_type: str,
    page_url: str,
    *,
    project: str | None = None,
) -> ProjectPage:
    """Parse one project page.

    ``content_type`` is the response's ``Content-Type`` header (parameters such as ``charset``
    allowed). ``page_url`` is the URL the page was finally served from (after redirects, without
    credentials); relative file URLs are resolved against it (or against an HTML ``<base>``).
    ``project`` is the project the page was asked for; when omitted it is taken from the JSON
    ``name`` or the last segment of ``page_url``.

    Files are grouped by version (`ProjectPage.releases`), in page order within a version, and
    a version's files are only made when it is asked for. A file is skipped when its name is not
    a wheel or sdist of the project, when its URL is not http(s) (or ``file:``, on a page that
    was itself read from a ``file:`` URL), or when its filename repeats
    an earlier one. Stored URLs carry neither a fragment nor user-info; hashes come from the
    JSON ``hashes`` or from a URL fragment such as ``#sha256=…`` (PEP 503).

    Raises `ValueError` for a content type that is neither PEP 691 JSON nor HTML, for a JSON
    body that is not the PEP 691 shape, or for an API major version other than 1. Nothing else
    is raised, whatever the input.
    """
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type in JSON_TYPES:
        return _parse_json(body, page_url, project)
    if media_type in HTML_TYPES:
        return _parse_html(_decode(body, params), page_url, project)
    shown = printable(media_type) or "no content type"
    msg = f"the index answered `{shown}`, which is not a simple-API project page"
    raise ValueError(msg)


def _project_name(project: str | None, page_url: str) -> NormalizedName:
    if project is not None:
        return canonical_name(project)
    path = urlsplit(page_url).path.rstrip("/")
    return canonical_name(unquote(path.rpartition("/")[2]))


class _Urls:
    """Resolves file URLs against one page's base: absolute, no fragment, no user-info.

    `urljoin` would dominate the cost of a page with thousands of files, so the common shapes
    (an absolute http(s) URL, a relative path) are resolved here by RFC 3986 §5.2 directly and
    anything unusual goes through `urljoin`.
    """

    def __init__(self, base: str, *, local: bool | None = None) -> None:
        self.base = base
        # A page read from a folder (a ``file:`` source) may list local files; a page from the
        # network never makes pipfence read one, whatever its ``<base>`` says.
        self._local = base[:5].lower() == "file:" if local is None else local
        self._origin: str | None = None
        self._directory = "/"
        try:
            parts = urlsplit(base)
        except ValueError:
            return
        if parts.scheme in {"http", "https"} and parts.netloc and _plain(base):
            self._origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
            self._directory = parts.path.rpartition("/")[0] + "/"

    def resolve(self, url: str) -> tuple[str, str, str] | None:
        """(absolute URL, its last path segment unquoted, fragment), or None when it is not an
        http(s) URL (nor a ``file:`` one, on a page read from a ``file:`` URL)."""
        reference, _, fragment = url.strip().partition("#")
        if reference.startswith(("https://", "http://")) and _plain(reference):
            absolute: str | None = reference
        elif (
            self._origin is not None
            and not reference.startswith("//")
            and _plain(reference)
            and ":" not in reference
            and "?" not in reference
            and reference.rpartition("/")[2] not in {"", ".", ".."}
        ):
            path = reference if reference.startswith("/") else self._directory + reference
            absolute = self._origin + _remove_dot_segments(path)
        else:
            absolute = self._join(reference)
        if absolute is None:
            return None
        path = absolute.partition("?")[0]
        if "://" in path:
            path = path.split("://", 1)[1]
            path = path[path.find("/") :] if "/" in path else ""
        return absolute, unquote(path.rpartition("/")[2]), fragment

    def _join(self, reference: str) -> str | None:
        try:
            parts = urlsplit(urljoin(self.base, reference))
        except ValueError:  # e.g. an unbalanced IPv6 bracket
            return None
        if parts.scheme == "file" and self._local:
            return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            return None
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _plain(url: str) -> bool:
    """Whether ``url`` needs none of the cleaning `urlsplit` does and, when absolute, has a
    host without user-info and no dot segments."""
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        return False
    if url.endswith("?"):
        return False
    if "://" not in url:
        # `urljoin` drops empty segments once it resolves dot segments.
        return "//" not in url
    start = url.index("//") + 2
    end = url.find("/", start)
    if end < 0:
        end = len(url)
    netloc = url[start:end]
    return (
        bool(netloc)
        and not any(c in netloc for c in "@[]?")
        and "/." not in url
        and "//" not in url[end:]
    )


def _plain_absolute(url: str, hosts: dict[str, bool]) -> str | None:
    """``url`` itself when it is an absolute https URL that needs no cleaning (what PyPI and
    most indexes list in JSON pages), else None for `_Urls.resolve` to handle.

    The same checks as `_plain`, without a function call per character class, and with the
    host part judged once per page and host.
    """
    if not url.startswith("https://"):
        return None
    end = url.find("/", 8)
    if end < 0:
        return None
    host = url[8:end]
    ok = hosts.get(host)
    if ok is None:
        ok = bool(host) and not any(c in host for c in "@[]?#\\ ") and host.isascii()
        hosts[host] = ok
    reference = url.partition("#")[0]
    if (
        not ok
        or not url.isascii()
        or not url.isprintable()
        or " " in url
        or "\\" in url
        or "/." in reference
        or "//" in reference[end:]
        or reference.endswith("?")
    ):
        return None
    return url


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path whose last segment is not a dot segment."""
    if "/." not in path:
        return path
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return "/".join(out)


def _fragment_hashes(fragment: str) -> dict[str, str]:
    name, sep, value = fragment.partition("=")
    name = name.strip().lower()
    if sep and name in _HASH_NAMES and value:
        return {name: value.strip().lower()}
    return {}


def _wheel_shape(filename: str) -> bool:
    """Whether a ``.whl`` name has the parts a wheel name has: name-version(-build)?-python-abi-
    platform, none empty, a build tag starting with a digit. Other names pass."""
    if not filename.endswith(".whl"):
        return True
    parts = filename[:-4].split("-")
    return (
        len(parts) in _WHEEL_PARTS
        and (len(parts) == min(_WHEEL_PARTS) or parts[2][:1].isdigit())
        and all(parts)
    )


def _group(
    rows: Iterable[tuple[object, Any]], name: NormalizedName, pack: Callable[[list[Any]], bytes]
) -> dict[str, bytes]:
    """Sort file rows by the version their file names carry; ``rows`` are (file name, row)
    pairs, a row being a PEP 691 file object as JSON bytes or as a dict.

    Only the name is looked at here: one pass that slices each name at its version, then one
    check per distinct ``name-version`` prefix that it is this project's and a valid version.
    ``pack`` makes each group one JSON array (compact, and what the cache stores); `_Builder`
    makes files of it when the version is asked for.
    """
    by_prefix: dict[str, list[Any]] = {}
    for filename, row in rows:
        if type(filename) is not str:
            continue
        if filename.endswith(".whl"):
            first = filename.find("-")
            second = filename.find("-", first + 1) if first > 0 else -1
            if second < 0:
                continue
            prefix = filename[:second]
        elif filename.endswith(".tar.gz"):
            prefix = filename[:-7]
        elif filename.endswith(".zip"):
            prefix = filename[:-4]
        else:
            continue
        group = by_prefix.get(prefix)
        if group is None:
            by_prefix[prefix] = group = []
        group.append(row)
    by_version: dict[str, list[Any]] = {}
    for prefix, group in by_prefix.items():
        version = _version_after(prefix, name)
        if version is None:
            continue
        known = by_version.get(version)
        if known is None:
            by_version[version] = group
        else:
            known.extend(group)
    return {version: pack(group) for version, group in by_version.items()}


def _version_after(prefix: str, name: NormalizedName) -> str | None:
    """The version text of a ``project-version`` file name prefix when the project is
    ``name`` and the version valid, else None."""
    project, dash, version = prefix.rpartition("-")
    if not dash or not project:
        return None
    if canonical_name(project) != name:
        # An sdist's version may hold a `-` (`ibm-db-sa-py3-0.3.1-1`): split where the
        # project's name ends.
        project, version = split_sdist_stem(prefix, name) or (project, version)
        if canonical_name(project) != name:
            return None
    return version if version_of(version) is not None else None


def _pack_raw(rows: list[Any]) -> bytes:
    """JSON objects, each still the bytes the index sent, as one JSON array."""
    return b"[" + b",".join(rows) + b"]"


def _pack_dicts(rows: list[Any]) -> bytes:
    return json.dumps(rows, separators=(",", ":")).encode()


class _Builder:
    """Makes the `DistFile` tuples of one version's rows (see `Releases`).

    Rows are PEP 691 file dicts; the HTML parser writes its links in the same shape. A row is
    skipped when its name is not a well-formed wheel or sdist name, when its URL is not
    http(s), or when its file name repeats an earlier one.
    """

    __slots__ = ("_hosts", "_urls")

    def __init__(self, base: str) -> None:
        self._urls = _Urls(base)
        self._hosts: dict[str, bool] = {}

    @property
    def base(self) -> str:
        return self._urls.base

    def __call__(self, raw: object) -> tuple[DistFile, ...]:
        try:
            rows = json.loads(raw) if isinstance(raw, bytes) else raw
        except (ValueError, RecursionError):
            return ()
        if not isinstance(rows, list):
            return ()
        files: list[DistFile] = []
        seen: set[str] = set()
        for entry in rows:
            if type(entry) is not dict:
                continue
            filename, url = entry.get("filename"), entry.get("url")
            if type(filename) is not str or type(url) is not str:
                continue
            if filename in seen or not _wheel_shape(filename):
                continue
            file = self._file(entry, filename, url)
            if file is not None:
                seen.add(filename)
                files.append(file)
        return tuple(files)

    def _file(self, entry: dict[str, Any], filename: str, url: str) -> DistFile | None:
        absolute = _plain_absolute(url, self._hosts)
        if absolute is not None:
            absolute, _, fragment = absolute.partition("#")
        else:
            cleaned = self._urls.resolve(url)
            if cleaned is None:
                return None
            absolute, _, fragment = cleaned
        hashes = _json_hashes(entry.get("hashes")) or _fragment_hashes(fragment)
        requires_python = entry.get("requires-python")
        if not isinstance(requires_python, str) or not requires_python.strip():
            requires_python = None
        size = entry.get("size")
        uploaded = entry.get("upload-time")
        return DistFile(
            filename=filename,
            url=absolute,
            hashes=hashes,
            requires_python=requires_python.strip() if requires_python else None,
            yanked=_json_yanked(entry.get("yanked")),
            metadata=_json_metadata(entry),
            size=size if type(size) is int and size >= 0 else None,
            upload_time=uploaded if type(uploaded) is str and uploaded.strip() else None,
        )


def _page(
    name: NormalizedName,
    groups: dict[str, bytes],
    base: str,
    versions: tuple[str, ...] = (),
) -> ProjectPage:
    return ProjectPage(name=name, releases=Releases(groups, _Builder(base)), versions=versions)


_BLOB_FORMAT = 5  # 5: an index of the groups, each group read (and checked) when first asked for
_BLOB_MAGIC = b"pipfence-page\n"
_HEAD_LENGTH = struct.Struct("<Q")
_HEAD_DIGEST = 32  # sha256 of the head
_GROUP_DIGEST = 16  # blake2b of each group: a damaged byte is found, cheaply


def dump_page(page: ProjectPage) -> bytes | None:
    """A parsed page as bytes for the cache, or None for a page that was not parsed here (its
    groups are not raw rows). A head (`marshal`, builtin types only: loading it runs no code)
    holds the name, the versions, the etag, the base URL and where each version's group lies
    with its digest; the groups follow, so a reader keeps the file open and reads only the
    groups it is asked for (`load_page`): a 300-project lock's pages hold about 90 MB of
    groups, of which it looks at a few each."""
    releases = page.releases
    if not isinstance(releases, Releases) or not isinstance(releases.build, _Builder):
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
        releases=Releases(_StoredGroups(blob, start, index, name), _Builder(base)),
        versions=tuple(v for v in versions if isinstance(v, str)),
        etag=etag if isinstance(etag, str) else None,
    )


def _group_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_GROUP_DIGEST).digest()


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


# --- PEP 691 JSON -------------------------------------------------------------------------------


def _check_api_version(version: object) -> None:
    if not isinstance(version, str):
        return
    major = version.strip().partition(".")[0]
    if major.isdigit() and int(major) != _SUPPORTED_MAJOR:
        msg = f"the index speaks simple-API version {version}, pipfence understands 1.x"
        raise ValueError(msg)


def _json_hashes(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    if len(value) == 1:
        # The usual shape, {"sha256": "<hex>"}, without the general comprehension.
        ((key, digest),) = value.items()
        if type(key) is str and type(digest) is str:
            digest = digest.strip()
            return {key.lower(): digest.lower()} if digest else {}
    return {
        str(k).lower(): v.strip().lower()
        for k, v in value.items()
        if isinstance(k, str) and isinstance(v, str) and v.strip()
    }


def _json_metadata(entry: Mapping[str, Any]) -> bool | Mapping[str, str]:
    # PEP 714: `core-metadata` replaces `dist-info-metadata`; read the old key only without it.
    value = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    if isinstance(value, Mapping):
        return _json_hashes(value) or True
    return value is True


def _json_yanked(value: object) -> bool | str:
    if isinstance(value, str):
        return value or True
    return value is True


@functools.cache
def _fast_decoders() -> tuple[Any, Any]:
    """msgspec decoders for a well-formed PEP 691 page: one that keeps each file object as the
    bytes it was sent as, one that reads only the file names (imported on first use)."""
    import msgspec  # only commands that read pages pay for it

    # defstruct, not class bodies: this module's annotations are strings that msgspec would
    # have to resolve against module globals, where msgspec is not.
    files = msgspec.defstruct(
        "Files",
        [
            ("files", list[msgspec.Raw]),
            ("name", object, None),
            ("versions", object, None),
            ("meta", object, None),
        ],
    )
    named = msgspec.defstruct("Named", [("filename", object, None)])
    names = msgspec.defstruct("Names", [("files", list[named])])  # type: ignore[valid-type]
    return msgspec.json.Decoder(files), msgspec.json.Decoder(names)


def _parse_json(body: bytes, page_url: str, project: str | None) -> ProjectPage:
    """A PEP 691 page. The common, well-formed page is split into its file objects without
    decoding them (msgspec, two passes in C); any page that pass rejects takes the
    general path below, which checks each part and says what is wrong."""
    raw_decoder, names_decoder = _fast_decoders()
    try:
        page = raw_decoder.decode(body)
        names = names_decoder.decode(body).files
    except (ValueError, RecursionError):
        return _parse_json_slowly(body, page_url, project)
    rows: Iterable[tuple[object, Any]] = zip((n.filename for n in names), page.files, strict=True)
    head = (page.meta, page.name, page.versions)
    return _json_page(head, rows, pack=_pack_raw, page_url=page_url, project=project)


def _parse_json_slowly(body: bytes, page_url: str, project: str | None) -> ProjectPage:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        msg = f"the project page is not valid JSON ({exc})"
        raise ValueError(msg) from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        msg = "the JSON project page lacks a `files` list (PEP 691)"
        raise ValueError(msg)
    rows = ((e.get("filename"), e) for e in data["files"] if type(e) is dict)
    head = (data.get("meta"), data.get("name"), data.get("versions"))
    return _json_page(head, rows, pack=_pack_dicts, page_url=page_url, project=project)


def _json_page(
    head: tuple[object, object, object],
    rows: Iterable[tuple[object, Any]],
    *,
    pack: Callable[[list[Any]], bytes],
    page_url: str,
    project: str | None,
) -> ProjectPage:
    """The page from its decoded parts: ``head`` is its ``meta``, ``name`` and ``versions``."""
    meta, json_name, raw_versions = head
    if isinstance(meta, dict):
        _check_api_version(meta.get("api-version"))
    if project is None and isinstance(json_name, str):
        project = json_name
    name = _project_name(project, page_url)
    versions = (
        tuple(v for v in raw_versions if isinstance(v, str))
        if isinstance(raw_versions, list)
        else ()
    )
    return _page(name, _group(rows, name, pack), page_url, versions)


# --- PEP 503 HTML -------------------------------------------------------------------------------

# A linear scanner rather than html.parser: it is several times faster on pages with thousands of
# links, and a page only needs <a>, <base> and <meta> tags. Attribute values may contain a raw
# `>` inside quotes (some servers do not escape `data-requires-python`); an unclosed quote or tag
# runs to the end of the document, as it does in a browser, which keeps the scan linear.
_TAG_START = re.compile(r"<!--|<(a|base|meta)(?=[\s/>])", re.IGNORECASE)
_ATTRIBUTE = re.compile(
    r"""[\s/]*(?:
        (?P<end>>)
      | (?P<name>[^\s>/][^\s>/=]*)
        (?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>]*)))?
    )""",
    re.VERBOSE,
)


def _decode(body: bytes, params: str) -> str:
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _tags(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(lower-cased tag name, attributes with unescaped values) of each a/base/meta tag."""
    pos = 0
    length = len(text)
    while pos < length:
        start = _TAG_START.search(text, pos)
        if start is None:
            return
        if start.group(1) is None:  # a comment: skip to its end
            end = text.find("-->", start.end())
            if end < 0:
                return
            pos = end + 3
            continue
        tag = start.group(1).lower()
        attributes: dict[str, str] = {}
        pos = start.end()
        while True:
            match = _ATTRIBUTE.match(text, pos)
            if match is None or match.end() == pos:
                # An unclosed quote, or the document ended inside the tag.
                return
            pos = match.end()
            if match.group("end"):
                break
            attr = match.group("name").lower()
            value = match.group("dq")
            if value is None:
                value = match.group("sq")
            if value is None:
                value = match.group("bare") or ""
            attributes.setdefault(attr, html.unescape(value))
        yield tag, attributes


def _html_metadata(attributes: Mapping[str, str]) -> bool | Mapping[str, str]:
    # PEP 714: `data-core-metadata`, else the older `data-dist-info-metadata` (PEP 658).
    value = attributes.get("data-core-metadata")
    if value is None:
        value = attributes.get("data-dist-info-metadata")
    if value is None:
        return False
    value = value.strip()
    if value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    return _fragment_hashes(value) or True


def _parse_html(text: str, page_url: str, project: str | None) -> ProjectPage:
    name = _project_name(project, page_url)
    urls = _Urls(page_url)
    seen_base = False
    rows: list[dict[str, object]] = []
    for tag, attributes in _tags(text):
        if tag == "meta":
            if attributes.get("name", "").lower() == "pypi:repository-version":
                _check_api_version(attributes.get("content"))
            continue
        href = attributes.get("href")
        if href is None:
            continue
        if tag == "base":
            if not seen_base:
                seen_base = True
                with contextlib.suppress(ValueError):
                    urls = _Urls(
                        urljoin(page_url, href.strip()), local=page_url[:5].lower() == "file:"
                    )
            continue
        cleaned = urls.resolve(href)
        if cleaned is None:
            continue
        absolute, filename, fragment = cleaned
        yanked_reason = attributes.get("data-yanked")
        # The row a PEP 691 page would have for this link (see `_Builder`).
        rows.append(
            {
                "filename": filename,
                "url": f"{absolute}#{fragment}" if fragment else absolute,
                "requires-python": attributes.get("data-requires-python"),
                "yanked": False if yanked_reason is None else yanked_reason,
                "core-metadata": _html_metadata(attributes),
                # PEP 700 gives `upload-time` on JSON pages only; an HTML index may give it
                # as `data-upload-time` (for `cool-down-period`).
                "upload-time": attributes.get("data-upload-time"),
            }
        )
    return _page(name, _group(((r["filename"], r) for r in rows), name, _pack_dicts), page_url)
