"""`Http`: the index layer's GET requests, with redirects, credentials, retries and size caps.

Every request of the index layer goes through `Http`. What it guarantees:

- One shared, thread-safe `Transport`: libcurl (`pipfence.index.http.curl`, HTTP/2 multiplexed,
  bodies received in C) when pycurl is installed, else httpx
  (`pipfence.index.http.httpx_transport`).
- Each request's channel is chosen here, the same for both transports: the proxy from
  ``settings.proxies`` (`pipfence.models.proxies`), TLS from `TrustStore` (system store plus
  the user's CAs, the source's own CA and client certificate for its own host, no verification
  for the host of a ``verify_ssl = false`` source).
- URLs handed to the transport never contain user-info: credentials travel only in an
  ``Authorization`` header (`pipfence.index.http.auth`), so no transport message, log line or
  exception can show them. A proxy's credentials appear only in the channel, never in a message.
- Redirects are followed here, at most `ClientSettings.max_redirects`, never from https to
  http, each hop getting only the credentials of its own origin.
- Failures are retried (`pipfence.index.http.retry`) for 429, 5xx, connection errors, timeouts,
  resets and truncated bodies; never for 401, 403 or 404, nor for a host name that does not
  resolve or a TLS failure. What is left becomes an `IndexServerError` naming the source, its
  redacted URL and, when one was used, the proxy and the variable it came from.
- Nothing is read from the environment: proxies, CAs, netrc and keyring are what the caller
  puts in `ClientSettings`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn, Self, TypeVar
from urllib.parse import urljoin

import msgspec
from msgspec.structs import replace

from pipfence.errors import IndexServerError
from pipfence.index.http.auth import Authenticator, Endpoint, Origin, strip_userinfo
from pipfence.index.http.settings import ClientSettings, MiB
from pipfence.index.http.transport import (
    Channel,
    HeaderLookup,
    Response,
    SlowBody,
    Transport,
    TransportError,
    Truncated,
    check_complete,
    content_length,
    paced,
)
from pipfence.models.proxies import Proxy
from pipfence.models.urls import shown_url

if TYPE_CHECKING:
    import httpx

    from pipfence.index.http.curl import CurlTransport
    from pipfence.index.http.httpx_transport import HttpxTransport
    from pipfence.index.http.tls import TrustStore

# The transports, TLS set-up, retry and failure wording are imported when the first request
# is made: a command that sends none (a sync from the cache, a recalled lock) never loads
# ssl, sockets or the HTTP libraries.

__all__ = ["Http", "Reply"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Reply(msgspec.Struct, frozen=True):
    """A response read in full: status, headers, body, and the final credential-free URL."""

    status: int
    headers: HeaderLookup
    body: bytes
    url: str


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
        """``client`` / ``insecure_client`` replace the httpx clients (with and without TLS
        verification; tests pass clients over `httpx.MockTransport`, and then httpx is used).
        ``sleep``, ``rng`` and ``wall_clock`` (only for an HTTP-date ``Retry-After``) are
        injectable for tests."""
        self.settings = settings
        self._lock = threading.Lock()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._wall_clock = wall_clock
        self._auth = Authenticator(settings)
        self._trust_store: TrustStore | None = None
        # Transports are made on first use, so a command that sends no request (a no-op
        # sync) never pays for libcurl, httpx or TLS set-up. libcurl, unless a test passed
        # httpx clients, httpx was asked for, or pycurl is missing (or cannot load).
        self._use_curl = (
            client is None
            and insecure_client is None
            and settings.transport != "httpx"
            and importlib.util.find_spec("pycurl") is not None
        )
        self._curl: CurlTransport | None = None
        self._httpx: HttpxTransport | None = None
        self._httpx_clients = (client, insecure_client)
        self._sent: dict[str, int] = {}

    @property
    def sent(self) -> dict[str, int]:
        """How many requests went to each source (by name) so far, redirects and retries
        included."""
        with self._lock:
            return dict(self._sent)

    def close(self) -> None:
        """Close the transports this object created (not clients passed in)."""
        if self._curl is not None:
            self._curl.close()
            self._curl = None
        if self._httpx is not None:
            self._httpx.close()

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
        from pipfence.index.http.retry import Retry, delay

        attempts = max(1, self.settings.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(
                    endpoint, url, what, headers=headers, accept=accept, consume=consume
                )
            except Retry as retry:
                if attempt == attempts:
                    suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise IndexServerError(
                        f"{retry.message}{suffix}",
                        source=endpoint.name,
                        status=retry.status,
                        hint=retry.hint,
                    ) from retry.__cause__
                self._sleep(
                    delay(
                        attempt,
                        retry.retry_after,
                        backoff=self.settings.backoff,
                        cap=self.settings.max_retry_after,
                        rng=self._rng,
                    )
                )
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
            header = self._auth.authorization(endpoint, url)
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
        from pipfence.index.http.failures import host_of

        return host_of(url) == endpoint.origin.host

    def credentials_origin(self, endpoint: Endpoint) -> str | None:
        """Where the credentials sent to ``endpoint``'s own URL come from (``"the URL"``,
        ``".netrc"``, ``"keyring"``); None when none are sent. Never the secret itself."""
        return self._auth.credentials_origin(endpoint)

    def proxy_for(self, url: str) -> Proxy | None:
        """The proxy a request for ``url`` goes through (None: direct)."""
        return self.settings.proxies.for_url(url)

    def channel(self, endpoint: Endpoint, url: str) -> Channel:
        """How a request for ``url`` on behalf of ``endpoint`` travels: proxy and TLS."""
        from pipfence.index.http.failures import host_of

        own_host = host_of(url) == endpoint.origin.host
        tls = self._trust().tls(
            endpoint.name if own_host else None,
            verify=not self.uses_insecure_client(endpoint, url),
        )
        proxy = self.proxy_for(url)
        return Channel(tls=tls, proxy=proxy.url if proxy is not None else None)

    # --- internals ---------------------------------------------------------------------

    def _trust(self) -> TrustStore:
        """The TLS trust (system store plus the user's), made on first use."""
        with self._lock:
            if self._trust_store is None:
                from pipfence.index.http.tls import TrustStore

                settings = self.settings
                tls = settings.tls
                if settings.ca_bundle is not None:
                    tls = replace(tls, ca_files=(*tls.ca_files, settings.ca_bundle))
                cache = settings.cache_dir
                self._trust_store = TrustStore(tls, cache.parent / "tls" if cache else None)
            return self._trust_store

    def _transport(self) -> Transport:
        """libcurl, made on first use; httpx when libcurl is not to be used or pycurl is
        installed but cannot be loaded."""
        with self._lock:
            if self._curl is None and self._use_curl:
                try:
                    from pipfence.index.http.curl import CurlTransport

                    self._curl = CurlTransport(self.settings)
                except (ImportError, OSError) as exc:
                    _log.debug("pycurl cannot be used (%s); using httpx", exc)
                    self._use_curl = False
            if self._curl is not None:
                return self._curl
            if self._httpx is None:
                from pipfence.index.http.httpx_transport import HttpxTransport

                client, insecure = self._httpx_clients
                self._httpx = HttpxTransport(self.settings, client=client, insecure_client=insecure)
            return self._httpx

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
        from pipfence.index.http.failures import failure, refusal
        from pipfence.index.http.retry import Retry

        proxy: Proxy | None = None
        try:
            response, final_url, proxy = self._open(endpoint, url, what, headers or {})
            try:
                status = response.status_code
                if status in accept:
                    return consume(response, final_url)
                refusal(endpoint, what, response, proxy, self._wall_clock)
            finally:
                response.close()
        except Truncated as exc:
            message = f"the download of {what} from source {endpoint.label} was truncated: {exc}"
            raise Retry(message) from exc
        except SlowBody as exc:
            message = f"source {endpoint.label} timed out for {what}: {exc}"
            raise Retry(message) from exc
        except TransportError as exc:
            failure(endpoint, what, url, exc, proxy or self.proxy_for(url))

    def _open(
        self, endpoint: Endpoint, url: str, what: str, headers: Mapping[str, str]
    ) -> tuple[Response, str, Proxy | None]:
        """Send the GET and follow redirects by hand; the response is open (streaming)."""
        from pipfence.index.http.failures import failure

        url, _ = strip_userinfo(url)
        for _ in range(self.settings.max_redirects + 1):
            request_headers = dict(headers)
            authorization = self._auth.authorization(endpoint, url)
            if authorization is not None:
                request_headers["Authorization"] = authorization
            channel = self.channel(endpoint, url)
            with self._lock:
                self._sent[endpoint.name] = self._sent.get(endpoint.name, 0) + 1
            try:
                response = self._transport().open(url, request_headers, channel)
            except TransportError as exc:
                failure(endpoint, what, url, exc, self.proxy_for(url), answered=False)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or location is None:
                return response, url, self.proxy_for(url)
            response.close()
            url = self._redirect_target(endpoint, what, url, location)
        raise IndexServerError(
            f"source {endpoint.label} redirected more than "
            f"{self.settings.max_redirects} times for {what}",
            source=endpoint.name,
        )

    def _redirect_target(self, endpoint: Endpoint, what: str, url: str, location: str) -> str:
        try:
            target, _ = strip_userinfo(urljoin(url, location.strip()))
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
