"""The on-disk index cache: fresh pages without requests, ETag revalidation, content-addressed files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipfence.errors import DamagedCache
from pipfence.index.cache import CachedPage, IndexCache, metadata_key, page_key
from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings
from pipfence.index.page_blob import dump_page
from pipfence.index.simple import parse_project_page
from pipfence.models.files import DistFile
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source

JSON = "application/vnd.pypi.simple.v1+json"
SECRET = "cache-secret-token"
SOURCE = Source(name="private", url="https://${U}:${T}@pkgs.example/simple")
REQUEST_URL = f"https://alice:{SECRET}@pkgs.example/simple"
PAGE_URL = "https://pkgs.example/simple/foo/"
FOO = NormalizedName("foo")
BODY = json.dumps(
    {
        "meta": {"api-version": "1.1"},
        "name": "foo",
        "files": [{"filename": "foo-1.0.tar.gz", "url": "foo-1.0.tar.gz", "hashes": {}}],
    }
).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """A MockTransport handler answering the page with an ETag and 304 to a matching one
    (no ETag, and the whole page every time, when ``etag`` is None)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.etag: str | None = '"v1"'
        self.body = BODY
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
        url = str(request.url)
        if url in self.files:
            return httpx.Response(200, content=self.files[url])
        if url != PAGE_URL:
            return httpx.Response(404)
        if self.etag is None:
            return httpx.Response(200, headers={"Content-Type": JSON}, content=self.body)
        if request.headers.get("if-none-match") == self.etag:
            return httpx.Response(304, headers={"ETag": self.etag})
        return httpx.Response(
            200, headers={"Content-Type": JSON, "ETag": self.etag}, content=self.body
        )


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(tmp_path: Path, server: Server, clock: Clock) -> Iterator[IndexClient]:
    settings = ClientSettings(cache_dir=tmp_path / "cache", page_max_age=600.0)
    with IndexClient(
        settings,
        clock=clock,
        client=httpx.Client(transport=httpx.MockTransport(server)),
        sleep=lambda _s: None,
        rng=random.Random(0),
    ) as index_client:
        yield index_client


def test_fresh_page_served_without_request(client: IndexClient, server: Server) -> None:
    first = client.project_page(SOURCE, REQUEST_URL, FOO)
    second = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert first == second
    assert first is not None
    assert first.etag == '"v1"'
    assert len(server.requests) == 1
    # The page says whether it took a request (the lock guesses ahead only for those).
    assert first.requested is True
    assert second is not None
    assert second.requested is False


def test_stale_page_revalidated_with_etag(
    client: IndexClient, server: Server, clock: Clock
) -> None:
    first = client.project_page(SOURCE, REQUEST_URL, FOO)
    clock.now += 601
    second = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert first == second
    assert len(server.requests) == 2
    assert server.requests[1].headers["if-none-match"] == '"v1"'
    assert second is not None
    assert second.requested is True  # a 304 is a request all the same
    # The 304 refreshed the entry: fresh again for another max-age.
    clock.now += 300
    client.project_page(SOURCE, REQUEST_URL, FOO)
    assert len(server.requests) == 2


@pytest.mark.parametrize("etag", ['"v1"', None], ids=["304", "the same page again"])
def test_a_page_is_dated_from_when_it_was_first_sent_through_revalidations_that_find_it_unchanged(
    client: IndexClient, server: Server, clock: Clock, etag: str | None
) -> None:
    server.etag = etag
    first = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert first is not None
    assert first.cached_at == 10_000.0
    for _ in range(2):
        clock.now += 601
        again = client.project_page(SOURCE, REQUEST_URL, FOO)
        assert again is not None
        assert again.requested is True
        assert again.cached_at == 10_000.0  # what a remembered lock compares (`LockMemo`)
        assert client.page_stamp(SOURCE, REQUEST_URL, FOO) == 10_000.0
    assert len(server.requests) == 3
    # A page that changed is dated from its own fetch.
    server.body = BODY.replace(b"foo-1.0", b"foo-2.0")
    if etag is not None:
        server.etag = '"v2"'
    clock.now += 601
    changed = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert changed is not None
    assert changed.cached_at == clock.now
    assert client.page_stamp(SOURCE, REQUEST_URL, FOO) == clock.now
    # Past its age, no stamp: a lock must ask.
    clock.now += 601
    assert client.page_stamp(SOURCE, REQUEST_URL, FOO) is None


