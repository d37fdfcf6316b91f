"""HTTP transfers through httpx: the transport used without pycurl or with ``PIPFENCE_HTTP=httpx``.

One pooled `httpx.Client` per distinct `Channel` (TLS set-up and proxy): a run has a handful
(verified, unverified for a ``verify_ssl = false`` source, one per proxy in use). The clients
read nothing from the environment (``trust_env=False``), follow no redirects, and every httpx
error — when the request is sent and while its body is read — becomes a `TransportError`.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pipfence.index.http.transport import Channel, HeaderLookup, Tls, TransportError

if TYPE_CHECKING:
    import httpx

    from pipfence.index.http.settings import ClientSettings
else:

    class _LazyHttpx:
        """httpx, imported on first use: importing it costs about 0.1 s, which a command that
        sends no request should not pay."""

        def __getattr__(self, name: str) -> Any:
            import httpx as module

            return getattr(module, name)

    httpx = _LazyHttpx()

__all__ = ["HttpxTransport", "build_http_client", "ssl_context"]


def ssl_context(tls: Tls) -> ssl.SSLContext | bool:
    """The `ssl` set-up for ``tls``: False without verification, else a context trusting
    ``cafile`` / ``capath`` (or Python's defaults when neither is given), with the client
    certificate loaded."""
    if not tls.verify and tls.client_cert is None:
        return False
    if tls.cafile is None and tls.capath is None:
        context = ssl.create_default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=tls.cafile, capath=tls.capath)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.client_cert is not None:
        context.load_cert_chain(tls.client_cert)
    return context


def build_http_client(
    settings: ClientSettings, *, verify: bool = True, channel: Channel | None = None
) -> httpx.Client:
    """A pooled client for one channel, shared between threads.

    Redirects are not followed (`Http` follows them) and nothing comes from the environment
    (``trust_env=False``). ``verify`` False is the channel of a ``verify_ssl = false`` source.
    """
    channel = channel or Channel(tls=Tls(verify=verify))
    return httpx.Client(
        http2=settings.http2,
        verify=ssl_context(channel.tls),
        trust_env=False,
        follow_redirects=False,
        proxy=channel.proxy,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.read_timeout * 2,
        ),
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive,
        ),
        headers={"User-Agent": settings.user_agent},
    )


class HttpxTransport:
    """The `Transport` over httpx clients, made on first use per channel.

    ``client`` / ``insecure_client`` replace every client (verified and unverified channels),
    whatever the proxy: tests pass clients over `httpx.MockTransport`.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        client: httpx.Client | None = None,
        insecure_client: httpx.Client | None = None,
    ) -> None:
        self._settings = settings
        self._given = client
        self._given_insecure = insecure_client or client
        self._clients: dict[Channel, httpx.Client] = {}
        self._lock = threading.Lock()

    def open(self, url: str, headers: Mapping[str, str], channel: Channel) -> HttpxResponse:
        try:
            client = self._client(channel)
            request = client.build_request("GET", url, headers=headers)
            response = client.send(request, stream=True, follow_redirects=False)
        except Exception as exc:
            raise _mapped(exc, proxied=channel.proxy is not None) from exc
        return HttpxResponse(response, proxied=channel.proxy is not None)

    def close(self) -> None:
        """Close the clients made here (not those passed in)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client(self, channel: Channel) -> httpx.Client:
        given = self._given if channel.tls.verify else self._given_insecure
        if given is not None:
            return given
        with self._lock:
            client = self._clients.get(channel)
            if client is None:
                client = build_http_client(self._settings, channel=channel)
                self._clients[channel] = client
            return client


class HttpxResponse:
    """An httpx response whose body errors come out as `TransportError`."""

    def __init__(self, response: httpx.Response, *, proxied: bool) -> None:
        self._response = response
        self._proxied = proxied

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def reason_phrase(self) -> str:
        return self._response.reason_phrase

    @property
    def headers(self) -> HeaderLookup:
        return self._response.headers

    @property
    def num_bytes_downloaded(self) -> int:
        return self._response.num_bytes_downloaded

    @property
    def is_stream_consumed(self) -> bool:
        return self._response.is_stream_consumed

    @property
    def content(self) -> bytes:
        return self._response.content

    def iter_bytes(self) -> Iterator[bytes]:
        return self._mapping(self._response.iter_bytes())

    def iter_raw(self) -> Iterator[bytes]:
        return self._mapping(self._response.iter_raw())

    def close(self) -> None:
        self._response.close()

    def _mapping(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from chunks
        except Exception as exc:
            raise _mapped(exc, proxied=self._proxied) from exc


def _mapped(exc: Exception, *, proxied: bool) -> Exception:
    """The `TransportError` for an httpx error; anything else unchanged."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ProxyError):
        return TransportError("proxy", message)
    if isinstance(exc, httpx.TimeoutException):
        return TransportError("timeout", message)
    if isinstance(exc, httpx.ConnectError):
        if _caused_by_tls(exc):
            return TransportError("tls", message)
        if proxied:  # the connection that failed was the one to the proxy
            return TransportError("proxy", message)
        if _caused_by_dns(exc):
            return TransportError("dns", message)
        return TransportError("connect", message)
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
        # In TLS 1.3 a server refuses a missing client certificate after the handshake.
        return TransportError("tls" if _caused_by_tls(exc) else "broken", message)
    if isinstance(exc, (httpx.HTTPError, httpx.InvalidURL)):
        return TransportError("other", message)
    if isinstance(exc, ssl.SSLError):  # a client certificate that cannot be loaded
        return TransportError("tls", message)
    return exc


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def _caused_by_tls(exc: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLError) or "CERTIFICATE" in str(e).upper() for e in _causes(exc))


def _caused_by_dns(exc: BaseException) -> bool:
    return any(
        isinstance(e, socket.gaierror)
        or "name or service not known" in str(e).lower()
        or "name resolution" in str(e).lower()
        or "nodename nor servname" in str(e).lower()
        for e in _causes(exc)
    )
