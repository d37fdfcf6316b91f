"""HTTP for the index layer: pooled clients, origin-bound credentials, redirects, retries, caps.

Every request of the index layer goes through `Http`. What it guarantees:

- One shared, thread-safe transport: libcurl (`pipfence.index.curl`, HTTP/2 multiplexed, bodies
  received in C) when pycurl is installed, else an `httpx.Client` (HTTP/2, pooled) for verified
  TLS and a second one used only for the host of a source with ``verify_ssl = false``.
- URLs handed to the transport never contain user-info: credentials travel only in an
  ``Authorization`` header added here, so no transport message, log line or exception can show
  them.
- Credentials from a source URL are sent only to that URL's origin (scheme, host, port);
  `.netrc` credentials (from a path the caller gives) only to the host they are listed for.
  Neither is sent over plain http, except to a loopback host.
- Redirects are followed here, at most `ClientSettings.max_redirects`, never from https to
  http, each hop getting only the credentials of its own origin.
- Failures are retried (bounded, exponential backoff with jitter, ``Retry-After`` honoured up to a
  cap) for 429, 5xx, connection errors, timeouts, resets and truncated bodies; never for 401,
  403 or 404. What is left becomes an `IndexServerError` naming the source and its redacted URL.
- Nothing is read from the environment (``trust_env=False``): proxies, CA bundle and netrc are
  what the caller puts in `ClientSettings`.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import ipaddress
import logging
import netrc
import random
import ssl
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, Self, TypeGuard, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from pipfence.errors import IndexServerError, printable
from pipfence.models.sources import Source
from pipfence.models.urls import shown_url

if TYPE_CHECKING:
    import httpx

    from pipfence.index.curl import CurlFailure, CurlTransport
else:

    class _LazyHttpx:
        """httpx, imported on first use: importing it costs about 0.1 s, which a command that
        sends no request should not pay."""

        def __getattr__(self, name: str) -> Any:
            import httpx as module

            return getattr(module, name)

    httpx = _LazyHttpx()

__all__ = [
    "ClientSettings",
    "Credentials",
    "Endpoint",
    "Http",
    "Origin",
    "Reply",
    "Response",
    "SlowBody",
    "Truncated",
    "build_http_client",
    "check_complete",
    "content_length",
    "raw_chunks",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

MiB = 1024 * 1024
_UNKNOWN = object()
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    """Everything the index layer would otherwise read from the environment.

    ``transport`` is ``"auto"`` (libcurl when pycurl is installed, else httpx) or ``"httpx"``.
    ``cache_dir`` None disables the on-disk cache; ``page_max_age`` is how long (seconds) a
    cached project page is used without asking the index again. ``attempts`` counts the first
    try. ``netrc_path`` None means no netrc. ``ca_bundle`` None means the system's
    certificates (the paths Python's `ssl` uses by default). ``temp_dir`` is where a wheel
    downloaded whole for its metadata is spooled (None: the platform default).
    ``max_download_bytes`` caps a distribution file whose size neither the project page
    (PEP 700 ``size``) nor a ``Content-Length`` gives.
    """

    cache_dir: Path | None = None
    page_max_age: float = 600.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_connections: int = 64
    max_keepalive: int = 32
    attempts: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0
    max_redirects: int = 10
    max_page_bytes: int = 64 * MiB
    max_metadata_bytes: int = 16 * MiB
    max_download_bytes: int = 4096 * MiB
    netrc_path: Path | None = None
    ca_bundle: Path | None = None
    proxy: str | None = None
    http2: bool = True
    user_agent: str = "pipfence"
    keyring: bool = True
    temp_dir: Path | None = None
    transport: str = "auto"


@dataclass(frozen=True, slots=True)
class Origin:
    """RFC 6454 origin: what credentials are bound to."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of an absolute http(s) URL; `ValueError` for anything else."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            msg = "not an absolute http(s) URL"
            raise ValueError(msg)
        return cls(scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme])

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password; neither appears in ``repr``."""

    username: str = field(repr=False)
    password: str = field(repr=False)

    def header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


def _strip_userinfo(url: str) -> tuple[str, Credentials | None]:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=host))
    return clean, Credentials(unquote(username), unquote(password))


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A source as requests see it.

    ``url`` is the request URL without user-info (safe to log and to key a cache by); ``shown``
    is the redacted form used in messages; ``credentials`` came from the URL's user-info.
    """

    name: str
    url: str
    shown: str
    origin: Origin
    credentials: Credentials | None = field(default=None, repr=False)
    verify_tls: bool = True

    @classmethod
    def of(cls, source: Source, request_url: str) -> Endpoint:
        """Build from a source and its expanded request URL (which may hold credentials).

        Raises `IndexServerError` when the URL is not http(s).
        """
        shown = shown_url(request_url)
        try:
            url, credentials = _strip_userinfo(request_url.strip())
            origin = Origin.of(url)
        except ValueError:
            raise IndexServerError(
                f"source `{source.name}` has URL {shown}, which is not an http(s) URL",
                source=source.name,
            ) from None
        return cls(
            name=source.name,
            url=url,
            shown=shown,
            origin=origin,
            credentials=credentials,
            verify_tls=source.verify_ssl,
        )

    @property
    def label(self) -> str:
        """How messages name the source: `` `name` (redacted URL)``."""
        return f"`{self.name}` ({self.shown})"

    @property
    def skips_tls_verification(self) -> bool:
        """Whether requests to this source's host are made without verifying TLS: the caller
        warns about it."""
        return not self.verify_tls and self.origin.scheme == "https"


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