def test_changed_page_replaces_entry(client: IndexClient, server: Server, clock: Clock) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    server.etag = '"v2"'
    server.body = BODY.replace(b"foo-1.0", b"foo-2.0")
    clock.now += 601
    page = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert page is not None
    assert [f.filename for f in page.files] == ["foo-2.0.tar.gz"]
    assert page.etag == '"v2"'


def test_clock_going_backwards_is_stale(client: IndexClient, server: Server, clock: Clock) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    clock.now -= 5
    client.project_page(SOURCE, REQUEST_URL, FOO)
    assert len(server.requests) == 2


def test_no_credentials_anywhere_in_cache(
    client: IndexClient, server: Server, tmp_path: Path
) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    server.files["https://pkgs.example/simple/foo/foo-1.0.tar.gz"] = b"data"
    client.download(
        SOURCE,
        REQUEST_URL,
        DistFile(filename="foo-1.0.tar.gz", url="https://pkgs.example/simple/foo/foo-1.0.tar.gz"),
        tmp_path / "dest",
    )
    cache_root = tmp_path / "cache"
    entries = [p for p in cache_root.rglob("*") if p.is_file()]
    assert entries
    for path in entries:
        assert SECRET not in str(path)
        assert SECRET.encode() not in path.read_bytes()
        assert b"alice" not in path.read_bytes()
    assert page_key(f"https://alice:{SECRET}@PKGS.example/simple/foo/") == page_key(PAGE_URL)


def test_corrupted_page_entry_evicted_and_refetched(
    client: IndexClient, server: Server, tmp_path: Path
) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    (entry,) = [p for p in (tmp_path / "cache" / "pages-v3").rglob("*") if p.is_file()]
    # The entry holds the parsed page, not the body the index sent.
    assert BODY not in entry.read_bytes()
    entry.write_bytes(entry.read_bytes()[:-10])
    page = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert page is not None
    assert len(page.files) == 1
    assert len(server.requests) == 2
    assert "if-none-match" not in server.requests[1].headers


def test_cache_entry_of_another_project_is_not_used(
    client: IndexClient, server: Server, tmp_path: Path
) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    (entry,) = [p for p in (tmp_path / "cache" / "pages-v3").rglob("*") if p.is_file()]
    # The entry for foo's URL now holds a parsed page of `bar` (say, copied over by hand).
    bar = parse_project_page(BODY.replace(b"foo", b"bar"), JSON, PAGE_URL.replace("foo", "bar"))
    blob = dump_page(bar) or b""
    header = json.loads(entry.read_bytes().partition(b"\n")[0])
    assert header["sha256"] == "checked-by-content"  # the blob carries its own digests
    entry.write_bytes(json.dumps(header).encode() + b"\n" + blob)
    page = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert page is not None
    assert [f.filename for f in page.files] == ["foo-1.0.tar.gz"]
    assert len(server.requests) == 2
    assert "if-none-match" not in server.requests[1].headers


def test_a_cached_page_reads_its_groups_from_the_file_it_opened(
    client: IndexClient, server: Server, tmp_path: Path
) -> None:
    """A page read from the cache keeps only its head in memory and reads a version's group
    when asked, from the file it opened: another process replacing the entry meanwhile (a
    rename over it) changes nothing for it."""
    client.project_page(SOURCE, REQUEST_URL, FOO)
    page = client.project_page(SOURCE, REQUEST_URL, FOO)  # fresh: from the cache
    assert page is not None
    assert len(server.requests) == 1
    (entry,) = [p for p in (tmp_path / "cache" / "pages-v3").rglob("*") if p.is_file()]
    replacement = entry.with_name("replacement")
    replacement.write_bytes(b"{}\nsomething else entirely")
    replacement.replace(entry)
    assert [f.filename for f in page.releases["1.0"]] == ["foo-1.0.tar.gz"]


