"""HTTP transfers through libcurl: one multi handle, driven by one I/O thread.

Why it exists: with httpx, every 16 KiB HTTP/2 frame of a project page goes through Python
(frame parsing, flow control, locks), and a cold lock receives tens of megabytes of pages. That
cost sits on the GIL the resolver needs. Here libcurl receives, decrypts, de-frames and (when
asked) decompresses in C, outside the GIL; Python sees a body as a few large chunks.

How it is used: `Http` calls `CurlTransport.open` (the `Transport` protocol) from any thread.
The request is handed to the I/O thread, which adds it to the multi handle; `open` returns once
the response headers are in.
The body is read with `CurlResponse.iter_raw`. A transfer whose reader falls behind by
`_HIGH_WATER` bytes is paused until the reader catches up, so a large download streams to disk
without piling up in memory.

Requests to one host share a connection (HTTP/2 multiplexing, ``PIPEWAIT``); over HTTP/1.1,
extra connections are opened up to the settings' cap and further requests queue in libcurl,
never in a thread holding a connection. Nothing is read from the environment: no proxy
variables (each request's `Channel` sets the proxy, possibly to none, so libcurl and httpx always
agree), no netrc, no curlrc; the CA files and client certificate come with the channel too.
Redirects are not followed here (`Http` follows them), and credentials only travel in the
headers `Http` gives. libcurl's error codes become `TransportError` kinds here.
"""

from __future__ import annotations

import contextlib
import http
import select
import socket
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pycurl

from pipfence.index.http.transport import Channel, ErrorKind, TransportError

if TYPE_CHECKING:
    from pipfence.index.http.settings import ClientSettings

__all__ = ["CurlFailure", "CurlResponse", "CurlTransport", "Headers"]

#: A reader waiting for body bytes is woken once this many have arrived (or the body ended).
_NOTIFY = 256 * 1024
#: A waiting reader gets what has arrived (maybe nothing) at least this often (seconds).
_TICK = 0.5
#: A transfer is paused while this many received bytes wait for their reader.
_HIGH_WATER = 8 * 1024 * 1024
#: libcurl's receive buffer: larger reads mean fewer calls into Python per body.
_BUFFER_SIZE = 512 * 1024
#: CURLOPT_SUPPRESS_CONNECT_HEADERS (pycurl has no name for it): a proxy's answer to CONNECT
#: must not reach the header callback, or its blank line would pass for the end of the headers.
_SUPPRESS_CONNECT_HEADERS = 265
#: How long the I/O thread sleeps when libcurl has no socket to watch yet (seconds).
_IDLE_POLL = 0.05

# libcurl error codes (CURLE_*) by how `Http` treats them.
_KIND_OF_CODE: dict[int, ErrorKind] = {
    5: "proxy",  # COULDNT_RESOLVE_PROXY
    6: "dns",  # COULDNT_RESOLVE_HOST
    7: "connect",  # COULDNT_CONNECT
    8: "broken",  # WEIRD_SERVER_REPLY
    16: "broken",  # HTTP2
    18: "truncated",  # PARTIAL_FILE: fewer bytes than Content-Length
    28: "timeout",  # OPERATION_TIMEDOUT (connect timeout, or the low-speed limit)
    35: "connect",  # SSL_CONNECT_ERROR: a handshake that broke off (a bad certificate is 60)
    52: "broken",  # GOT_NOTHING
    55: "broken",  # SEND_ERROR
    56: "broken",  # RECV_ERROR
    58: "tls",  # SSL_CERTPROBLEM: the client certificate could not be used
    60: "tls",  # PEER_FAILED_VERIFICATION
    77: "tls",  # SSL_CACERT_BADFILE
    83: "tls",  # SSL_ISSUER_ERROR
    90: "tls",  # SSL_PINNEDPUBKEYNOTMATCH
    91: "tls",  # SSL_INVALIDCERTSTATUS
    92: "broken",  # HTTP2_STREAM
}


