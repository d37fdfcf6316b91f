"""The libcurl transport against a real loopback server: streaming with a bounded buffer,
cancelling, headers, failures as `Http` reports them, and no proxy taken from the environment."""

from __future__ import annotations

import hashlib
import random
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

import pytest

from pipfence.errors import IndexServerError
from pipfence.index.http import Channel, ClientSettings, Endpoint, Http
from pipfence.models.sources import Source

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from support.faultserver import FaultServer

pytestmark = pytest.mark.fast_io  # real loopback servers, openssl for certificates

pycurl = pytest.importorskip("pycurl")

from pipfence.index.http import curl  # noqa: E402 - only with pycurl installed
from support.faultserver import Hang, Reset, Respond, Trickle, Truncate  # noqa: E402
from support.tls import self_signed, tls_server  # noqa: E402

BIG = random.Random(7).randbytes(24 * 1024 * 1024)


def endpoint(server: FaultServer) -> Endpoint:
    source = Source(name="local", url=server.simple_url)
    return Endpoint.of(source, source.url)


def test_http_uses_libcurl_unless_told_otherwise(fault_server: FaultServer) -> None:
    fault_server.route("/simple/", Respond(200, b"ok"))
    with Http(ClientSettings()) as http:
        http.get(endpoint(fault_server), fault_server.simple_url, what="the root", limit=100)
        assert http._curl is not None
    with Http(ClientSettings(transport="httpx")) as http:
        reply = http.get(endpoint(fault_server), fault_server.simple_url, what="the root", limit=9)
        assert http._curl is None
    assert reply.body == b"ok"
    assert [r.header("user-agent") for r in fault_server.requests] == ["pipfence", "pipfence"]


def test_a_slow_reader_pauses_the_transfer_instead_of_buffering_the_body(
    fault_server: FaultServer,
) -> None:
    fault_server.route("/big", Respond(200, BIG, content_type="application/octet-stream"))
    transport = curl.CurlTransport(ClientSettings())
    try:
        response = transport.open(fault_server.url("/big"), {}, Channel())
        assert response.status_code == 200
        assert response.headers.get("Content-Length") == str(len(BIG))
        hasher = hashlib.sha256()
        largest = 0
        for chunk in response.iter_raw():
            time.sleep(0.05)  # the network is far faster than this reader
            largest = max(largest, len(chunk))
            hasher.update(chunk)
        response.close()
    finally:
        transport.close()
    assert hasher.digest() == hashlib.sha256(BIG).digest()
    # Unpaused, everything would pile up while the reader sleeps: one chunk of 24 MiB. Paused,
    # a chunk is at most the high-water mark (8 MiB) plus one libcurl write.
    assert largest <= 9 * 1024 * 1024


def test_closing_a_response_mid_body_cancels_it_and_the_transport_goes_on(
    fault_server: FaultServer,
) -> None:
    fault_server.route("/big", Respond(200, BIG, content_type="application/octet-stream"))
    fault_server.route("/small", Respond(200, b"small", headers={"X-Shape": "Tiny"}))
    transport = curl.CurlTransport(ClientSettings())
    try:
        big = transport.open(fault_server.url("/big"), {}, Channel())
        first = next(big.iter_raw())
        big.close()
        assert 0 < len(first) < len(BIG)
        small = transport.open(fault_server.url("/small"), {"X-Asked": "1"}, Channel())
        assert b"".join(small.iter_raw()) == b"small"
        assert (small.status_code, small.reason_phrase) == (200, "OK")
        assert small.headers.get("x-shape") == small.headers.get("X-SHAPE") == "Tiny"
        assert "content-TYPE" in small.headers
        small.close()
    finally:
        transport.close()
    assert fault_server.requests[-1].header("x-asked") == "1"


def test_open_after_close_is_refused() -> None:
    transport = curl.CurlTransport(ClientSettings())
    transport.close()
    with pytest.raises(curl.CurlFailure) as failure:
        transport.open("http://127.0.0.1:9/", {}, Channel())
    assert failure.value.kind == "cancelled"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (Truncate(b"x" * 5000, sent=100), "was truncated"),
        (Reset(b"x" * 5000, sent=100), "broke during"),
        (Hang(limit=5), "timed out"),
    ],
)
def test_failures_are_retried_then_named_like_httpx_ones(
    fault_server: FaultServer, behaviour: object, message: str
) -> None:
    fault_server.route("/simple/foo/", behaviour)  # type: ignore[arg-type]
    sleeps: list[float] = []
    settings = ClientSettings(read_timeout=1, attempts=2)
    with Http(settings, sleep=sleeps.append) as http, pytest.raises(IndexServerError) as failure:
        http.get(endpoint(fault_server), fault_server.url("/simple/foo/"), what="foo", limit=10**6)
    text = str(failure.value)
    assert message in text
    assert "source `local`" in text
    assert "after 2 attempts" in text
    assert len(sleeps) == 1
    assert fault_server.paths() == ["/simple/foo/", "/simple/foo/"]


