"""Opens the index client with the project's settings: cache, timeouts, netrc, TLS warnings."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings
from pipfence.models.pipfile import Pipfile
from pipfence.models.urls import shown_url
from pipfence.project.files import require_cache_dir
from pipfence.project.settings import Settings

__all__ = ["client_settings", "open_client"]


def client_settings(settings: Settings, *, fresh: bool = False) -> ClientSettings:
    """The index layer's settings from the environment (``PIPFENCE_TIMEOUT``, ``NETRC``, …).

    ``fresh`` revalidates every project page with the index (a conditional request), for the
    commands whose point is to see new releases: `update`, `upgrade`, `install PKG`.
    """
    env = settings.environ
    base = ClientSettings(cache_dir=settings.cache_dir / "index")
    timeout = settings.timeout
    netrc = (
        Path(env["NETRC"])
        if env.get("NETRC")
        else Path(env.get("HOME", "~")).expanduser() / ".netrc"
    )
    return replace(
        base,
        connect_timeout=timeout or base.connect_timeout,
        read_timeout=timeout or base.read_timeout,
        attempts=settings.retries or base.attempts,
        netrc_path=netrc if netrc.is_file() else None,
        page_max_age=0.0 if fresh else _first(settings.page_max_age, base.page_max_age),
        ca_bundle=Path(bundle) if (bundle := env.get("REQUESTS_CA_BUNDLE")) else None,
        transport="httpx" if env.get("PIPFENCE_HTTP", "").lower() == "httpx" else "auto",
    )


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


@contextlib.contextmanager
def open_client(
    settings: Settings,
    pipfile: Pipfile,
    *,
    clear: bool = False,
    fresh: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Iterator[IndexClient]:
    """An index client for this run; warns once per source that skips TLS verification.
    `UsageError` when the cache folder cannot be written (see `require_cache_dir`)."""
    require_cache_dir(settings.cache_dir)
    client = IndexClient(client_settings(settings, fresh=fresh), clock=time.time)
    try:
        if clear:
            client.clear_cache()
        if warn is not None:
            for source in pipfile.effective_sources:
                url = settings.routes.url(source)
                if IndexClient.skips_tls_verification(source, url):
                    warn(
                        f"source `{source.name}` ({shown_url(url)}) has verify_ssl = false: "
                        "its certificate is not checked"
                    )
        yield client
    finally:
        client.close()
