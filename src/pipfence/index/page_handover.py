"""Project pages handed to the page workers (`pipfence.index.page_workers`): the job that asks
a worker to fetch a page, and the page a worker's answer stands for, read back from the cache
entry it wrote. `pipfence.index.client.IndexClient.project_page` uses them."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from pipfence.index.cache import CachedPage, IndexCache
from pipfence.index.http import ClientSettings, Endpoint, Http
from pipfence.index.page_answers import page_headers, unreadable_page
from pipfence.index.page_blob import load_page
from pipfence.models.files import ProjectPage
from pipfence.models.names import NormalizedName

if TYPE_CHECKING:
    from pipfence.index.page_worker import FetchJob, PageAnswer, PageJob

__all__ = ["PARSED_PAGE", "cached_page", "fetch_job", "page_job", "worker_page"]

#: The content type under which the cache stores a page's parsed form.
PARSED_PAGE = "application/x-pipfence-parsed-page"


def cached_page(
    cache: IndexCache | None, url: str, scope: str | None
) -> tuple[CachedPage, ProjectPage] | tuple[None, None]:
    """The cached entry for ``url`` and its page, groups left in the file; (None, None)
    when there is none this client can read."""
    if cache is None:
        return None, None
    entry = cache.open_page(url, scope)
    if entry is None:
        return None, None
    cached, data = entry
    if cached.content_type != PARSED_PAGE:
        return None, None
    known = load_page(data, cached.body_offset)
    return (cached, known) if known is not None else (None, None)


def page_job(
    cache: IndexCache | None, url: str, name: NormalizedName, scope: str | None, entry: CachedPage
) -> PageJob:
    """A job for a page of ``name`` to be stored as ``entry`` under ``url`` and ``scope``;
    the content type and final URL are the answer's (the caller's, or the fetch's)."""
    from pipfence.index.page_worker import PageJob

    return PageJob(
        content_type="",
        final_url=entry.url,
        name=name,
        # absolute: the worker's working folder need not stay ours
        cache_root=None if cache is None else os.path.abspath(cache.root),  # noqa: PTH100
        url=url,
        scope=scope,
        entry=entry,
    )


def fetch_job(
    http: Http,
    cache: IndexCache,
    endpoint: Endpoint,
    url: str,
    *,
    name: NormalizedName,
    scope: str | None,
    now: float,
) -> FetchJob | None:
    """A job asking a worker to fetch the page of ``name`` at ``url`` (no cache entry: an
    unconditional request) and store it; None when the request cannot be handed over (see
    `Http.hand_over`). The request is counted as sent."""
    handed = http.hand_over(endpoint, url, page_headers(None))
    if handed is None:
        return None
    from pipfence.index.page_worker import FetchJob

    request_url, headers, channel = handed
    settings = http.settings
    entry = CachedPage(
        url=request_url, content_type=PARSED_PAGE, body=b"", fetched_at=now, sent=None
    )
    return FetchJob(
        page=page_job(cache, url, name, scope, entry),
        headers=tuple(headers.items()),
        channel=channel,
        settings=ClientSettings(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_connections=settings.max_connections,
            http2=settings.http2,
            user_agent=settings.user_agent,
        ),
        limit=settings.max_page_bytes,
    )


def worker_page(
    cache: IndexCache | None, endpoint: Endpoint, what: str, job: PageJob, answer: PageAnswer
) -> ProjectPage | None:
    """The page a worker's ``answer`` to ``job`` stands for (parsed, and stored with a
    cache, its groups left in the cache file); None when the worker did not make one the
    caller may use (the caller then does the work itself). Raises `IndexServerError` naming
    the source when the answer was no project page."""
    if answer.outcome == "unreadable":
        raise unreadable_page(endpoint, what, answer.text)
    if answer.outcome == "blob":
        page = load_page(answer.data)
        etag = job.entry.etag
    elif answer.outcome == "stored":
        stored, page = cached_page(cache, job.url, job.scope)
        if stored is None or page is None or stored.fetched_at != job.entry.fetched_at:
            return None  # not this very entry (a write that failed left an older one)
        page = dataclasses.replace(page, cached_at=stored.since)
        etag = stored.etag
    else:
        return None
    if page is None or page.name != job.name:
        return None
    return dataclasses.replace(page, etag=etag)