def test_refused_connection_names_the_source() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/simple/"
    source = Source(name="gone", url=url)
    with Http(ClientSettings(attempts=1)) as http, pytest.raises(IndexServerError) as failure:
        http.get(Endpoint.of(source, url), url, what="the root", limit=100)
    assert "could not connect to source `gone`" in str(failure.value)


def test_proxy_variables_are_not_read(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fault_server.route("/simple/", Respond(200, b"direct"))
    with Http(ClientSettings(attempts=1)) as http:
        reply = http.get(endpoint(fault_server), fault_server.simple_url, what="the root", limit=99)
    assert reply.body == b"direct"


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        (7, "Failed to connect", "connect"),
        (28, "Operation timed out", "timeout"),
        (60, "SSL certificate problem: self-signed certificate", "tls"),
        (35, "SSL certificate problem: unable to get local issuer", "tls"),
        (35, "OpenSSL SSL_connect: SSL_ERROR_SYSCALL", "connect"),
        (18, "end of response with 10 bytes missing", "truncated"),
        (56, "Recv failure: Connection reset by peer", "broken"),
        (3, "URL rejected", "other"),
    ],
)
def test_libcurl_codes_map_to_how_http_treats_them(code: int, text: str, kind: str) -> None:
    failure = curl.CurlFailure.of(code, text)
    assert failure.kind == kind
    assert str(failure) == text


def test_a_pycurl_that_cannot_load_falls_back_to_httpx(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pipfence.index.http.curl", None)  # import now fails
    fault_server.route("/simple/", Respond(200, b"via httpx"))
    with Http(ClientSettings(attempts=1)) as http:
        reply = http.get(endpoint(fault_server), fault_server.simple_url, what="the root", limit=99)
        assert http._curl is None
    assert reply.body == b"via httpx"


def test_status_lines_without_a_reason_get_the_standard_phrase() -> None:
    transport = curl.CurlTransport(ClientSettings())
    try:
        response = curl.CurlResponse(transport)
        for line in (b"HTTP/1.1 100 Continue\r\n", b"\r\n", b"HTTP/2 404 \r\n"):
            response.on_header(line)
        response.on_header(b"Content-Type: text/html\r\n")
        response.on_header(b"Vary: Accept\r\n")
        response.on_header(b"vary: Accept-Encoding\r\n")
        response.on_header(b"\r\n")
        response.wait_ready()
    finally:
        transport.close()
    assert (response.status_code, response.reason_phrase) == (404, "Not Found")
    assert response.headers.get("VARY") == "Accept, Accept-Encoding"
    assert "content-type" in response.headers


@pytest.fixture
def tls_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An https server on 127.0.0.1 with a self-signed certificate; yields its URL and the
    certificate."""
    cert, key = self_signed(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secure")

        def log_message(self, *args: object) -> None:
            return

    with tls_server(Handler, cert, key) as server:
        yield f"https://127.0.0.1:{server.server_address[1]}/simple/", cert


def test_tls_is_verified_against_the_ca_bundle_unless_the_source_opts_out(
    tls_index: tuple[str, Path],
) -> None:
    url, cert = tls_index
    checked = Source(name="corp", url=url)
    unchecked = Source(name="lab", url=url, verify_ssl=False)
    with Http(ClientSettings(attempts=1)) as http, pytest.raises(IndexServerError) as failure:
        http.get(Endpoint.of(checked, url), url, what="the root", limit=99)
    assert "TLS verification failed for source `corp`" in str(failure.value)
    assert failure.value.hint is not None
    assert "verify_ssl = false" in failure.value.hint
    with Http(ClientSettings(attempts=1, ca_bundle=cert)) as http:
        assert http.get(Endpoint.of(checked, url), url, what="the root", limit=99).body == b"secure"
    with Http(ClientSettings(attempts=1)) as http:
        assert (
            http.get(Endpoint.of(unchecked, url), url, what="the root", limit=99).body == b"secure"
        )


def test_a_trickling_body_reaches_its_reader_in_pieces(fault_server: FaultServer) -> None:
    fault_server.route("/slow", Trickle(b"abcdef", interval=0.3, limit=5))
    transport = curl.CurlTransport(ClientSettings())
    try:
        response = transport.open(fault_server.url("/slow"), {}, Channel())
        pieces = list(response.iter_raw())
        response.close()
    finally:
        transport.close()
    assert b"".join(pieces) == b"abcdef"
    # Without the reader's periodic turn the whole body would come as one piece at the end,
    # and a pace check (`paced`) could never stop a body that trickles forever.
    assert len(pieces) >= 3
