"""`pipfence sources`: does each source answer.

`check_sources` sends one GET to each source's root (the simple index's list of projects) with
the index layer's HTTP rules: credentials from the URL or ``.netrc`` only to that source's own
origin, never over plain http to another host, TLS verified unless the source says
``verify_ssl = false``; one attempt, a short timeout. The body is not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from msgspec.structs import replace

from pipfence.errors import IndexServerError, UsageError
from pipfence.index.folder import FolderIndex, is_file_url
from pipfence.index.http import ClientSettings, Endpoint, Http
from pipfence.models.sources import Source
from pipfence.models.urls import Routes, shown_url
from pipfence.project.concurrency import worker_pool

__all__ = ["SourceCheck", "check_sources"]

_OK = 200
_UNAUTHORIZED = frozenset({401, 403})
_NOT_FOUND = 404
_SERVER_ERROR = 500


class SourceCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One source and how it answered. ``status`` is None when no HTTP answer came."""

    source: Source
    default: bool
    shown_url: str
    mirror: str | None = None
    status: int | None = None
    credentials: str | None = None
    tls: str = ""
    #: The proxy requests to the source go through (redacted, with its variable); None: direct.
    proxy: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Reachable and not refusing: 2xx, or 404 at the root (many private indexes list no
        projects there but serve project pages)."""
        return (
            self.problem is None
            and self.status is not None
            and (
                _OK <= self.status < 300 or self.status == _NOT_FOUND  # noqa: PLR2004
            )
        )

    @property
    def verdict(self) -> str:
        if self.problem is not None:
            return self.problem
        if self.status is None:
            return "no answer"
        if _OK <= self.status < 300:  # noqa: PLR2004
            return f"answered (HTTP {self.status})"
        if self.status == _NOT_FOUND:
            return (
                "reachable, but the root answers HTTP 404 (some indexes list no projects "
                "there; project pages may still work)"
            )
        if self.status in _UNAUTHORIZED:
            what = "were refused" if self.credentials else "are needed"
            return f"refused (HTTP {self.status}): credentials {what}"
        return f"HTTP {self.status}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.source.name,
            "url": self.shown_url,
            "verify_ssl": self.source.verify_ssl,
            "default": self.default,
            "mirror": self.mirror,
            "status": self.status,
            "ok": self.ok,
            "credentials": self.credentials,
            "tls": self.tls,
            "proxy": self.proxy,
            "result": self.verdict,
        }


def check_sources(
    sources: Sequence[Source],
    *,
    routes: Routes,
    settings: ClientSettings,
    timeout: float = 10.0,
    http: Http | None = None,
) -> list[SourceCheck]:
    """GET each source's root once, concurrently; never raises for a source's failure (it is
    reported in its `SourceCheck`). ``http`` is for tests."""
    quick = replace(
        settings, attempts=1, connect_timeout=timeout, read_timeout=timeout, cache_dir=None
    )
    owned = http is None
    client = http or Http(quick)
    try:
        with worker_pool("pipfence-check", 8) as pool:
            futures = [
                pool.submit(
                    _check,
                    client,
                    source,
                    default=position == 0,
                    routes=routes,
                )
                for position, source in enumerate(sources)
            ]
            return [future.result() for future in futures]
    finally:
        if owned:
            client.close()


def _check(
    http: Http,
    source: Source,
    *,
    default: bool,
    routes: Routes,
) -> SourceCheck:
    shown = shown_url(source.url)
    route = routes.route(source)
    mirror = f"{shown_url(route.template)} ({route.via})" if route.mirrored else None
    base = SourceCheck(source=source, default=default, shown_url=shown, mirror=mirror)
    try:
        url = routes.url(source)
        if is_file_url(url):
            # A folder on this machine: nothing is sent, there is only a folder to find.
            if FolderIndex(source, url).exists():
                return replace(base, tls="local folder", status=_OK)
            return replace(base, tls="local folder", problem=f"no folder at {shown}")
        endpoint = Endpoint.of(source, url)
    except (UsageError, IndexServerError) as exc:
        return replace(base, problem=str(exc))
    origin = http.credentials_origin(endpoint)
    credentials = f"from {origin}" if origin is not None else None
    if endpoint.origin.scheme == "http":
        tls = "plain http"
    elif endpoint.skips_tls_verification:
        tls = "not verified (verify_ssl = false)"
    else:
        tls = "verified"
    proxy = http.proxy_for(endpoint.url)
    base = replace(
        base, credentials=credentials, tls=tls, proxy=proxy.label if proxy is not None else None
    )
    root = endpoint.url if endpoint.url.endswith("/") else endpoint.url + "/"
    try:
        status = http.stream(
            endpoint,
            root,
            what="the index root",
            accept=range(100, 600),
            consume=lambda response, _url: response.status_code,
        )
    except IndexServerError as exc:
        return replace(base, problem=f"unreachable: {exc}")
    return replace(base, status=status)