def test_pages_past_the_open_file_budget_are_read_into_memory(
    client: IndexClient, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cached pages hold their files open only up to a budget (so that sockets and other files
    always find a handle); past it, a page is read whole, and works the same."""
    from pipfence.index import cache_files

    client.project_page(SOURCE, REQUEST_URL, FOO)
    monkeypatch.setattr(cache_files.HANDLES, "_budget", 0)
    page = client.project_page(SOURCE, REQUEST_URL, FOO)  # fresh: from the cache
    assert page is not None
    assert len(server.requests) == 1
    assert isinstance(page.releases.raw._blob, bytes)  # type: ignore[attr-defined]
    assert [f.filename for f in page.releases["1.0"]] == ["foo-1.0.tar.gz"]


def test_a_cached_group_damaged_in_place_is_an_error_naming_the_project(
    client: IndexClient, tmp_path: Path
) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    page = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert page is not None
    (entry,) = [p for p in (tmp_path / "cache" / "pages-v3").rglob("*") if p.is_file()]
    data = bytearray(entry.read_bytes())
    at = data.rindex(b"foo-1.0.tar.gz")  # inside the group, after the head
    data[at] = ord("g")
    with entry.open("r+b") as handle:  # the same file, changed where it lies
        handle.write(bytes(data))
    with pytest.raises(DamagedCache, match="cached page of `foo`"):
        page.releases["1.0"]


def test_downloads_content_addressed(client: IndexClient, server: Server, tmp_path: Path) -> None:
    data = b"wheel bytes" * 100
    digest = hashlib.sha256(data).hexdigest()
    url = "https://pkgs.example/files/foo-1.0.tar.gz"
    server.files[url] = data
    file = DistFile(filename="foo-1.0.tar.gz", url=url)
    client.download(SOURCE, REQUEST_URL, file, tmp_path / "a", [digest])
    path = client.download(SOURCE, REQUEST_URL, file, tmp_path / "b", [digest])
    assert path.read_bytes() == data
    assert len(server.requests) == 1
    # A corrupted cache entry is evicted and the file fetched again.
    # Fetched with the source's credentials: kept where only those credentials find it.
    (entry,) = [p for p in (tmp_path / "cache" / "private-files-v1").rglob("*") if p.is_file()]
    entry.unlink()  # break any hard link before corrupting
    entry.write_bytes(b"corrupt")
    path = client.download(SOURCE, REQUEST_URL, file, tmp_path / "c", [digest])
    assert path.read_bytes() == data
    assert len(server.requests) == 2


def test_metadata_cached_by_dist_hash(client: IndexClient, server: Server) -> None:
    metadata = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n\n"
    url = "https://pkgs.example/files/foo-1.0-py3-none-any.whl"
    server.files[url + ".metadata"] = metadata
    file = DistFile(
        filename="foo-1.0-py3-none-any.whl", url=url, hashes={"sha256": "ab" * 32}, metadata=True
    )
    first = client.metadata(SOURCE, REQUEST_URL, file)
    second = client.metadata(SOURCE, REQUEST_URL, file)
    assert first == second
    assert first is not None
    assert len(server.requests) == 1


def test_clear(client: IndexClient, server: Server) -> None:
    client.project_page(SOURCE, REQUEST_URL, FOO)
    client.clear_cache()
    client.project_page(SOURCE, REQUEST_URL, FOO)
    assert len(server.requests) == 2


def test_cache_unit_roundtrip_and_corruption(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path)
    page = CachedPage(url=PAGE_URL, content_type=JSON, body=b"{}", etag='"e"', fetched_at=5.0)
    cache.store_page(PAGE_URL, page)
    assert cache.load_page(PAGE_URL) == page
    cache.store_metadata("cd" * 32, b"Name: x")
    assert cache.load_metadata("cd" * 32) == b"Name: x"
    meta = tmp_path / "metadata-v2" / "cd" / ("cd" * 32)
    meta.write_bytes(meta.read_bytes() + b"tail")
    assert cache.load_metadata("cd" * 32) is None
    assert not meta.exists()
    assert cache.load_metadata("../../etc/passwd") is None
    cache.clear()
    assert cache.load_page(PAGE_URL) is None


def test_concurrent_writers_never_expose_partial_entries(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path)
    bodies = [bytes([i]) * 200_000 for i in range(8)]
    errors: list[str] = []

    def write(body: bytes) -> None:
        for _ in range(10):
            cache.store_page(PAGE_URL, CachedPage(url=PAGE_URL, content_type=JSON, body=body))

    def read() -> None:
        for _ in range(50):
            entry = cache.load_page(PAGE_URL)
            if entry is not None and entry.body not in bodies:
                errors.append("partial")

    threads = [threading.Thread(target=write, args=(b,)) for b in bodies]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not list(tmp_path.rglob(".tmp-*"))


def test_identical_pages_on_two_indexes_keep_their_own_file_urls(tmp_path: Path) -> None:
    """Two indexes serving byte-identical pages with relative links: each page's files
    resolve against its own URL, even though the parsed form is cached by content."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": JSON}, content=BODY)

    transport = httpx.Client(transport=httpx.MockTransport(handler))
    client = IndexClient(
        ClientSettings(cache_dir=tmp_path / "cache"), clock=Clock(), client=transport
    )
    first = Source(name="first", url="https://one.example/simple")
    second = Source(name="second", url="https://two.example/simple")
    for _ in range(2):  # fetched, then served from the cache
        one = client.project_page(first, first.url, FOO)
        two = client.project_page(second, second.url, FOO)
        assert one is not None
        assert two is not None
        assert one.files[0].url == "https://one.example/simple/foo/foo-1.0.tar.gz"
        assert two.files[0].url == "https://two.example/simple/foo/foo-1.0.tar.gz"


