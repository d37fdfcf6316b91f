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

Every name other modules use is importable from here.
"""

from __future__ import annotations

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
