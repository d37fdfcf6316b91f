"""The pieces of a project-page exchange that are not the exchange itself (pure): the request
headers (revalidating a cached entry), the digest of an answer as parsing sees it, whether a
page just parsed is the one an entry held, and the errors for an unreadable answer and for a
source whose URL looks wrong. `pipfence.index.client.IndexClient.project_page` uses them."""

from __future__ import annotations

import difflib
from urllib.parse import urlsplit

from pipfence.errors import IndexServerError
from pipfence.index.cache import CachedPage
from pipfence.index.http import Endpoint, Reply
from pipfence.index.page_blob import same_page
from pipfence.models.files import ProjectPage
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source

__all__ = [
    "TYPO_LIKENESS",
    "broken_source",
    "page_headers",
    "sent_digest",
    "unchanged_since",
    "unreadable_page",
]

#: How alike (difflib's ratio) a URL's last path segment and ``simple`` must be to be taken
#: for a typo of it (``simpel``, ``simpl``, ``simple2``).
TYPO_LIKENESS = 0.6


def unreadable_page(endpoint: Endpoint, what: str, problem: str) -> IndexServerError:
    return IndexServerError(
        f"source {endpoint.label} sent an unreadable answer for {what}: {problem}",
        source=endpoint.name,
        hint="check that the source URL is the index's simple API (it often ends in /simple)",
    )


def sent_digest(reply: Reply) -> str:
    from pipfence.index.page_worker import page_digest

    return page_digest(reply.headers.get("content-type") or "", reply.url, reply.body)


def unchanged_since(
    cached: CachedPage | None, known: ProjectPage | None, page: ProjectPage
) -> float | None:
    """``cached.since`` when the page just parsed is the one the cache entry held
    (``known``): an index that does not answer 304 sent the same page again, which is then as
    unchanged as a 304 would say (a remembered lock stays good: `LockMemo`). None (since now)
    for a new page, or when there was no entry."""
    if cached is None or known is None:
        return None
    return cached.since if same_page(known, page) else None


def page_headers(cached: CachedPage | None) -> dict[str, str]:
    """The headers of a project page request: revalidating ``cached`` when there is one."""
    from pipfence.index.simple import ACCEPT

    headers = {"Accept": ACCEPT}
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    return headers


def broken_source(label: str, source: Source, url: str, name: NormalizedName) -> IndexServerError:
    """The error for a project page that is not found on a source whose own index page is
    not found either: the URL is wrong, whatever the package."""
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    hint = "check the source's `url` in the Pipfile"
    likeness = difflib.SequenceMatcher(None, last.lower(), "simple").ratio()
    if last.lower() != "simple" and likeness >= TYPO_LIKENESS:
        hint += f": a typo in `/{last}`? (the simple API is usually at `/simple`)"
    return IndexServerError(
        f"source {label} answered 404 for its own index page, and for the project page of "
        f"`{name}`: the source's URL looks wrong",
        source=source.name,
        status=404,
        hint=hint,
    )
