"""Parsing a project page of the simple repository API: PEP 691 JSON and PEP 503 HTML (pure).

Nothing here does I/O. `parse_project_page` turns the bytes an index answered into a
`ProjectPage`; every problem with those bytes is a `ValueError`, which the client reports as an
`IndexServerError` naming the source. The files a page lists are grouped by version and made
into `DistFile` objects in `pipfence.index.releases`; the cache stores a parsed page in the form
`pipfence.index.page_blob` gives it.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from pipfence.errors import printable
from pipfence.index.releases import (
    Urls,
    fragment_hashes,
    group_rows,
    make_page,
    pack_dicts,
    pack_raw,
)
from pipfence.models.files import ProjectPage
from pipfence.models.names import NormalizedName, canonical_name

__all__ = [
    "ACCEPT",
    "HTML_TYPES",
    "JSON_TYPES",
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


# --- PEP 691 JSON -------------------------------------------------------------------------------


def _check_api_version(version: object) -> None:
    if not isinstance(version, str):
        return
    major = version.strip().partition(".")[0]
    if major.isdigit() and int(major) != _SUPPORTED_MAJOR:
        msg = f"the index speaks simple-API version {version}, pipfence understands 1.x"
        raise ValueError(msg)


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
    return _json_page(head, rows, pack=pack_raw, page_url=page_url, project=project)


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
    return _json_page(head, rows, pack=pack_dicts, page_url=page_url, project=project)


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
    return make_page(name, group_rows(rows, name, pack), page_url, versions)


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
    return fragment_hashes(value) or True


def _parse_html(text: str, page_url: str, project: str | None) -> ProjectPage:
    name = _project_name(project, page_url)
    urls = Urls(page_url)
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
                    urls = Urls(
                        urljoin(page_url, href.strip()), local=page_url[:5].lower() == "file:"
                    )
            continue
        cleaned = urls.resolve(href)
        if cleaned is None:
            continue
        absolute, filename, fragment = cleaned
        yanked_reason = attributes.get("data-yanked")
        # The row a PEP 691 page would have for this link (see `Builder`).
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
    return make_page(
        name, group_rows(((r["filename"], r) for r in rows), name, pack_dicts), page_url
    )
