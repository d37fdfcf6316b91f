"""The benchmark's snapshot server on loopback (bench/snapshot_server.py): it answers index
clients the way the public index does, from a snapshot folder, and records one from an upstream.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from bench import snapshot_server, snapshot_store

pytestmark = pytest.mark.fast_io  # the server in this process, on loopback

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
WHEEL = "packages/ab/cd/demo-1.0-py3-none-any.whl"
WHEEL_BYTES = bytes(range(256)) * 4  # 1024 bytes
METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


def write_snapshot(root: Path, origin_placeholder: str, headers: Mapping[str, object]) -> None:
    url = f"{origin_placeholder}/{WHEEL}"
    page = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {"filename": "demo-1.0-py3-none-any.whl", "url": url, "hashes": {}, "yanked": False}
        ],
    }
    folder = root / "simple" / "demo"
    folder.mkdir(parents=True)
    (folder / "page.json").write_text(json.dumps(page))
    (folder / "page.html").write_text(f'<a href="{url}">demo-1.0-py3-none-any.whl</a>')
    (folder / "headers.json").write_text(json.dumps(headers))
    (root / "simple" / "gone").mkdir()
    (root / "simple" / "gone" / "missing").write_bytes(b"")
    wheel = root / WHEEL
    wheel.parent.mkdir(parents=True)
    wheel.write_bytes(WHEEL_BYTES)
    wheel.with_name(wheel.name + ".metadata").write_bytes(METADATA)


@pytest.fixture
def snapshot_root(tmp_path: Path) -> Path:
    root = tmp_path / "snap"
    headers = {"json": {"etag": '"j1"', "x-pypi-last-serial": "7"}, "html": {}}
    write_snapshot(root, snapshot_store.ORIGIN, headers)
    return root


@pytest.fixture
def server(snapshot_root: Path) -> Iterator[object]:
    running = snapshot_server.serve(snapshot_root)
    yield running
    running.shutdown()
    running.server_close()


def connect(server: object) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)  # type: ignore[attr-defined]


def get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


def test_pages_answer_json_or_html_by_the_accept_header(server: object) -> None:
    conn = connect(server)
    origin = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    accept = f"{JSON}, {HTML};q=0.2, text/html;q=0.01"  # what the clients send
    response, body = get(conn, "/simple/demo/", {"Accept": accept})
    assert response.status == 200
    assert response.getheader("Content-Type") == JSON
    assert response.getheader("Vary") == "Accept"
    assert json.loads(body)["files"][0]["url"] == f"{origin}/{WHEEL}"  # the server's own origin
    response, body = get(conn, "/simple/demo/", {"Accept": "text/html"})
    assert response.getheader("Content-Type") == "text/html"
    assert f'href="{origin}/{WHEEL}"'.encode() in body
    response, body = get(conn, "/simple/demo/")
    assert response.getheader("Content-Type") == "text/html"
    response, body = get(conn, f"/simple/demo/?format={quote(JSON)}", {"Accept": "text/html"})
    assert response.getheader("Content-Type") == JSON
    response, body = get(conn, "/simple/demo/", {"Accept": "application/xml"})
    assert response.status == 406
    response, body = get(conn, "/simple/", {"Accept": JSON})
    assert json.loads(body)["projects"] == [{"name": "demo"}]


def test_names_are_redirected_to_their_normalized_form_with_a_slash(server: object) -> None:
    conn = connect(server)
    for path in ("/simple/Demo/", "/simple/demo", "/simple/DEMO"):
        response, _ = get(conn, path)
        assert (response.status, response.getheader("Location")) == (301, "/simple/demo/")


def test_recorded_caching_headers_are_replayed_and_revalidated(server: object) -> None:
    conn = connect(server)
    response, _ = get(conn, "/simple/demo/", {"Accept": JSON})
    assert response.getheader("ETag") == '"j1"'
    assert response.getheader("X-Pypi-Last-Serial") == "7"
    assert response.getheader("Cache-Control") is None  # the upstream sent none
    response, body = get(conn, "/simple/demo/", {"Accept": JSON, "If-None-Match": '"j1"'})
    assert (response.status, body) == (304, b"")
    response, _ = get(conn, "/simple/demo/", {"Accept": "text/html", "If-None-Match": '"j1"'})
    assert response.status == 200  # the HTML form had no ETag upstream
    assert response.getheader("ETag") is None


def test_pypi_caching_headers(snapshot_root: Path) -> None:
    running = snapshot_server.serve(snapshot_root, cache_headers="pypi")
    try:
        conn = connect(running)
        response, _ = get(conn, "/simple/demo/", {"Accept": JSON})
        assert response.getheader("Cache-Control") == "max-age=600, public"
        etag = response.getheader("ETag")
        assert etag
        assert etag != '"j1"'
        response, _ = get(conn, "/simple/demo/", {"Accept": JSON, "If-None-Match": etag})
        assert response.status == 304
        response, _ = get(conn, f"/{WHEEL}")
        assert "immutable" in response.getheader("Cache-Control", "")
    finally:
        running.shutdown()
        running.server_close()


def test_files_answer_byte_ranges(server: object) -> None:
    conn = connect(server)
    response, body = get(conn, f"/{WHEEL}", {"Accept-Encoding": "gzip"})
    assert (response.status, body) == (200, WHEEL_BYTES)
    assert response.getheader("Accept-Ranges") == "bytes"
    assert response.getheader("Content-Encoding") is None  # never compressed
    response, body = get(conn, f"/{WHEEL}", {"Range": "bytes=-100"})
    assert (response.status, body) == (206, WHEEL_BYTES[-100:])
    assert response.getheader("Content-Range") == "bytes 924-1023/1024"
    response, body = get(conn, f"/{WHEEL}", {"Range": "bytes=10-19"})
    assert (response.status, body) == (206, WHEEL_BYTES[10:20])
    response, body = get(conn, f"/{WHEEL}", {"Range": "bytes=2000-"})
    assert response.status == 416
    assert response.getheader("Content-Range") == "bytes */1024"
    response, body = get(conn, f"/{WHEEL}.metadata")
    assert (response.status, body) == (200, METADATA)
    conn.request("HEAD", f"/{WHEEL}")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == "1024"
    assert response.read() == b""


def test_one_connection_serves_every_answer(server: object) -> None:
    """HTTP/1.1 keep-alive: no answer (404, 301, 206, 416 included) closes the connection."""
    conn = connect(server)
    for path, headers in [
        ("/simple/demo/", {"Accept": JSON}),
        ("/simple/Demo", {}),
        ("/simple/absent/", {}),
        (f"/{WHEEL}", {"Range": "bytes=0-1"}),
        (f"/{WHEEL}", {"Range": "bytes=5000-"}),
        ("/packages/nothing.whl", {}),
        (f"/{WHEEL}", {}),
    ]:
        response, _ = get(conn, path, headers)
        assert response.version == 11
        assert not response.will_close, path
    sock = conn.sock
    get(conn, "/simple/demo/")
    assert conn.sock is sock


def test_what_the_snapshot_lacks_is_a_404_counted_as_a_miss(server: object) -> None:
    conn = connect(server)
    assert get(conn, "/simple/absent/")[0].status == 404
    assert get(conn, "/packages/ab/cd/other-2.0.tar.gz")[0].status == 404
    assert get(conn, "/simple/gone/")[0].status == 404  # not on the upstream index either
    body = get(conn, "/_snapshot/stats")[1]
    stats = json.loads(body)
    assert stats["misses"] == ["/simple/absent/", "/packages/ab/cd/other-2.0.tar.gz"]
    assert stats["requests"] == 3


def test_record_mode_stores_what_is_asked_and_replays_it(server: object, tmp_path: Path) -> None:
    """Recording from an upstream (here another snapshot server): pages in both forms with the
    file URLs made local, files whole even when a range was asked; the replay serves them."""
    upstream = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    recorded = tmp_path / "recorded"
    recorder = snapshot_server.serve(
        recorded, record=True, upstream=f"{upstream}/simple/", files_origin=upstream
    )
    try:
        conn = connect(recorder)
        response, body = get(conn, "/simple/demo/", {"Accept": JSON})
        assert response.status == 200
        url = json.loads(body)["files"][0]["url"]
        assert urlsplit(url).port == recorder.server_address[1]
        response, body = get(conn, urlsplit(url).path, {"Range": "bytes=-4"})
        assert (response.status, body) == (206, WHEEL_BYTES[-4:])
        assert get(conn, "/simple/absent/")[0].status == 404
        assert json.loads(get(conn, "/_snapshot/stats")[1])["recorded"] == 3
    finally:
        recorder.shutdown()
        recorder.server_close()
    assert (recorded / WHEEL).read_bytes() == WHEEL_BYTES
    assert (recorded / "simple" / "absent" / "missing").is_file()
    assert upstream not in (recorded / "simple" / "demo" / "page.html").read_text()
    replay = snapshot_server.serve(recorded)
    try:
        conn = connect(replay)
        response, body = get(conn, "/simple/demo/", {"Accept": "text/html"})
        assert f"127.0.0.1:{replay.server_address[1]}/{WHEEL}".encode() in body
        assert get(conn, f"/{WHEEL}")[1] == WHEEL_BYTES
        assert get(conn, "/simple/absent/")[0].status == 404
        assert json.loads(get(conn, "/_snapshot/stats")[1])["misses"] == []
    finally:
        replay.shutdown()
        replay.server_close()
