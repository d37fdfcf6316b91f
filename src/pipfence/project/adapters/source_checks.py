"""`pipfence sources`: does each source answer, and which locked names are exposed to confusion.

`check_sources` sends one GET to each source's root (the simple index's list of projects) with
the index layer's HTTP rules: credentials from the URL or ``.netrc`` only to that source's own
origin, never over plain http to another host, TLS verified unless the source says
``verify_ssl = false``; one attempt, a short timeout. The body is not read.

`audit_exposure` looks at every locked package that comes from a source other than the default
and asks the default source — and PyPI, through the PyPI mirror when one is set — whether a
project of the same name exists there. Such a name is the set-up of dependency confusion: an
installer that looks at both indexes (pip with ``--extra-index-url``, or a Pipfile entry without
``index =``) may take the public one. The fix is the Pipfile line that pins the name. This audit
sends those names to the default source and to PyPI: it is run only when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pipfence.errors import IndexServerError, UsageError
from pipfence.index.folder import FolderIndex, is_file_url
from pipfence.index.http import ClientSettings, Endpoint, Http
from pipfence.models.lockfile import Lockfile, package_source
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import LOCK_CATEGORY, Pipfile
from pipfence.models.sources import PYPI_SOURCE, Source
from pipfence.models.urls import Routes, is_pypi_url, shown_url
from pipfence.project.adapters.fenced_source import PageReader
from pipfence.project.concurrency import worker_pool

__all__ = ["Exposure", "SourceCheck", "audit_exposure", "check_sources", "pin_line"]

_OK = 200
_UNAUTHORIZED = frozenset({401, 403})
_NOT_FOUND = 404
_SERVER_ERROR = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceCheck:
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
            return f"ok (HTTP {self.status})"
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


# -- exposure audit ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Exposure:
    """A locked package from a non-default source, and whether its name exists elsewhere.

    ``on_default`` / ``on_pypi`` are None when that index was not asked (it is the package's
    own, it is the default, or PyPI was left out)."""

    name: str
    categories: tuple[str, ...]
    source: str
    pinned: bool
    on_default: bool | None
    on_pypi: bool | None
    fix: str | None

    @property
    def exposed(self) -> bool:
        """Not pinned: the fence holds only while the default source lacks the name."""
        return not self.pinned

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "categories": list(self.categories),
            "source": self.source,
            "pinned": self.pinned,
            "on_default": self.on_default,
            "on_pypi": self.on_pypi,
            "exposed": self.exposed,
            "fix": self.fix,
        }


def pin_line(name: str, source: str, category: str) -> str:
    """The Pipfile change that pins ``name`` to ``source``, with its table."""
    tables = {v: k for k, v in LOCK_CATEGORY.items()}
    table = tables.get(category, category)
    return f'[{table}] {name} = {{version = "*", index = "{source}"}}'


def audit_exposure(
    client: PageReader,
    pipfile: Pipfile,
    lock: Lockfile,
    *,
    routes: Routes,
    ask_pypi: bool = True,
    on_ask: Callable[[str], None] | None = None,
) -> list[Exposure]:
    """One `Exposure` per locked package whose source is not the lock's default, sorted by
    name. Asks the default source and (``ask_pypi``) PyPI for each such name; raises what
    `IndexClient.project_page` raises when one of them fails (a failed check is no answer).
    """
    sources = lock.meta.sources
    if not sources:
        return []
    default = sources[0]
    pins = {spec.key for _table, spec in pipfile.iter_specs() if spec.index}
    others: dict[NormalizedName, tuple[str, list[str], str]] = {}
    for category, package in lock.packages():
        if not package.is_named:
            continue
        source = package_source(package, lock)
        if source.name == default.name:
            continue
        key = canonical_name(package.name)
        entry = others.setdefault(key, (package.name, [], source.name))
        entry[1].append(category)
    if not others:
        return []
    default_url = routes.url(default)
    pypi = ask_pypi and not is_pypi_url(default.url)
    pypi_url = routes.url(PYPI_SOURCE) if pypi else ""
    if on_ask is not None:
        # The audit is the one command that sends names beyond the fence: say which, where.
        asked = [f"`{default.name}` ({shown_url(default.url)})"]
        if pypi:
            asked.append(f"PyPI ({shown_url(pypi_url)})")
        names = ", ".join(others[key][0] for key in sorted(others))
        on_ask(f"sending to {' and '.join(asked)} the names from other sources: {names}")
    with worker_pool("pipfence-audit", 16) as pool:
        on_default = {
            key: pool.submit(client.project_page, default, default_url, key) for key in others
        }
        on_pypi = (
            {key: pool.submit(client.project_page, PYPI_SOURCE, pypi_url, key) for key in others}
            if pypi
            else {}
        )
        results: list[Exposure] = []
        for key in sorted(others):
            name, categories, source_name = others[key]
            pinned = key in pins
            results.append(
                Exposure(
                    name=name,
                    categories=tuple(categories),
                    source=source_name,
                    pinned=pinned,
                    on_default=on_default[key].result() is not None,
                    on_pypi=(on_pypi[key].result() is not None) if key in on_pypi else None,
                    fix=None if pinned else pin_line(name, source_name, categories[0]),
                )
            )
    return results