def test_files_fetched_with_credentials_are_found_only_by_the_same_scope(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path / "cache")
    data = tmp_path / "wheel"
    data.write_bytes(b"private wheel")
    digest = hashlib.sha256(b"private wheel").hexdigest()
    cache.store_file(digest, data, "scope-a")
    assert cache.load_file(digest, "scope-a") is not None
    assert cache.holds_file(digest, "scope-a")
    for other in (None, "scope-b"):
        assert cache.load_file(digest, other) is None
        assert not cache.holds_file(digest, other)
    cache.store_file(digest, data)  # fetched without credentials too: public now
    assert cache.load_file(digest, "scope-b") is not None
    assert cache.holds_file(digest)


def test_metadata_key_names_source_scope_and_both_hashes() -> None:
    wheel, meta = "ab" * 32, "cd" * 32
    base = metadata_key("https://a.example/simple", None, wheel, meta)
    assert base == metadata_key("HTTPS://user@A.example/simple", None, wheel.upper(), meta)
    others = {
        metadata_key("https://b.example/simple", None, wheel, meta),
        metadata_key("https://a.example/simple", "scope", wheel, meta),
        metadata_key("https://a.example/simple", None, wheel, None),
        metadata_key("https://a.example/simple", None, wheel, "ef" * 32),
    }
    assert base not in others
    assert len(others) == 4


def test_a_stored_page_is_the_same_as_the_page_parsed_again_whatever_the_bytes_of_its_dump() -> (
    None
):
    from pipfence.index.page_blob import load_page, same_page

    rows = [{"filename": f"foo-{v}.tar.gz", "url": f"foo-{v}.tar.gz", "hashes": {}} for v in "123"]
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "foo", "files": rows}).encode()
    parsed = parse_project_page(body, JSON, PAGE_URL)
    stored = load_page(dump_page(parsed) or b"")
    assert stored is not None
    again = parse_project_page(body, JSON, PAGE_URL)
    assert same_page(stored, again)
    # marshal may write the stored page's head (strings it read back, shared) otherwise:
    # the pages are compared by what they hold, never by their dumps.
    changed = parse_project_page(body.replace(b"foo-3", b"foo-4"), JSON, PAGE_URL)
    assert not same_page(stored, changed)
    assert not same_page(stored, dataclasses.replace(again, etag='"other"'))


def test_a_page_sent_again_with_only_its_serial_changed_is_still_the_page_it_was(
    client: IndexClient, server: Server, clock: Clock
) -> None:
    server.etag = None
    first = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert first is not None
    clock.now += 601
    # Another answer (so it is parsed), the same files: unchanged since the first.
    server.body = BODY.replace(b'"api-version": "1.1"', b'"api-version": "1.1", "_last-serial": 7')
    again = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert again is not None
    assert again.cached_at == first.cached_at == 10_000.0
    assert [f.filename for f in again.files] == ["foo-1.0.tar.gz"]


def test_the_very_answer_an_entry_was_made_from_is_not_parsed_again(
    client: IndexClient, server: Server, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipfence.index.simple as simple_module

    parsed: list[bytes] = []
    real = parse_project_page

    def counting(body: bytes, *args: object, **kwargs: object) -> object:
        parsed.append(body)
        return real(body, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(simple_module, "parse_project_page", counting)
    server.etag = None
    client.project_page(SOURCE, REQUEST_URL, FOO)
    clock.now += 601
    again = client.project_page(SOURCE, REQUEST_URL, FOO)
    assert len(server.requests) == 2
    assert len(parsed) == 1  # the second answer was the first's, byte for byte
    assert again is not None
    assert [f.filename for f in again.files] == ["foo-1.0.tar.gz"]
    # The entry was dated anew: fresh for another max-age, no request.
    clock.now += 300
    client.project_page(SOURCE, REQUEST_URL, FOO)
    assert len(server.requests) == 2
