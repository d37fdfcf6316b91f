"""HTTP for the index layer: one session over a pluggable transport.

The package, from the bottom up::

    settings.py          ClientSettings, TlsSettings: what the caller decided (no environment)
    transport.py         the Transport protocol, Channel/Tls, TransportError kinds, body helpers
    curl.py              libcurl transport (pycurl)        ─┐ each maps its library's errors
    httpx_transport.py   httpx transport                   ─┘ to TransportError kinds
    tls.py               TrustStore: system CAs plus the user's, client certificates
    auth.py              Endpoint, Origin, Credentials; URL user-info, netrc, keyring
    retry.py             backoff and Retry-After
    failures.py          what a transport failure or a refusing status means, in words
    session.py           Http: channels, redirects, credentials, retries

Every name other modules use is importable from here, and loaded when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipfence._lazy import lazy_exports

if TYPE_CHECKING:
    from pipfence.index.http.auth import Credentials, Endpoint, Origin
    from pipfence.index.http.httpx_transport import build_http_client
    from pipfence.index.http.session import Http, Reply
    from pipfence.index.http.settings import (
        ClientSettings,
        KeyringProvider,
        MiB,
        SourceTls,
        TlsSettings,
        tls_variable,
    )
    from pipfence.index.http.transport import (
        MIN_RATE,
        Channel,
        HeaderLookup,
        Response,
        SlowBody,
        Tls,
        Transport,
        TransportError,
        Truncated,
        check_complete,
        content_length,
        paced,
        raw_chunks,
    )

#: Where each name lives: a module is imported when one of its names is first used, so that
#: reading the cache (a sync with nothing to download) does not load the TLS and HTTP stack.
_HOMES: dict[str, str] = {
    "Channel": "transport",
    "ClientSettings": "settings",
    "Credentials": "auth",
    "Endpoint": "auth",
    "HeaderLookup": "transport",
    "Http": "session",
    "KeyringProvider": "settings",
    "MIN_RATE": "transport",
    "MiB": "settings",
    "Origin": "auth",
    "Reply": "session",
    "Response": "transport",
    "SlowBody": "transport",
    "SourceTls": "settings",
    "Tls": "transport",
    "TlsSettings": "settings",
    "Transport": "transport",
    "TransportError": "transport",
    "Truncated": "transport",
    "build_http_client": "httpx_transport",
    "check_complete": "transport",
    "content_length": "transport",
    "paced": "transport",
    "raw_chunks": "transport",
    "tls_variable": "settings",
}


__getattr__ = lazy_exports(__name__, _HOMES)


__all__ = [
    "MIN_RATE",
    "Channel",
    "ClientSettings",
    "Credentials",
    "Endpoint",
    "HeaderLookup",
    "Http",
    "KeyringProvider",
    "MiB",
    "Origin",
    "Reply",
    "Response",
    "SlowBody",
    "SourceTls",
    "Tls",
    "TlsSettings",
    "Transport",
    "TransportError",
    "Truncated",
    "build_http_client",
    "check_complete",
    "content_length",
    "paced",
    "raw_chunks",
    "tls_variable",
]
