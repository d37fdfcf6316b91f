"""The seam between the session (`Http`) and the libraries that move bytes.

A `Transport` sends one GET and returns once the response headers are in. It follows no
redirects, adds no credentials (`Http` puts them in the headers it passes), reads nothing from
the environment (the proxy and TLS to use come with each request), and turns every failure of
its library into a `TransportError` of one of a few kinds — the way httpx's own transports map
httpcore's errors — so the session decides retries and messages without knowing the library::

    Http ──open(url, headers, channel)──► Transport ──► libcurl (curl.py)
     ▲                                         │        | httpx (httpx_transport.py)
     └──────── Response | TransportError ◄─────┘

Also here: the response protocol both transports satisfy, and the helpers that read a body.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import msgspec

__all__ = [
    "MIN_RATE",
    "Channel",
    "ErrorKind",
    "HeaderLookup",
    "Response",
    "SlowBody",
    "Tls",
    "Transport",
    "TransportError",
    "Truncated",
    "check_complete",
    "content_length",
    "paced",
    "raw_chunks",
]

#: How a failure below HTTP is treated: ``dns`` the host name did not resolve; ``connect`` no
#: connection (refused, unreachable); ``proxy`` the proxy could not be reached or refused the
#: request; ``tls`` the certificate (or the client certificate) was not accepted; ``timeout``;
#: ``broken`` the connection broke mid-exchange; ``truncated`` a body shorter than announced;
#: ``cancelled`` the transport or response was closed; ``other`` anything else.
ErrorKind = Literal[
    "dns", "connect", "proxy", "tls", "timeout", "broken", "truncated", "cancelled", "other"
]


class TransportError(Exception):
    """A request that failed below HTTP. The message is the library's, which never holds
    request headers; it may name the proxy's host, never its credentials."""

    def __init__(self, kind: ErrorKind, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.code = code


class Tls(msgspec.Struct, frozen=True):
    """How one request's TLS is set up. ``cafile`` / ``capath`` None leave that part to the
    library's default; ``client_cert`` is a PEM file holding a certificate and its key."""

    verify: bool = True
    cafile: str | None = None
    capath: str | None = None
    client_cert: str | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    """How one request travels: its TLS set-up and the proxy (None: direct). The proxy URL
    may hold credentials; it is never shown."""

    tls: Tls = field(default_factory=Tls)
    proxy: str | None = field(default=None, repr=False)


class HeaderLookup(Protocol):
    """Response headers: case-insensitive lookup (httpx's `Headers`, or libcurl's)."""

    def get(self, key: str, default: None = None) -> str | None: ...

    def __contains__(self, key: object, /) -> bool: ...


class Response(Protocol):
    """An open response as `Http.stream`'s ``consume`` sees it, from either transport."""

    @property
    def status_code(self) -> int: ...
    @property
    def reason_phrase(self) -> str: ...
    @property
    def headers(self) -> HeaderLookup: ...
    @property
    def num_bytes_downloaded(self) -> int: ...
    @property
    def is_stream_consumed(self) -> bool: ...
    @property
    def content(self) -> bytes: ...
    def iter_bytes(self) -> Iterator[bytes]: ...
    def iter_raw(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class Transport(Protocol):
    """Sends GET requests; safe to call from many threads at once."""

    def open(self, url: str, headers: Mapping[str, str], channel: Channel) -> Response:
        """Send a GET for ``url`` (no user-info) and return once the headers are in; raise
        `TransportError` when it fails before that. Reading the body may raise
        `TransportError` (``broken``, ``truncated``, ``timeout``) too."""
        ...

    def close(self) -> None:
        """Release connections; responses still open may fail."""
        ...


class SlowBody(Exception):
    """A body arriving slower than `MIN_RATE` once its grace period is over: retried."""


class Truncated(Exception):
    """A body shorter than its ``Content-Length``: retried, then reported."""

    def __init__(self, received: int, expected: int) -> None:
        super().__init__(f"received {received} of {expected} bytes")
        self.received = received
        self.expected = expected


def content_length(response: Response) -> int | None:
    """The response's ``Content-Length``; None when it has none (or not a number)."""
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


#: Slowest average a body may arrive at once its grace period is over (bytes a second).
MIN_RATE = 1024


def paced(chunks: Iterator[bytes], grace: float) -> Iterator[bytes]:
    """``chunks``, raising `SlowBody` when, after ``grace`` seconds, the body has
    come in slower than `MIN_RATE` on average. The read timeout catches a silent server;
    this catches one that sends a byte now and then to hold a connection (and a lock) open.
    """
    started = time.monotonic()
    received = 0
    for chunk in chunks:
        received += len(chunk)
        elapsed = time.monotonic() - started
        if elapsed > grace and received < elapsed * MIN_RATE:
            msg = f"the body arrived at {received / elapsed:.0f} bytes/s"
            raise SlowBody(msg)
        yield chunk


def raw_chunks(response: Response, grace: float = 90.0) -> Iterator[bytes]:
    """The body as sent (no ``Content-Encoding`` decoding), chunk by chunk, at a pace of at
    least `MIN_RATE` after ``grace`` seconds.

    A response whose body was already read (an in-memory response from a test transport)
    yields its content at once.
    """
    if response.is_stream_consumed:
        yield response.content
        return
    yield from paced(response.iter_raw(), grace)


def check_complete(response: Response, received: int) -> None:
    """Raise `Truncated` when fewer bytes arrived than ``Content-Length`` promised.

    ``received`` counts the bytes the caller read (raw, or decoded without a
    ``Content-Encoding``); with an encoding the raw count is httpx's.
    """
    declared = content_length(response)
    if declared is None:
        return
    if "content-encoding" in response.headers:
        received = max(received, response.num_bytes_downloaded)
    if received < declared:
        raise Truncated(received, declared)
