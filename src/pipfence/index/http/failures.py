"""What a failed request becomes (pure): a transport failure (`failure`) or a refusing status
(`refusal`) turned into a `Retry` or an `IndexServerError` that names the source, says what went
wrong in words a user can act on, and never shows a proxy's credentials.
"""

from collections.abc import Callable
from typing import NoReturn
from urllib.parse import urlsplit

from pipfence.errors import IndexServerError, printable
from pipfence.index.http.auth import Endpoint
from pipfence.index.http.retry import TRY_LATER, Retry, retry_after
from pipfence.index.http.settings import tls_variable
from pipfence.index.http.transport import (
    Response,
    TransportError,
)
from pipfence.models.proxies import Proxy

__all__ = ["failure", "host_of", "refusal"]

_PROXY_AUTH_REQUIRED = 407


def failure(
    endpoint: Endpoint,
    what: str,
    url: str,
    exc: TransportError,
    proxy: Proxy | None,
    *,
    answered: bool = True,
) -> NoReturn:
    """Turn a transport failure into a `Retry` or an `IndexServerError`; ``answered`` is
    False when it came before the response headers."""
    detail = _scrubbed(str(exc), proxy)
    host = host_of(url) or endpoint.origin.host
    via = f" through proxy {proxy.label}" if proxy is not None else ""
    kind = exc.kind
    if kind == "proxy":
        shown = proxy.label if proxy is not None else "the proxy"
        raise Retry(
            f"could not reach source {endpoint.label} for {what} through proxy {shown}: {detail}",
            hint=f"check the proxy in {proxy.variable if proxy else 'the proxy variables'} "
            "(address, port, credentials), or list the index's host in NO_PROXY to "
            "connect directly",
        ) from exc
    if kind == "dns":
        raise IndexServerError(
            f"the host name `{host}` of source {endpoint.label} could not be resolved "
            f"({what}): {detail}",
            source=endpoint.name,
            hint="check the host name in the source's URL for a typo, and the machine's "
            "DNS; behind a proxy, set HTTPS_PROXY / HTTP_PROXY",
        ) from exc
    if kind == "tls":
        raise IndexServerError(
            f"TLS verification failed for source {endpoint.label} ({what}){via}: {detail}",
            source=endpoint.name,
            hint=_tls_hint(endpoint),
        ) from exc
    if kind == "timeout":
        raise Retry(f"source {endpoint.label} timed out for {what}{via}") from exc
    if kind == "connect":
        port = _port(url)
        raise Retry(
            f"could not connect to source {endpoint.label} for {what}{via}: {detail}",
            hint=f"nothing accepted a connection at {host}:{port}; check the source's URL "
            "(host and port), that the index is running, and the proxy variables "
            "(HTTPS_PROXY, HTTP_PROXY, NO_PROXY)",
        ) from exc
    if kind == "truncated":
        message = f"the download of {what} from source {endpoint.label} was truncated: {detail}"
        raise Retry(message) from exc
    if kind == "broken":
        message = f"the connection to source {endpoint.label} broke during {what}: {detail}"
        hint = TRY_LATER
        if not answered and url.lower().startswith("https:"):
            # A TLS 1.3 server that wants a client certificate often just drops the
            # connection after the handshake: the client sees a reset, not an alert.
            hint += (
                "; if this index requires a client certificate, set PIP_CLIENT_CERT or "
                f"{tls_variable('CLIENT_CERT', endpoint.name)} to a PEM file holding the "
                "certificate and its key"
            )
        raise Retry(message, hint=hint) from exc
    raise IndexServerError(
        f"could not fetch {what} from source {endpoint.label}{via}: {detail}",
        source=endpoint.name,
    ) from exc


def refusal(
    endpoint: Endpoint,
    what: str,
    response: Response,
    proxy: Proxy | None,
    wall_clock: Callable[[], float],
) -> NoReturn:
    """Raise what a response with a status nobody accepted means: a `Retry` for 429 and 5xx
    (with its ``Retry-After``, read against ``wall_clock``), else an `IndexServerError`."""
    status = response.status_code
    text = f"HTTP {status} {printable(response.reason_phrase)}".rstrip()
    message = f"source {endpoint.label} answered {text} for {what}"
    if status == _PROXY_AUTH_REQUIRED and proxy is not None:
        raise IndexServerError(
            f"proxy {proxy.label} answered {text} for {what} from source {endpoint.label}",
            source=endpoint.name,
            status=status,
            hint=f"give the proxy's credentials in {proxy.variable} "
            "(http://user:password@host:port)",
        )
    if status in {401, 403}:
        raise IndexServerError(
            message,
            source=endpoint.name,
            status=status,
            hint="check the credentials for this source (in its URL, .netrc or keyring)",
        )
    if status == 429 or status >= 500:  # noqa: PLR2004
        raise Retry(message, status=status, retry_after=retry_after(response.headers, wall_clock))
    raise IndexServerError(message, source=endpoint.name, status=status)


def _tls_hint(endpoint: Endpoint) -> str:
    return (
        "if the server's certificate is signed by your organisation's CA, give pipfence that "
        "CA: SSL_CERT_FILE (or PIP_CERT, REQUESTS_CA_BUNDLE) adds a PEM bundle to the system's "
        f"trust store, {tls_variable('CA_BUNDLE', endpoint.name)} adds one for this source "
        "only; if the server asks for a client certificate, set PIP_CLIENT_CERT or "
        f"{tls_variable('CLIENT_CERT', endpoint.name)}; `verify_ssl = false` on this source "
        "turns checking off, only for a network you trust"
    )


def host_of(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _port(url: str) -> int | str:
    try:
        parts = urlsplit(url)
        return parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return "?"


def _scrubbed(text: str, proxy: Proxy | None) -> str:
    """``text`` without the proxy's user-info, should a library ever quote the proxy URL."""
    if proxy is None:
        return text
    userinfo = urlsplit(proxy.url).netloc.rpartition("@")[0]
    if userinfo:
        text = text.replace(proxy.url, proxy.shown).replace(userinfo, "***")
    return text