@dataclass(frozen=True, slots=True)
class Reply:
    """A response read in full: status, headers, body, and the final credential-free URL."""

    status: int
    headers: HeaderLookup
    body: bytes
    url: str


class SlowBody(Exception):
    """A body arriving slower than `MIN_RATE` once its grace period is over: retried."""


class Truncated(Exception):
    """A body shorter than its ``Content-Length``: retried, then reported."""

    def __init__(self, received: int, expected: int) -> None:
        super().__init__(f"received {received} of {expected} bytes")
        self.received = received
        self.expected = expected


class _Retry(Exception):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def build_http_client(settings: ClientSettings, *, verify: bool) -> httpx.Client:
    """The pooled client the index layer shares between threads.

    Redirects are not followed (`Http` follows them itself) and nothing comes from the
    environment (``trust_env=False``).
    """
    verify_arg: ssl.SSLContext | bool = False
    if verify:
        # The system's trust store (plus OpenSSL's SSL_CERT_FILE), as pip's truststore and
        # uv's native TLS do: company CAs installed on the machine are trusted.
        cafile = str(settings.ca_bundle) if settings.ca_bundle is not None else None
        verify_arg = ssl.create_default_context(cafile=cafile)
    return httpx.Client(
        http2=settings.http2,
        verify=verify_arg,
        trust_env=False,
        follow_redirects=False,
        proxy=settings.proxy,
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


def _load_netrc(path: Path | None) -> netrc.netrc | None:
    if path is None:
        return None
    try:
        return netrc.netrc(str(path))
    except FileNotFoundError:
        return None
    except (OSError, netrc.NetrcParseError) as exc:
        # A broken netrc must not stop a lock that may not need it; the server's 401 will say so.
        _log.warning("ignoring netrc file %s: %s", path, exc)
        return None


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Http:
    """Sends the index layer's GET requests; safe to use from many threads at once."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        client: httpx.Client | None = None,
        insecure_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``client`` / ``insecure_client`` default to `build_http_client` with and without TLS
        verification; tests pass clients over `httpx.MockTransport`. ``sleep``, ``rng`` and
        ``wall_clock`` (only for an HTTP-date ``Retry-After``) are injectable for tests."""
        self.settings = settings
        self._owned: list[httpx.Client] = []
        self._lock = threading.Lock()
        # Without an insecure client of its own, a client passed in serves both roles (tests).
        # Clients built here are made on first use, so a command that sends no request (a
        # no-op sync) never pays for httpx and TLS set-up.
        self._client: httpx.Client | None = client
        self._insecure_client = insecure_client or client
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._wall_clock = wall_clock
        self._netrc = _load_netrc(settings.netrc_path)
        # libcurl, unless a test passed httpx clients, httpx was asked for, or pycurl is missing
        # (or cannot load: `_transport` then switches to httpx).
        self._use_curl = (
            client is None
            and insecure_client is None
            and settings.transport != "httpx"
            and importlib.util.find_spec("pycurl") is not None
        )
        self._curl: CurlTransport | None = None
        self._keyring_cache: dict[tuple[str, str | None], Credentials | None] = {}
        self._keyring_lock = threading.Lock()
        self._sent: dict[str, int] = {}

    @property
    def sent(self) -> dict[str, int]:
        """How many requests went to each source (by name) so far, redirects and retries
        included."""
        with self._lock:
            return dict(self._sent)

    def close(self) -> None:
        """Close the transport and clients this object created (not those passed in)."""
        if self._curl is not None:
            self._curl.close()
            self._curl = None
        for client in self._owned:
            client.close()
        self._owned.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- public operations ---------------------------------------------------------------

    def get(
        self,
        endpoint: Endpoint,
        url: str,
        *,
        what: str,
        limit: int,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (200,),
    ) -> Reply:
        """GET ``url`` and read the body (at most ``limit`` bytes), with retries.

        Statuses in ``accept`` are returned as replies (their bodies read); every other
        outcome is retried or raised as `IndexServerError`. ``what`` names the thing fetched
        in messages ("the project page of `foo`").
        """

        def read(response: Response, final_url: str) -> Reply:
            body = self.read_body(response, endpoint, what=what, limit=limit)
            return Reply(response.status_code, response.headers, body, final_url)

        return self.stream(endpoint, url, what=what, headers=headers, accept=accept, consume=read)

    def stream(
        self,
        endpoint: Endpoint,
        url: str,
        *,
        what: str,
        consume: Callable[[Response, str], _T],
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (200,),
    ) -> _T:
        """GET ``url`` and hand the open response (status in ``accept``) and its final
        credential-free URL to ``consume``, with retries.

        ``consume`` may be called once per attempt: it must start afresh each time. A transport
        error, `SlowBody` or `Truncated` raised while it reads is retried; anything else it
        raises propagates unchanged.
        """
        attempts = max(1, self.settings.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(
                    endpoint, url, what, headers=headers, accept=accept, consume=consume
                )
            except _Retry as retry:
                if attempt == attempts:
                    suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise IndexServerError(
                        f"{retry.message}{suffix}",
                        source=endpoint.name,
                        status=retry.status,
                        hint="the index may be overloaded or unreachable; try again later",
                    ) from retry.__cause__
                self._sleep(self._delay(attempt, retry.retry_after))
        raise AssertionError  # pragma: no cover - the loop always returns or raises

    def read_body(self, response: Response, endpoint: Endpoint, *, what: str, limit: int) -> bytes:
        """The whole (decoded) body, refusing more than ``limit`` bytes; `Truncated` when
        fewer bytes arrived than ``Content-Length`` promised."""
        declared = content_length(response)
        if declared is not None and declared > limit and "content-encoding" not in response.headers:
            self._too_large(endpoint, what, limit)
        chunks: list[bytes] = []
        total = 0
        for chunk in paced(response.iter_bytes(), self.settings.read_timeout * 3):
            total += len(chunk)
            if total > limit:
                self._too_large(endpoint, what, limit)
            chunks.append(chunk)
        check_complete(response, total)
        return b"".join(chunks)

    def credential_scope(self, endpoint: Endpoint, *urls: str) -> str | None:
        """Who a request to ``endpoint`` (and to ``urls``, e.g. a file on another host) is
        made as: None when no credentials would be sent to any of their origins, else a
        sha256 over each origin and the credentials sent to it.

        It keys cached answers, so that an answer given to one set of credentials is never
        reused for a request made without them or with others (RFC 9111 §3.5). The secret is
        hashed with a fixed prefix and its origin; it is never stored or shown. Raises what a
        request would raise for credentials that may not be sent (plain http).
        """
        parts: set[str] = set()
        for url in (endpoint.url, *urls):
            try:
                origin = Origin.of(url)
            except ValueError:
                continue
            header = self._authorization(endpoint, url)
            if header is not None:
                parts.add(f"{origin.scheme}://{origin.host}:{origin.port}\0{header}")
        if not parts:
            return None
        text = "\0\0".join(["pipfence-credential-scope-v1", *sorted(parts)])
        return hashlib.sha256(text.encode()).hexdigest()

    def uses_insecure_client(self, endpoint: Endpoint, url: str) -> bool:
        """Whether a request for ``url`` on behalf of ``endpoint`` skips TLS verification:
        only for the endpoint's own host, and only when its source says ``verify_ssl = false``."""
        if not endpoint.skips_tls_verification:
            return False
        try:
            return Origin.of(url).host == endpoint.origin.host
        except ValueError:
            return False

    # --- internals ---------------------------------------------------------------------

    def _transport(self) -> CurlTransport | None:
        """The libcurl transport, made on first use; None (and httpx from then on) when pycurl
        is installed but cannot be loaded."""
        with self._lock:
            if self._curl is None and self._use_curl:
                try:
                    from pipfence.index.curl import CurlTransport

                    self._curl = CurlTransport(self.settings)
                except (ImportError, OSError) as exc:
                    _log.debug("pycurl cannot be used (%s); using httpx", exc)
                    self._use_curl = False
            return self._curl

    def _verified(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = build_http_client(self.settings, verify=True)
                self._owned.append(self._client)
            return self._client

    def _insecure(self) -> httpx.Client:
        with self._lock:
            if self._insecure_client is None:
                self._insecure_client = build_http_client(self.settings, verify=False)
                self._owned.append(self._insecure_client)
            return self._insecure_client

    def _too_large(self, endpoint: Endpoint, what: str, limit: int) -> NoReturn:
        raise IndexServerError(
            f"source {endpoint.label} sent more than {limit // MiB} MiB for {what}",
            source=endpoint.name,
            hint="raise the size limit if this index really serves pages this large",
        )

    def _attempt(
        self,
        endpoint: Endpoint,
        url: str,
        what: str,
        *,
        headers: Mapping[str, str] | None,
        accept: Collection[int],
        consume: Callable[[Response, str], _T],
    ) -> _T:
        try:
            response, final_url = self._open(endpoint, url, what, headers or {})
            try:
                status = response.status_code
                if status in accept:
                    return consume(response, final_url)
                self._refuse(endpoint, what, response)
            finally:
                response.close()
        except Truncated as exc:
            message = f"the download of {what} from source {endpoint.label} was truncated: {exc}"
            raise _Retry(message) from exc
        except SlowBody as exc:
            message = f"source {endpoint.label} timed out for {what}: {exc}"
            raise _Retry(message) from exc
        except Exception as exc:
            if _is_curl_failure(exc):
                self._curl_failure(endpoint, what, exc)
            if "httpx" in sys.modules:  # an httpx error can only come from a loaded httpx
                self._httpx_failure(endpoint, what, exc)
            raise

    def _curl_failure(self, endpoint: Endpoint, what: str, exc: CurlFailure) -> NoReturn:
        if exc.kind == "tls":
            raise _tls_failure(endpoint, what, exc) from exc
        if exc.kind == "timeout":
            raise _Retry(f"source {endpoint.label} timed out for {what}") from exc
        if exc.kind == "connect":
            raise _Retry(f"could not connect to source {endpoint.label} for {what}: {exc}") from exc
        if exc.kind == "truncated":
            message = f"the download of {what} from source {endpoint.label} was truncated: {exc}"
            raise _Retry(message) from exc
        if exc.kind == "broken":
            message = f"the connection to source {endpoint.label} broke during {what}: {exc}"
            raise _Retry(message) from exc
        raise IndexServerError(
            f"could not fetch {what} from source {endpoint.label}: {exc}",
            source=endpoint.name,
        ) from exc

    def _httpx_failure(self, endpoint: Endpoint, what: str, error: Exception) -> NoReturn:
        """Map an httpx error to a retry or an `IndexServerError`; re-raise anything else."""
        try:
            raise error
        except httpx.TimeoutException as exc:
            message = f"source {endpoint.label} timed out for {what}"
            raise _Retry(message) from exc
        except httpx.ConnectError as exc:
            if _is_tls_error(exc):
                raise _tls_failure(endpoint, what, exc) from exc
            message = f"could not connect to source {endpoint.label} for {what}: {exc}"
            raise _Retry(message) from exc
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            message = f"the connection to source {endpoint.label} broke during {what}: {exc}"
            raise _Retry(message) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise IndexServerError(
                f"could not fetch {what} from source {endpoint.label}: {exc}",
                source=endpoint.name,
            ) from exc

    def _refuse(self, endpoint: Endpoint, what: str, response: Response) -> NoReturn:
        status = response.status_code
        text = f"HTTP {status} {printable(response.reason_phrase)}".rstrip()
        message = f"source {endpoint.label} answered {text} for {what}"
        if status in {401, 403}:
            raise IndexServerError(
                message,
                source=endpoint.name,
                status=status,
                hint="check the credentials for this source (in its URL, or in .netrc)",
            )
        if status == 429 or status >= 500:  # noqa: PLR2004
            raise _Retry(message, status=status, retry_after=self._retry_after(response))
        raise IndexServerError(message, source=endpoint.name, status=status)

    def _open(
        self, endpoint: Endpoint, url: str, what: str, headers: Mapping[str, str]
    ) -> tuple[Response, str]:
        """Send the GET and follow redirects by hand; the response is open (streaming)."""
        url, _ = _strip_userinfo(url)
        for _ in range(self.settings.max_redirects + 1):
            request_headers = dict(headers)
            authorization = self._authorization(endpoint, url)
            if authorization is not None:
                request_headers["Authorization"] = authorization
            insecure = self.uses_insecure_client(endpoint, url)
            with self._lock:
                self._sent[endpoint.name] = self._sent.get(endpoint.name, 0) + 1
            response = self._send(url, request_headers, insecure=insecure)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or location is None:
                return response, url
            response.close()
            url = self._redirect_target(endpoint, what, url, location)
        raise IndexServerError(
            f"source {endpoint.label} redirected more than "
            f"{self.settings.max_redirects} times for {what}",
            source=endpoint.name,
        )

    def _send(self, url: str, headers: Mapping[str, str], *, insecure: bool) -> Response:
        transport = self._transport() if self._use_curl else None
        if transport is not None:
            return transport.open(url, headers, verify=not insecure)
        client = self._insecure() if insecure else self._verified()
        request = client.build_request("GET", url, headers=headers)
        return client.send(request, stream=True, follow_redirects=False)

    def _redirect_target(self, endpoint: Endpoint, what: str, url: str, location: str) -> str:
        try:
            target, _ = _strip_userinfo(urljoin(url, location.strip()))
            origin = Origin.of(target)
        except ValueError:
            raise IndexServerError(
                f"source {endpoint.label} redirected {what} to an invalid URL",
                source=endpoint.name,
            ) from None
        if url.lower().startswith("https:") and origin.scheme == "http":
            raise IndexServerError(
                f"source {endpoint.label} redirected {what} from https to plain http "
                f"({shown_url(target)}); refusing the downgrade",
                source=endpoint.name,
            )
        return target

    def _authorization(self, endpoint: Endpoint, url: str) -> str | None:
        try:
            origin = Origin.of(url)
        except ValueError:
            return None
        credentials = endpoint.credentials if origin == endpoint.origin else None
        from_url = credentials is not None
        if credentials is None:
            credentials = self._netrc_credentials(origin.host)
        if origin == endpoint.origin and (credentials is None or not credentials.password):
            # A user name without a password (or nothing at all): ask keyring, as pip does.
            credentials = self._keyring_credentials(endpoint, credentials) or credentials
        if credentials is None:
            return None
        if origin.scheme == "http" and not origin.is_loopback:
            if from_url:
                raise IndexServerError(
                    f"source {endpoint.label} has credentials but uses plain http; "
                    "refusing to send them unencrypted",
                    source=endpoint.name,
                    hint="use an https URL for this source",
                )
            return None
        return credentials.header()

    def _keyring_credentials(
        self, endpoint: Endpoint, known: Credentials | None
    ) -> Credentials | None:
        """Credentials for the source's own URL from `keyring`, when it is installed and
        ``settings.keyring`` allows; looked up once per source."""
        if not self.settings.keyring:
            return None
        key = (endpoint.url, known.username if known else None)
        found = self._keyring_cache.get(key, _UNKNOWN)
        if found is not _UNKNOWN:
            return found  # type: ignore[return-value]  # the sentinel was ruled out
        # One lookup at a time: the first requests of a lock start together, and each would
        # otherwise import keyring (or search sys.path for it) and ask its backend.
        with self._keyring_lock:
            if key in self._keyring_cache:
                return self._keyring_cache[key]
            found = None
            try:
                import keyring  # optional, and slow to import
            except ImportError:
                keyring = None
            if keyring is not None:
                try:
                    credential = keyring.get_credential(endpoint.url, key[1])
                except Exception:  # noqa: BLE001  # a broken backend must not break the run
                    credential = None
                if credential is not None and credential.password:
                    found = Credentials(credential.username or key[1] or "", credential.password)
            self._keyring_cache[key] = found
        return found

    def _netrc_credentials(self, host: str) -> Credentials | None:
        # Only an entry for this very host: netrc's `default` entry would send one password
        # to every host a page links to.
        if self._netrc is None or host not in self._netrc.hosts:
            return None
        login, _account, password = self._netrc.hosts[host]
        return Credentials(login or "", password or "")

    def _retry_after(self, response: Response) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when.timestamp() - self._wall_clock())

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.settings.max_retry_after)
        base: float = self.settings.backoff * 2.0 ** (attempt - 1)
        jitter = self._rng.uniform(0, self.settings.backoff)
        return min(base + jitter, self.settings.max_retry_after)


def _tls_failure(endpoint: Endpoint, what: str, exc: Exception) -> IndexServerError:
    return IndexServerError(
        f"TLS verification failed for source {endpoint.label} ({what}): {exc}",
        source=endpoint.name,
        hint="fix the server's certificate or give pipfence its CA bundle; "
        "set `verify_ssl = false` on this source only if you trust the network",
    )


def _is_curl_failure(exc: BaseException) -> TypeGuard[CurlFailure]:
    curl = sys.modules.get("pipfence.index.curl")
    return curl is not None and isinstance(exc, curl.CurlFailure)


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