class CurlFailure(TransportError):
    """A transfer that failed below HTTP: ``kind`` says how `Http` treats it, the message is
    libcurl's (it never contains request headers, so no credentials)."""

    @classmethod
    def of(cls, code: int, message: str, *, proxied: bool = False) -> CurlFailure:
        """The failure for libcurl's ``code``; ``proxied`` when the request went through a
        proxy, so that not reaching the first hop is the proxy's fault."""
        kind = _KIND_OF_CODE.get(code, "other")
        lowered = message.lower()
        if kind in {"connect", "broken"} and "certificate" in lowered:
            # A handshake (or, in TLS 1.3, the first read) that the certificate check ended:
            # the server's, or a client certificate the server asked for.
            kind = "tls"
        if proxied and (kind == "connect" or "connect tunnel" in lowered or "proxy" in lowered):
            kind = "proxy"
        return cls(kind, message or f"libcurl error {code}", code)


class Headers(dict[str, str]):
    """Response headers with lower-case names; lookups ignore case, repeated fields are joined
    with ``", "``."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]  # case-insensitive lookup
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def add(self, name: str, value: str) -> None:
        key = name.strip().lower()
        existing = super().get(key)
        self[key] = value if existing is None else f"{existing}, {value}"


class CurlResponse:
    """One transfer, as its reader sees it. Headers are complete when `CurlTransport.open`
    returns; the body is read once with `iter_raw` (or `iter_bytes`: the same bytes, decoded by
    libcurl when the request let it choose an encoding)."""

    def __init__(self, transport: CurlTransport) -> None:
        self._transport = transport
        self._cond = threading.Condition(threading.Lock())
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._waiting = False
        self._paused = False
        self._ready = False
        self._done = False
        self._closed = False
        self._error: CurlFailure | None = None
        self.proxied = False
        self.handle: pycurl.Curl | None = None
        self.status_code = 0
        self.reason_phrase = ""
        self.headers = Headers()
        self.num_bytes_downloaded = 0
        self.is_stream_consumed = False

    @property
    def content(self) -> bytes:
        msg = "a libcurl response is read with iter_raw()"
        raise RuntimeError(msg)

    # --- called on the I/O thread ------------------------------------------------------------

    def on_header(self, line: bytes) -> None:
        text = line.decode("latin-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            parts = text.split(" ", 2)
            try:
                self.status_code = int(parts[1])
            except (IndexError, ValueError):
                self.status_code = 0
            # HTTP/2 and later send no reason phrase: use the standard one.
            reason = parts[2].strip() if len(parts) > 2 else ""  # noqa: PLR2004
            self.reason_phrase = reason or _phrase(self.status_code)
            self.headers = Headers()
        elif not text:
            if 100 <= self.status_code < 200:  # noqa: PLR2004 - an interim response; the real one follows
                return
            with self._cond:
                self._ready = True
                self._cond.notify_all()
        elif ":" in text:
            name, _, value = text.partition(":")
            self.headers.add(name, value.strip())

    def on_data(self, data: bytes) -> int | None:
        with self._cond:
            if self._closed:
                return 0  # anything but len(data) makes libcurl abort the transfer
            if self._buffered >= _HIGH_WATER:
                self._paused = True
                pause: int = pycurl.WRITEFUNC_PAUSE
                return pause  # libcurl hands the same bytes again on resume
            self._chunks.append(data)
            self._buffered += len(data)
            if self._waiting and self._buffered >= _NOTIFY:
                self._cond.notify_all()
        return None

    def finish(self, error: CurlFailure | None, received: int) -> None:
        with self._cond:
            self._done = True
            self._error = error
            self.num_bytes_downloaded = received
            if error is None:
                self._ready = True
            self._cond.notify_all()

    # --- called by the reader --------------------------------------------------------------

    def wait_ready(self) -> None:
        """Block until the headers are in; raise the transfer's `CurlFailure` if it failed
        before that."""
        with self._cond:
            while not self._ready and not self._done:
                self._cond.wait()
            if not self._ready and self._error is not None:
                raise self._error

    def iter_raw(self) -> Iterator[bytes]:
        """The body in chunks of at least `_NOTIFY` bytes, except that every `_TICK` seconds
        whatever has arrived is handed over, possibly nothing (``b""``): a reader that checks
        the pace of a trickling body (see `pipfence.index.http.transport.paced`) gets to run."""
        while True:
            with self._cond:
                while not self._done and self._buffered < _NOTIFY:
                    self._waiting = True
                    woke = self._cond.wait(_TICK)
                    self._waiting = False
                    if not woke:
                        break
                chunks, self._chunks, self._buffered = self._chunks, [], 0
                resume, self._paused = self._paused, False
                done, error = self._done, self._error
            if resume:
                self._transport.resume(self)
            if chunks:
                yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
            elif done:
                if error is not None:
                    raise error
                return
            else:
                yield b""

    def iter_bytes(self) -> Iterator[bytes]:
        return self.iter_raw()

    def close(self) -> None:
        """Stop reading: a transfer still running is cancelled, its buffered bytes dropped."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            running = not self._done
            self._chunks, self._buffered = [], 0
        if running:
            self._transport.cancel(self)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class CurlTransport:
    """Sends GET requests through one libcurl multi handle on a daemon I/O thread (started
    on first use); safe to call from any number of threads."""

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX)
        self._multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, max(1, settings.max_connections))
        self._inbox: deque[tuple[str, CurlResponse | None]] = deque()
        self._active: dict[pycurl.Curl, CurlResponse] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)  # noqa: FBT003
        self._wake_w.setblocking(False)  # noqa: FBT003

    def open(self, url: str, headers: Mapping[str, str], channel: Channel) -> CurlResponse:
        """Send a GET for ``url`` the way ``channel`` says and return once its headers have
        arrived.

        Raises `CurlFailure` when the transfer fails before that.
        """
        response = CurlResponse(self)
        response.proxied = channel.proxy is not None
        try:
            response.handle = self._easy(response, url, headers, channel)
        except pycurl.error as exc:  # an option libcurl refuses, e.g. a malformed URL
            raise CurlFailure("other", str(exc.args[-1] if exc.args else exc)) from None
        with self._lock:  # posted under the lock: never after "stop"
            if self._closed:
                response.handle.close()
                msg = "the HTTP transport is closed"
                raise CurlFailure("cancelled", msg)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pipfence-curl", daemon=True)
                self._thread.start()
            self._post("add", response)
        response.wait_ready()
        return response

    def resume(self, response: CurlResponse) -> None:
        self._post("resume", response)

    def cancel(self, response: CurlResponse) -> None:
        self._post("cancel", response)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._post("stop", None)
        if thread is not None:
            thread.join(timeout=10)
        if thread is None or not thread.is_alive():
            self._multi.close()
            self._wake_r.close()
            self._wake_w.close()

    # --- internals ---------------------------------------------------------------------------

    def _easy(
        self, response: CurlResponse, url: str, headers: Mapping[str, str], channel: Channel
    ) -> pycurl.Curl:
        settings = self._settings
        easy = pycurl.Curl()
        easy.setopt(pycurl.URL, url)
        easy.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        easy.setopt(pycurl.FOLLOWLOCATION, 0)
        easy.setopt(pycurl.NOSIGNAL, 1)
        # Always set: "" means no proxy, and keeps libcurl from reading *_proxy variables
        # itself (the channel was chosen from them already, with the same rules for httpx).
        easy.setopt(pycurl.PROXY, channel.proxy or "")
        easy.setopt(pycurl.NOPROXY, "")
        easy.setopt(_SUPPRESS_CONNECT_HEADERS, 1)
        easy.setopt(pycurl.USERAGENT, settings.user_agent)
        easy.setopt(
            pycurl.HTTP_VERSION,
            pycurl.CURL_HTTP_VERSION_2TLS if settings.http2 else pycurl.CURL_HTTP_VERSION_1_1,
        )
        easy.setopt(pycurl.PIPEWAIT, 1)
        easy.setopt(pycurl.BUFFERSIZE, _BUFFER_SIZE)
        easy.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(settings.connect_timeout * 1000)))
        # No byte for read_timeout seconds ends the transfer (as a read timeout would).
        easy.setopt(pycurl.LOW_SPEED_LIMIT, 1)
        easy.setopt(pycurl.LOW_SPEED_TIME, max(1, round(settings.read_timeout)))
        if any(name.lower() == "accept-encoding" for name in headers):
            easy.setopt(pycurl.HTTP_CONTENT_DECODING, 0)  # the caller wants the bytes as sent
        else:
            easy.setopt(pycurl.ACCEPT_ENCODING, "")  # every encoding libcurl can decode
        tls = channel.tls
        if tls.verify:
            if tls.cafile is not None:
                easy.setopt(pycurl.CAINFO, tls.cafile)
            if tls.capath is not None:
                easy.setopt(pycurl.CAPATH, tls.capath)
        else:
            easy.setopt(pycurl.SSL_VERIFYPEER, 0)
            easy.setopt(pycurl.SSL_VERIFYHOST, 0)
        if tls.client_cert is not None:
            easy.setopt(pycurl.SSLCERT, tls.client_cert)
            easy.setopt(pycurl.SSLCERTTYPE, "PEM")
            easy.setopt(pycurl.SSLKEY, tls.client_cert)  # one PEM file holds both, as pip's
        easy.setopt(pycurl.HTTPHEADER, [f"{name}: {value}" for name, value in headers.items()])
        easy.setopt(pycurl.HEADERFUNCTION, response.on_header)
        easy.setopt(pycurl.WRITEFUNCTION, response.on_data)
        return easy

    def _post(self, command: str, response: CurlResponse | None) -> None:
        self._inbox.append((command, response))
        # A full socket means a wake-up is already pending; a closed one, that we are closing.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        multi = self._multi
        while self._handle_inbox():
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            self._collect()
            readable: list[int] = []
            writable: list[int] = []
            errors: list[int] = []
            timeout: float | None = None
            if self._active:
                readable, writable, errors = multi.fdset()
                wait_ms = multi.timeout()
                timeout = _IDLE_POLL if wait_ms < 0 else wait_ms / 1000
                if not (readable or writable or errors):
                    timeout = min(timeout, _IDLE_POLL)
            watched: list[socket.socket | int] = [self._wake_r, *readable]
            select.select(watched, writable, errors, timeout)
            with contextlib.suppress(OSError):  # BlockingIOError once the socket is drained
                while self._wake_r.recv(4096):
                    pass

    def _handle_inbox(self) -> bool:
        """Apply what readers asked for; False once the transport is to stop."""
        while self._inbox:
            command, response = self._inbox.popleft()
            if command == "stop":
                closed = CurlFailure("cancelled", "the HTTP transport closed")
                for handle in list(self._active):
                    self._drop(handle, closed)
                for _, waiting in self._inbox:  # added after all, never started
                    if waiting is not None and waiting.handle is not None:
                        waiting.handle.close()
                        waiting.handle = None
                        waiting.finish(closed, 0)
                return False
            if response is None or response.handle is None:
                continue
            handle = response.handle
            if command == "add":
                self._active[handle] = response
                self._multi.add_handle(handle)
            elif command == "resume" and handle in self._active:
                handle.pause(pycurl.PAUSE_CONT)
            elif command == "cancel" and handle in self._active:
                self._drop(handle, CurlFailure("cancelled", "the reader closed the response"))
        return True

    def _collect(self) -> None:
        while True:
            queued, succeeded, failed = self._multi.info_read()
            for handle in succeeded:
                self._drop(handle, None)
            for handle, code, message in failed:
                proxied = handle in self._active and self._active[handle].proxied
                self._drop(handle, CurlFailure.of(code, message, proxied=proxied))
            if not queued:
                return

    def _drop(self, handle: pycurl.Curl, error: CurlFailure | None) -> None:
        response = self._active.pop(handle, None)
        received = int(handle.getinfo(pycurl.SIZE_DOWNLOAD_T))
        self._multi.remove_handle(handle)
        handle.close()
        if response is not None:
            response.handle = None
            response.finish(error, received)
