"""A project page's files, grouped by version and made into `DistFile` objects when asked for
(pure): `group_rows` sorts the rows a parser found by the version their file names carry,
`Builder` turns one version's rows into files (checking names, resolving and cleaning URLs,
reading hashes), `make_page` puts them together as a `ProjectPage`.

The rows are PEP 691 file objects, as JSON bytes or as dicts; the HTML parser writes its links
in the same shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from pipfence.models.files import DistFile, ProjectPage, Releases, split_sdist_stem, version_of
from pipfence.models.names import NormalizedName, canonical_name

__all__ = [
    "Builder",
    "Urls",
    "fragment_hashes",
    "group_rows",
    "make_page",
    "pack_dicts",
    "pack_raw",
]

_WHEEL_PARTS = (5, 6)
_HASH_NAMES = frozenset(hashlib.algorithms_guaranteed)


class Urls:
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
    """``url`` itself when it is an absolute http(s) URL that needs no cleaning (what PyPI
    and most indexes list in JSON pages, and private indexes on plain http), else None for
    `Urls.resolve` to handle.

    The same checks as `_plain`, without a function call per character class, and with the
    host part judged once per page and host.
    """
    if url.startswith("https://"):
        start = 8
    elif url.startswith("http://"):
        start = 7
    else:
        return None
    end = url.find("/", start)
    if end < 0:
        return None
    host = url[start:end]
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


def fragment_hashes(fragment: str) -> dict[str, str]:
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


def group_rows(
    rows: Iterable[tuple[object, Any]], name: NormalizedName, pack: Callable[[list[Any]], bytes]
) -> dict[str, bytes]:
    """Sort file rows by the version their file names carry; ``rows`` are (file name, row)
    pairs, a row being a PEP 691 file object as JSON bytes or as a dict.

    Only the name is looked at here: one pass that slices each name at its version, then one
    check per distinct ``name-version`` prefix that it is this project's and a valid version.
    ``pack`` makes each group one JSON array (compact, and what the cache stores); `Builder`
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


def pack_raw(rows: list[Any]) -> bytes:
    """JSON objects, each still the bytes the index sent, as one JSON array."""
    return b"[" + b",".join(rows) + b"]"


def pack_dicts(rows: list[Any]) -> bytes:
    return json.dumps(rows, separators=(",", ":")).encode()


class Builder:
    """Makes the `DistFile` tuples of one version's rows (see `Releases`).

    Rows are PEP 691 file dicts; the HTML parser writes its links in the same shape. A row is
    skipped when its name is not a well-formed wheel or sdist name, when its URL is not
    http(s), or when its file name repeats an earlier one.
    """

    __slots__ = ("_hosts", "_urls")

    def __init__(self, base: str) -> None:
        self._urls = Urls(base)
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
        hashes = _json_hashes(entry.get("hashes")) or fragment_hashes(fragment)
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


def make_page(
    name: NormalizedName,
    groups: dict[str, bytes],
    base: str,
    versions: tuple[str, ...] = (),
) -> ProjectPage:
    return ProjectPage(name=name, releases=Releases(groups, Builder(base)), versions=versions)


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
