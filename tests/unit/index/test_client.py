"""IndexClient over httpx.MockTransport: pages, retries, auth, redirects, TLS, caps, metadata, downloads."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import sys
import threading
import types
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pipfence.errors import ArchiveError, HashMismatch, IndexServerError, IntegrityError
from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings
from pipfence.models.files import DistFile
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.sources import Source

JSON = "application/vnd.pypi.simple.v1+json"
SECRET = "hunter2-secret"
PRIVATE = Source(name="private", url="https://${USER}:${TOKEN}@pkgs.example/simple")
PRIVATE_URL = f"https://alice:{SECRET}@pkgs.example/simple"
PUBLIC = Source(name="pypi", url="https://pypi.example/simple")
PUBLIC_URL = "https://pypi.example/simple"
FOO = NormalizedName("foo")

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeIndex:
    """Routes by full URL (without query) to handlers consumed in order; the last repeats."""

    routes: dict[str, list[Handler]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, url: str, *handlers: Handler | httpx.Response) -> None:
        self.routes[url] = [h if callable(h) else _const(h) for h in handlers]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url.copy_with(query=None))
        with self.lock:
            self.requests.append(request)
            queue = self.routes.get(url)
            if not queue:
                return httpx.Response(404)
            handler = queue.pop(0) if len(queue) > 1 else queue[0]
        return handler(request)

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


def _const(response: httpx.Response) -> Handler:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )

    return handler


def json_page(*files: dict[str, object]) -> httpx.Response:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "foo", "files": list(files)})
    return httpx.Response(200, headers={"Content-Type": JSON}, content=body.encode())


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(
    index: FakeIndex,
    sleeps: list[float],
    *,
    insecure: FakeIndex | None = None,
    now: float = 1000.0,
    **settings: object,
) -> IndexClient:
    return IndexClient(
        ClientSettings(**settings),  # type: ignore[arg-type]
        clock=lambda: now,
        client=httpx.Client(transport=httpx.MockTransport(index)),
        insecure_client=httpx.Client(transport=httpx.MockTransport(insecure))
        if insecure is not None
        else None,
        sleep=sleeps.append,
        rng=random.Random(0),
    )


def _no_secret(exc: BaseException) -> None:
    text = f"{exc} {exc.hint if hasattr(exc, 'hint') else ''} {exc!r}"
    assert SECRET not in text
    assert "alice" not in text


# --- project pages ----------------------------------------------------------------------------


def test_project_page_json(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pypi.example/simple/foo/",
        json_page({"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz", "hashes": {}}),
    )
    page = make_client(index, sleeps).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert page is not None
    assert [f.url for f in page.files] == ["https://pypi.example/simple/foo/foo-1.0.tar.gz"]
    (request,) = index.requests
    assert request.headers["accept"].startswith("application/vnd.pypi.simple.v1+json")
    assert "authorization" not in request.headers


def test_404_is_none_without_retry(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(PUBLIC_URL.rstrip("/") + "/", httpx.Response(200, text="<html></html>"))
    client = make_client(index, sleeps)
    assert client.project_page(PUBLIC, PUBLIC_URL, FOO) is None
    assert client.project_page(PUBLIC, PUBLIC_URL, canonical_name("bar")) is None
    # The first 404 looked at the index page once (it names no package), to rule out a bad URL.
    assert [str(r.url) for r in index.requests][1] == PUBLIC_URL.rstrip("/") + "/"
    assert len(index.requests) == 3
    assert sleeps == []


def test_404_on_a_source_whose_own_index_page_is_404_says_to_check_the_url(
    index: FakeIndex, sleeps: list[float]
) -> None:
    source = Source(name="typo", url="https://pkgs.example/simpel")
    with pytest.raises(IndexServerError) as info:
        make_client(index, sleeps).project_page(source, source.url, FOO)
    assert "answered 404 for its own index page" in str(info.value)
    assert "typo in `/simpel`?" in (info.value.hint or "")
    assert info.value.status == 404
    assert [str(r.url) for r in index.requests] == [
        "https://pkgs.example/simpel/foo/",
        "https://pkgs.example/simpel/",
    ]


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refusal_names_source_without_credentials(
    index: FakeIndex, sleeps: list[float], status: int
) -> None:
    index.route("https://pkgs.example/simple/foo/", httpx.Response(status))
    with pytest.raises(IndexServerError) as info:
        make_client(index, sleeps).project_page(PRIVATE, PRIVATE_URL, FOO)
    assert "`private`" in str(info.value)
    assert "https://***@pkgs.example/simple" in str(info.value)
    assert info.value.status == status
    assert info.value.source == "private"
    _no_secret(info.value)
    assert len(index.requests) == 1


def test_retries_5xx_with_backoff(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pypi.example/simple/foo/",
        httpx.Response(503),
        httpx.Response(502),
        json_page(),
    )
    page = make_client(index, sleeps, backoff=0.5).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert page is not None
    assert len(index.requests) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0
    assert 1.0 <= sleeps[1] <= 1.5


def test_retry_after_honoured_and_capped(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pypi.example/simple/foo/",
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": "3600"}),
        json_page(),
    )
    make_client(index, sleeps, max_retry_after=30.0).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert sleeps == [7.0, 30.0]


def test_retry_after_http_date(index: FakeIndex, sleeps: list[float]) -> None:
    # clock is 1000.0 → 1970-01-01 00:16:40 GMT; the date below is 20 s later.
    index.route(
        "https://pypi.example/simple/foo/",
        httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 1970 00:17:00 GMT"}),
        json_page(),
    )
    make_client(index, sleeps).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert sleeps == [20.0]


def test_gives_up_after_bounded_attempts(index: FakeIndex, sleeps: list[float]) -> None:
    index.route("https://pypi.example/simple/foo/", httpx.Response(500))
    with pytest.raises(IndexServerError, match=r"HTTP 500.*after 3 attempts") as info:
        make_client(index, sleeps).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert info.value.status == 500
    assert len(index.requests) == 3


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (httpx.ConnectError("refused"), "could not connect"),
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.RemoteProtocolError("reset"), "broke"),
    ],
)
def test_network_errors_retried_then_reported(
    index: FakeIndex, sleeps: list[float], exc: Exception, text: str
) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        raise exc

    index.route("https://pkgs.example/simple/foo/", fail)
    with pytest.raises(IndexServerError, match=text) as info:
        make_client(index, sleeps).project_page(PRIVATE, PRIVATE_URL, FOO)
    assert len(index.requests) == 3
    assert "`private`" in str(info.value)
    _no_secret(info.value)


def test_tls_failure_not_retried(index: FakeIndex, sleeps: list[float]) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    index.route("https://pypi.example/simple/foo/", fail)
    with pytest.raises(IndexServerError, match="TLS verification failed") as info:
        make_client(index, sleeps).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert len(index.requests) == 1
    assert info.value.hint is not None


def test_unreadable_page_is_an_error(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pkgs.example/simple/foo/",
        httpx.Response(200, headers={"Content-Type": "text/plain"}, content=b"hello"),
    )
    with pytest.raises(IndexServerError, match="unreadable") as info:
        make_client(index, sleeps).project_page(PRIVATE, PRIVATE_URL, FOO)
    assert "`private`" in str(info.value)
    _no_secret(info.value)


@pytest.mark.parametrize("declare_length", [True, False])
def test_page_size_cap(index: FakeIndex, sleeps: list[float], declare_length: bool) -> None:
    body = b"<html>" + b"x" * 5000

    def big(_request: httpx.Request) -> httpx.Response:
        if declare_length:
            return httpx.Response(200, headers={"Content-Type": "text/html"}, content=body)
        return httpx.Response(
            200, headers={"Content-Type": "text/html"}, content=iter([body[:2500], body[2500:]])
        )

    index.route("https://pypi.example/simple/foo/", big)
    client = make_client(index, sleeps, max_page_bytes=4096)
    with pytest.raises(IndexServerError, match="more than"):
        client.project_page(PUBLIC, PUBLIC_URL, FOO)
    assert len(index.requests) == 1


# --- credentials, redirects, TLS ---------------------------------------------------------------


def _basic(request: httpx.Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    return base64.b64decode(value.removeprefix("Basic ")).decode()


def test_credentials_bound_to_origin(index: FakeIndex, sleeps: list[float], tmp_path: Path) -> None:
    index.route(
        "https://pkgs.example/simple/foo/",
        json_page(
            {"filename": "foo-1.0.tar.gz", "url": "/files/foo-1.0.tar.gz"},
            {"filename": "foo-2.0.tar.gz", "url": "https://cdn.example/foo-2.0.tar.gz"},
        ),
    )
    index.route("https://pkgs.example/files/foo-1.0.tar.gz", httpx.Response(200, content=b"a"))
    index.route("https://cdn.example/foo-2.0.tar.gz", httpx.Response(200, content=b"b"))
    client = make_client(index, sleeps)
    page = client.project_page(PRIVATE, PRIVATE_URL, FOO)
    assert page is not None
    for file in page.files:
        client.download(PRIVATE, PRIVATE_URL, file, tmp_path)
    page_req, same_origin, other_origin = index.requests
    assert all("@" not in str(r.url) for r in index.requests)
    assert _basic(page_req) == f"alice:{SECRET}"
    assert _basic(same_origin) == f"alice:{SECRET}"
    assert _basic(other_origin) is None


def test_percent_encoded_credentials(index: FakeIndex, sleeps: list[float]) -> None:
    index.route("https://pkgs.example/simple/foo/", json_page())
    make_client(index, sleeps).project_page(
        PRIVATE, "https://me%40corp.example:p%3Ass@pkgs.example/simple", FOO
    )
    assert _basic(index.requests[0]) == "me@corp.example:p:ss"


def test_redirect_to_other_origin_drops_credentials(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pkgs.example/simple/foo/",
        httpx.Response(302, headers={"Location": "https://mirror.example/s/foo/"}),
    )
    index.route(
        "https://mirror.example/s/foo/",
        json_page({"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz"}),
    )
    page = make_client(index, sleeps).project_page(PRIVATE, PRIVATE_URL, FOO)
    assert page is not None
    first, second = index.requests
    assert _basic(first) is not None
    assert _basic(second) is None
    # Relative links resolve against where the page was finally served from.
    assert page.files[0].url == "https://mirror.example/s/foo/foo-1.0.tar.gz"


def test_relative_redirect_same_origin_keeps_credentials(
    index: FakeIndex, sleeps: list[float]
) -> None:
    index.route(
        "https://pkgs.example/simple/foo/",
        httpx.Response(301, headers={"Location": "/simple/foo/v2/"}),
    )
    index.route("https://pkgs.example/simple/foo/v2/", json_page())
    make_client(index, sleeps).project_page(PRIVATE, PRIVATE_URL, FOO)
    assert [_basic(r) for r in index.requests] == [f"alice:{SECRET}"] * 2


def test_https_to_http_redirect_refused(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pkgs.example/simple/foo/",
        httpx.Response(302, headers={"Location": "http://pkgs.example/simple/foo/"}),
    )
    with pytest.raises(IndexServerError, match="downgrade") as info:
        make_client(index, sleeps).project_page(PRIVATE, PRIVATE_URL, FOO)
    assert len(index.requests) == 1
    _no_secret(info.value)


def test_redirect_loop_capped(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(
        "https://pypi.example/simple/foo/",
        httpx.Response(302, headers={"Location": "https://pypi.example/simple/foo/"}),
    )
    with pytest.raises(IndexServerError, match="redirected more than 10 times"):
        make_client(index, sleeps).project_page(PUBLIC, PUBLIC_URL, FOO)
    assert len(index.requests) == 11


def test_credentials_never_over_plain_http(index: FakeIndex, sleeps: list[float]) -> None:
    source = Source(name="plain", url="http://${U}:${P}@pkgs.example/simple")
    with pytest.raises(IndexServerError, match="plain http") as info:
        make_client(index, sleeps).project_page(
            source, f"http://alice:{SECRET}@pkgs.example/simple", FOO
        )
    assert index.requests == []
    _no_secret(info.value)


def test_credentials_over_http_to_loopback(index: FakeIndex, sleeps: list[float]) -> None:
    index.route("http://127.0.0.1:8080/simple/foo/", json_page())
    source = Source(name="local", url="http://127.0.0.1:8080/simple")
    make_client(index, sleeps).project_page(
        source, f"http://alice:{SECRET}@127.0.0.1:8080/simple", FOO
    )
    assert _basic(index.requests[0]) == f"alice:{SECRET}"


def test_netrc_for_listed_host_only(index: FakeIndex, sleeps: list[float], tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine pypi.example login bob password nr-pass\ndefault login x password leaked\n"
    )
    netrc.chmod(0o600)
    index.route(
        "https://pypi.example/simple/foo/",
        json_page({"filename": "foo-1.0.tar.gz", "url": "https://cdn.example/foo-1.0.tar.gz"}),
    )
    index.route("https://cdn.example/foo-1.0.tar.gz", httpx.Response(200, content=b"x"))
    client = make_client(index, sleeps, netrc_path=netrc)
    page = client.project_page(PUBLIC, PUBLIC_URL, FOO)
    assert page is not None
    client.download(PUBLIC, PUBLIC_URL, page.files[0], tmp_path / "d")
    assert _basic(index.requests[0]) == "bob:nr-pass"
    assert _basic(index.requests[1]) is None


def test_verify_ssl_false_only_for_that_host(sleeps: list[float], tmp_path: Path) -> None:
    verified, insecure = FakeIndex(), FakeIndex()
    insecure.route(
        "https://self-signed.example/simple/foo/",
        json_page(
            {"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz"},
            {"filename": "foo-2.0.tar.gz", "url": "https://cdn.example/foo-2.0.tar.gz"},
        ),
    )
    insecure.route(
        "https://self-signed.example/simple/foo/foo-1.0.tar.gz", httpx.Response(200, content=b"1")
    )
    verified.route("https://cdn.example/foo-2.0.tar.gz", httpx.Response(200, content=b"2"))
    source = Source(name="lab", url="https://self-signed.example/simple", verify_ssl=False)
    client = make_client(verified, sleeps, insecure=insecure)
    assert client.skips_tls_verification(source, source.url)
    assert not client.skips_tls_verification(PUBLIC, PUBLIC_URL)
    page = client.project_page(source, source.url, FOO)
    assert page is not None
    for file in page.files:
        client.download(source, source.url, file, tmp_path)
    assert len(insecure.requests) == 2
    assert verified.urls() == ["https://cdn.example/foo-2.0.tar.gz"]


def test_concurrent_use_from_threads(index: FakeIndex, sleeps: list[float]) -> None:
    for i in range(64):
        index.route(
            f"https://pypi.example/simple/p{i}/",
            json_page({"filename": f"p{i}-1.0.tar.gz", "url": f"p{i}-1.0.tar.gz"}),
        )
    client = make_client(index, sleeps)
    names = [NormalizedName(f"p{i}") for i in range(64)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        pages = list(pool.map(lambda n: client.project_page(PUBLIC, PUBLIC_URL, n), names))
    assert [p.files[0].filename if p else None for p in pages] == [
        f"p{i}-1.0.tar.gz" for i in range(64)
    ]


# --- downloads -------------------------------------------------------------------------------

DATA = b"distribution bytes " * 1000
DATA_SHA = hashlib.sha256(DATA).hexdigest()
FILE = DistFile(filename="foo-1.0.tar.gz", url="https://pkgs.example/files/foo-1.0.tar.gz")


def test_download_verifies_and_places(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    index.route(FILE.url, httpx.Response(200, content=DATA))
    path = make_client(index, sleeps).download(
        PRIVATE, PRIVATE_URL, FILE, tmp_path, [f"sha256:{DATA_SHA}"]
    )
    assert path == tmp_path / "foo-1.0.tar.gz"
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foo-1.0.tar.gz"]
    assert index.requests[0].headers["accept-encoding"] == "identity"


def test_download_hash_mismatch(index: FakeIndex, sleeps: list[float], tmp_path: Path) -> None:
    index.route(FILE.url, httpx.Response(200, content=b"tampered"))
    with pytest.raises(HashMismatch) as info:
        make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, FILE, tmp_path, [DATA_SHA])
    message = str(info.value)
    assert "`foo-1.0.tar.gz`" in message
    assert "`private`" in message
    assert DATA_SHA in message
    assert hashlib.sha256(b"tampered").hexdigest() in message
    _no_secret(info.value)
    assert list(tmp_path.iterdir()) == []
    assert len(index.requests) == 1  # tampering is not retried


def test_download_page_hash_used_when_no_allowed(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    index.route(FILE.url, httpx.Response(200, content=b"other"))
    file = DistFile(filename=FILE.filename, url=FILE.url, hashes={"sha256": DATA_SHA})
    with pytest.raises(HashMismatch):
        make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, file, tmp_path)


def _truncated(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Length": str(len(DATA))}, content=DATA[:100])


def test_truncation_retried(index: FakeIndex, sleeps: list[float], tmp_path: Path) -> None:
    index.route(FILE.url, _truncated, httpx.Response(200, content=DATA))
    path = make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, FILE, tmp_path, [DATA_SHA])
    assert path.read_bytes() == DATA
    assert len(index.requests) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foo-1.0.tar.gz"]


def test_truncation_reported(index: FakeIndex, sleeps: list[float], tmp_path: Path) -> None:
    index.route(FILE.url, _truncated)
    with pytest.raises(IndexServerError, match="truncated") as info:
        make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, FILE, tmp_path, [DATA_SHA])
    assert "received 100 of" in str(info.value)
    assert not isinstance(info.value, HashMismatch)
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_path_like_filename(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    file = DistFile(filename="../foo-1.0.tar.gz", url=FILE.url)
    with pytest.raises(ArchiveError):
        make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, file, tmp_path)


@pytest.mark.fast_io
def test_download_over_real_loopback_truncation(tmp_path: Path, fault_server: object) -> None:
    from support.faultserver import FaultServer, Respond, Truncate

    assert isinstance(fault_server, FaultServer)
    fault_server.route("/files/foo-1.0.tar.gz", Truncate(DATA, 100), Respond(200, DATA))
    source = Source(name="local", url=fault_server.simple_url)
    file = DistFile(filename="foo-1.0.tar.gz", url=fault_server.url("/files/foo-1.0.tar.gz"))
    sleeps: list[float] = []
    with IndexClient(ClientSettings(), clock=lambda: 0.0, sleep=sleeps.append) as client:
        path = client.download(source, source.url, file, tmp_path, [DATA_SHA])
    assert path.read_bytes() == DATA
    assert len(sleeps) == 1


# --- metadata --------------------------------------------------------------------------------

METADATA = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nRequires-Dist: bar>=2\n\n"


def make_wheel(metadata: bytes = METADATA, *, padding: int = 300_000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        # Incompressible padding so the wheel is larger than the first range request.
        zf.writestr("foo/data.bin", random.Random(1).randbytes(padding), zipfile.ZIP_STORED)
        zf.writestr("foo/__init__.py", b"")
        zf.writestr("foo-1.0.dist-info/METADATA", metadata)
        zf.writestr("foo-1.0.dist-info/RECORD", b"")
    return buffer.getvalue()


def serve_ranges(data: bytes, *, honour: bool = True) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        spec = request.headers.get("range")
        if not honour or spec is None:
            return httpx.Response(200, content=data)
        first, _, last = spec.removeprefix("bytes=").partition("-")
        if first == "":
            start, end = max(0, len(data) - int(last)), len(data)
        else:
            start, end = int(first), min(len(data), int(last) + 1)
        return httpx.Response(
            206,
            headers={"Content-Range": f"bytes {start}-{end - 1}/{len(data)}"},
            content=data[start:end],
        )

    return handler


WHEEL_URL = "https://pkgs.example/files/foo-1.0-py3-none-any.whl"


def test_metadata_from_pep658_file(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(WHEEL_URL + ".metadata", httpx.Response(200, content=METADATA))
    file = DistFile(
        filename="foo-1.0-py3-none-any.whl",
        url=WHEEL_URL,
        metadata={"sha256": hashlib.sha256(METADATA).hexdigest()},
    )
    meta = make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)
    assert meta is not None
    assert meta.requires_dist == ("bar>=2",)
    assert index.urls() == [WHEEL_URL + ".metadata"]
    assert _basic(index.requests[0]) == f"alice:{SECRET}"


def test_metadata_file_hash_mismatch(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(WHEEL_URL + ".metadata", httpx.Response(200, content=METADATA))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL, metadata={"sha256": "00"})
    with pytest.raises(HashMismatch, match="metadata file"):
        make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)


def test_metadata_by_range_requests(index: FakeIndex, sleeps: list[float]) -> None:
    wheel = make_wheel()
    index.route(WHEEL_URL, serve_ranges(wheel))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL)
    meta = make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)
    assert meta is not None
    assert meta.name == "foo"
    assert str(meta.version) == "1.0"
    ranges = [r.headers["range"] for r in index.requests]
    assert ranges[0] == "bytes=-65536"
    assert 1 <= len(ranges) <= 3
    assert all(_basic(r) == f"alice:{SECRET}" for r in index.requests)


def test_metadata_pep658_missing_falls_back_to_ranges(
    index: FakeIndex, sleeps: list[float]
) -> None:
    index.route(WHEEL_URL, serve_ranges(make_wheel()))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL, metadata=True)
    assert make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file) is not None
    assert index.urls()[0] == WHEEL_URL + ".metadata"


def test_metadata_when_server_ignores_range(index: FakeIndex, sleeps: list[float]) -> None:
    wheel = make_wheel()
    index.route(WHEEL_URL, serve_ranges(wheel, honour=False))
    file = DistFile(
        filename="foo-1.0-py3-none-any.whl",
        url=WHEEL_URL,
        hashes={"sha256": hashlib.sha256(wheel).hexdigest()},
    )
    meta = make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)
    assert meta is not None
    assert len(index.requests) == 1


def test_a_wheel_read_whole_for_its_metadata_is_not_downloaded_again(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    """An index that ignores range requests sends the whole wheel for its metadata; the
    install that follows the lock takes it from the cache (same credentials), verified."""
    wheel = make_wheel()
    digest = hashlib.sha256(wheel).hexdigest()
    index.route(WHEEL_URL, serve_ranges(wheel, honour=False))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL, hashes={"sha256": digest})
    client = make_client(index, sleeps, cache_dir=tmp_path / "cache")
    assert client.metadata(PRIVATE, PRIVATE_URL, file) is not None
    assert len(index.requests) == 1

    placed = client.download(PRIVATE, PRIVATE_URL, file, tmp_path / "dest", [digest])
    assert placed.read_bytes() == wheel
    assert len(index.requests) == 1
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.read_bytes() == wheel]
    assert cached
    assert all(SECRET not in str(p) and "alice" not in str(p) for p in cached)

    # Other credentials (none): asked again, as any download made with credentials is.
    other = make_client(index, sleeps, cache_dir=tmp_path / "cache")
    other.download(PUBLIC, PUBLIC_URL, file, tmp_path / "public", [digest])
    assert len(index.requests) == 2


def test_metadata_full_wheel_hash_checked(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(WHEEL_URL, serve_ranges(make_wheel(), honour=False))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL, hashes={"sha256": "00"})
    with pytest.raises(HashMismatch):
        make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)


def test_metadata_for_other_project_refused(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(WHEEL_URL, serve_ranges(make_wheel(METADATA.replace(b"foo", b"evil"))))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL)
    with pytest.raises(IntegrityError, match="evil"):
        make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)


def test_not_a_zip(index: FakeIndex, sleeps: list[float]) -> None:
    index.route(WHEEL_URL, serve_ranges(b"this is not a zip file at all" * 100))
    file = DistFile(filename="foo-1.0-py3-none-any.whl", url=WHEEL_URL)
    with pytest.raises(ArchiveError, match="not a usable wheel"):
        make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, file)


def test_sdist_metadata_is_none(index: FakeIndex, sleeps: list[float]) -> None:
    assert make_client(index, sleeps).metadata(PRIVATE, PRIVATE_URL, FILE) is None
    assert index.requests == []


@pytest.mark.fast_io
def test_metadata_ranges_over_real_loopback(tmp_path: Path) -> None:
    """A real http.server honouring Range, so the wire format of 206 answers is exercised."""
    import http.server

    wheel = make_wheel(padding=500_000)
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            spec = self.headers.get("Range")
            seen.append(spec)
            first, _, last = (spec or "bytes=0-").removeprefix("bytes=").partition("-")
            if first == "":
                start, end = len(wheel) - int(last), len(wheel)
            else:
                start, end = int(first), min(len(wheel), int(last) + 1 if last else len(wheel))
            body = wheel[start:end]
            self.send_response(206 if spec else 200)
            if spec:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(wheel)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        source = Source(name="local", url=f"{base}/simple")
        file = DistFile(filename="foo-1.0-py3-none-any.whl", url=f"{base}/foo-1.0-py3-none-any.whl")
        with IndexClient(ClientSettings(), clock=lambda: 0.0) as client:
            meta = client.metadata(source, source.url, file)
    finally:
        server.shutdown()
        server.server_close()
    assert meta is not None
    assert meta.requires_dist == ("bar>=2",)
    assert seen[0] == "bytes=-65536"
    assert all(s is not None for s in seen)


# --- keyring ----------------------------------------------------------------------------------


class _FakeKeyring(types.ModuleType):
    def __init__(self, password: str | None) -> None:
        super().__init__("keyring")
        self.password = password
        self.asked: list[tuple[str, str | None]] = []

    def get_credential(self, url: str, username: str | None) -> object:
        self.asked.append((url, username))
        if self.password is None:
            return None
        return types.SimpleNamespace(username=username or "kr-user", password=self.password)


@pytest.mark.parametrize(
    ("source_url", "expected_user"),
    [("https://bob@pkgs.example/simple", "bob"), ("https://pkgs.example/simple", "kr-user")],
)
def test_keyring_supplies_the_password_for_the_source_only(
    index: FakeIndex,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
    source_url: str,
    expected_user: str,
) -> None:
    fake = _FakeKeyring("kr-secret")
    monkeypatch.setitem(sys.modules, "keyring", fake)
    index.route("https://pkgs.example/simple/foo/", json_page())
    source = Source(name="corp", url=source_url)
    client = make_client(index, sleeps)
    client.project_page(source, source_url, FOO)
    client.project_page(source, source_url, FOO)
    header = index.requests[0].headers["authorization"]
    assert base64.b64decode(header.split()[1]).decode() == f"{expected_user}:kr-secret"
    assert fake.asked == [
        ("https://pkgs.example/simple", expected_user if "@" in source_url else None)
    ]


def test_keyring_is_not_asked_when_the_url_has_a_password(
    index: FakeIndex, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _FakeKeyring("kr-secret")
    monkeypatch.setitem(sys.modules, "keyring", fake)
    index.route("https://pkgs.example/simple/foo/", json_page())
    url = "https://bob:pw@pkgs.example/simple"
    make_client(index, sleeps).project_page(Source(name="corp", url=url), url, FOO)
    assert fake.asked == []


# -- download size caps ----------------------------------------------------------------------------


def _endless(_request: httpx.Request) -> httpx.Response:
    def body() -> Iterator[bytes]:
        while True:
            yield bytes(64 * 1024)

    return httpx.Response(200, content=body())  # a stream: no Content-Length


def test_download_without_size_or_length_stops_at_the_limit(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    index.route(FILE.url, _endless)
    client = make_client(index, sleeps, max_download_bytes=1024 * 1024)
    with pytest.raises(IntegrityError, match="more than the 1048576 bytes pipfence accepts"):
        client.download(PRIVATE, PRIVATE_URL, FILE, tmp_path, [DATA_SHA])
    assert list(tmp_path.iterdir()) == []


def test_download_stops_at_the_pages_size(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    index.route(FILE.url, _endless)
    sized = DistFile(filename=FILE.filename, url=FILE.url, size=len(DATA))
    with pytest.raises(IntegrityError, match=f"more than the {len(DATA)} bytes the project page"):
        make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, sized, tmp_path, [DATA_SHA])
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_content_length_over_the_pages_size_unread(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    index.route(FILE.url, httpx.Response(200, content=DATA + b"more"))
    sized = DistFile(filename=FILE.filename, url=FILE.url, size=len(DATA))
    with pytest.raises(IntegrityError, match=f"announced as {len(DATA) + 4} bytes"):
        make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, sized, tmp_path, [DATA_SHA])


def test_download_of_exactly_the_pages_size_passes(
    index: FakeIndex, sleeps: list[float], tmp_path: Path
) -> None:
    index.route(FILE.url, httpx.Response(200, content=DATA))
    sized = DistFile(filename=FILE.filename, url=FILE.url, size=len(DATA))
    path = make_client(index, sleeps).download(PRIVATE, PRIVATE_URL, sized, tmp_path, [DATA_SHA])
    assert path.read_bytes() == DATA
