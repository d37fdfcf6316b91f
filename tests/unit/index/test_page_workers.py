"""Project pages parsed in worker processes: the same page and cache entry as in-process, the
same error for a body that is no page, and the parent's own parse whenever no worker can."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipfence.errors import IndexServerError
from pipfence.index import page_workers
from pipfence.index.cache import CachedPage, IndexCache
from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings
from pipfence.index.page_blob import dump_page, load_page
from pipfence.index.page_worker import PageAnswer, PageJob, page_digest
from pipfence.index.page_workers import PageWorkers
from pipfence.index.simple import parse_project_page
from pipfence.models.files import ProjectPage
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source

pytestmark = pytest.mark.fast_io  # worker processes

JSON = "application/vnd.pypi.simple.v1+json"
PAGE_URL = "https://pkgs.example/simple/foo/"
SOURCE = Source(name="private", url="https://pkgs.example/simple")
FOO = NormalizedName("foo")


def page_body(*versions: str) -> bytes:
    files = [
        {
            "filename": f"foo-{version}-py3-none-any.whl",
            "url": f"../../packages/foo-{version}-py3-none-any.whl",
            "hashes": {"sha256": f"{index:064x}"},
            "requires-python": ">=3.8",
        }
        for index, version in enumerate(versions)
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "foo", "files": files}).encode()


def job(cache_root: Path | None, content_type: str = JSON) -> PageJob:
    entry = CachedPage(url=PAGE_URL, content_type="x", body=b"", etag='"e1"', fetched_at=5.0)
    root = None if cache_root is None else str(cache_root)
    return PageJob(content_type, PAGE_URL, FOO, root, PAGE_URL, None, entry)


def answered(workers: PageWorkers, the_job: PageJob, body: bytes) -> PageAnswer:
    """The first answer of a worker (the first calls find none started yet)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = workers.parse(the_job, body)
        if answer is not None:
            return answer
        time.sleep(0.02)
    raise AssertionError("no worker answered")


@pytest.fixture
def workers() -> Iterator[PageWorkers]:
    pool = PageWorkers(1, start_after=0)
    yield pool
    pool.close()


def test_no_worker_before_the_offered_bytes_reach_the_threshold() -> None:
    pool = PageWorkers(1, start_after=1000)
    try:
        assert pool.parse(job(None), page_body("1.0")) is None
        time.sleep(0.5)
        assert pool.parse(job(None), page_body("1.0")) is None  # 2 bodies of 140 bytes: under 1000
        assert pool._all == []
    finally:
        pool.close()


def test_a_worker_stores_the_page_the_parent_would(workers: PageWorkers, tmp_path: Path) -> None:
    body = page_body("1.0", "2.0rc1", "2.0")
    answer = answered(workers, job(tmp_path), body)
    assert answer.outcome == "stored"
    entry = IndexCache(tmp_path).open_page(PAGE_URL, None)
    assert entry is not None
    cached, blob = entry
    assert (cached.etag, cached.fetched_at) == ('"e1"', 5.0)
    # The job left the digest of the answer out: the worker worked it out.
    assert cached.sent == page_digest(JSON, PAGE_URL, body)
    stored = load_page(blob, cached.body_offset)
    here = parse_project_page(body, JSON, PAGE_URL, project=FOO)
    assert stored is not None
    assert stored.versions == here.versions
    assert [(f.filename, f.url, f.hashes) for f in stored.files] == [
        (f.filename, f.url, f.hashes) for f in here.files
    ]


def test_without_a_cache_the_blob_comes_back(workers: PageWorkers) -> None:
    body = page_body("1.0", "1.1")
    answer = answered(workers, job(None), body)
    assert answer.outcome == "blob"
    assert answer.data == dump_page(parse_project_page(body, JSON, PAGE_URL, project=FOO))


def test_a_body_that_is_no_page_is_unreadable_with_the_parsers_reason(
    workers: PageWorkers, tmp_path: Path
) -> None:
    answer = answered(workers, job(tmp_path, content_type="text/plain"), b"hello")
    with pytest.raises(ValueError, match="simple-API") as info:
        parse_project_page(b"hello", "text/plain", PAGE_URL, project=FOO)
    assert answer == PageAnswer("unreadable", text=str(info.value))
    assert IndexCache(tmp_path).open_page(PAGE_URL, None) is None


def test_a_worker_outlives_a_ctrl_c_and_ends_with_its_input(workers: PageWorkers) -> None:
    answered(workers, job(None), page_body("1.0"))
    (process,) = workers._all
    os.kill(process.pid, signal.SIGINT)
    os.kill(process.pid, signal.SIGTERM)
    assert workers.parse(job(None), page_body("3.0")) is not None
    workers.close()
    assert process.wait(timeout=10) == 0


def test_a_worker_that_dies_leaves_the_pages_to_the_parent(workers: PageWorkers) -> None:
    answered(workers, job(None), page_body("1.0"))
    (process,) = workers._all
    process.kill()
    process.wait()
    started = time.monotonic()
    assert workers.parse(job(None), page_body("1.0")) is None  # it died under this job
    assert workers.parse(job(None), page_body("1.0")) is None  # and none is waited for
    assert time.monotonic() - started < 5
    assert workers._all == []


def test_a_worker_that_cannot_start_leaves_the_pages_to_the_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    pool = PageWorkers(2, start_after=0)
    try:
        for _ in range(20):
            assert pool.parse(job(None), page_body("1.0")) is None
            time.sleep(0.01)
    finally:
        pool.close()


def test_close_ends_every_worker(tmp_path: Path) -> None:
    pool = PageWorkers(2, start_after=0)
    answered(pool, job(tmp_path), page_body("1.0"))
    deadline = time.monotonic() + 30
    while len(pool._all) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    processes = list(pool._all)
    pool.close()
    assert len(processes) == 2
    assert all(p.poll() is not None for p in processes)
    assert pool.parse(job(tmp_path), page_body("1.0")) is None


# --- through the index client ------------------------------------------------------------------


def client(tmp_path: Path, handler: httpx.MockTransport) -> IndexClient:
    return IndexClient(
        ClientSettings(cache_dir=tmp_path / "cache", page_workers=1),
        clock=lambda: 1000.0,
        client=httpx.Client(transport=handler),
        sleep=lambda _seconds: None,
        rng=random.Random(0),
    )


def test_the_client_gives_a_worker_the_same_page_and_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_workers, "START_AFTER", 0)
    bodies = {f"{PAGE_URL[:-4]}{name}/": page_body("1.0", "1.1") for name in ("foo", "bar")}
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"Content-Type": JSON, "ETag": '"v"'}, content=bodies[str(request.url)]
        )
    )
    parsed_here: list[str] = []
    real_parse = IndexClient._parse

    def counting_parse(*args: object) -> object:
        parsed_here.append(str(args[1]))
        return real_parse(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(IndexClient, "_parse", staticmethod(counting_parse))
    with client(tmp_path, transport) as index:
        pages: list[ProjectPage | None] = []
        for _ in range(200):  # the first pages are parsed here while the worker starts
            index.cache = IndexCache(tmp_path / f"cache{len(pages)}")
            pages.append(index.project_page(SOURCE, SOURCE.url, FOO))
            if len(parsed_here) < len(pages):
                break
            time.sleep(0.02)
        worker_page = pages[-1]
        assert len(parsed_here) == len(pages) - 1, "no page was parsed by a worker"
        here = pages[0]
    assert worker_page is not None
    assert here is not None
    assert (worker_page.name, worker_page.etag, worker_page.cached_at) == (FOO, '"v"', 1000.0)
    assert [(f.filename, f.url, f.hashes) for f in worker_page.files] == [
        (f.filename, f.url, f.hashes) for f in here.files
    ]
    assert [f.filename for f in here.files] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.1-py3-none-any.whl",
    ]
    assert (tmp_path / f"cache{len(pages) - 1}").is_dir()
    # Both entries carry the digest of what was sent, so a page sent again unchanged is
    # known without a parse whoever stored it.
    url = f"{SOURCE.url}/foo/"
    stored_here = IndexCache(tmp_path / "cache0").open_page(url, None)
    stored_there = IndexCache(tmp_path / f"cache{len(pages) - 1}").open_page(url, None)
    assert stored_here is not None
    assert stored_there is not None
    assert stored_here[0].sent is not None
    assert stored_there[0].sent == stored_here[0].sent


def test_the_client_names_the_source_when_a_worker_finds_no_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_workers, "START_AFTER", 0)
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, headers={"Content-Type": "text/plain"}, content=b"x")
    )
    with client(tmp_path, transport) as index:
        deadline = time.monotonic() + 30
        while not index._workers._running and time.monotonic() < deadline:
            with pytest.raises(IndexServerError):
                index.project_page(SOURCE, SOURCE.url, FOO)
            time.sleep(0.02)
        assert index._workers._running
        with pytest.raises(IndexServerError, match="unreadable") as info:
            index.project_page(SOURCE, SOURCE.url, FOO)
    assert "`private`" in str(info.value)
    assert "simple-API project page" in str(info.value)


@pytest.mark.parametrize(("cores", "expected"), [(1, 0), (2, 2), (4, 2), (64, 2)])
def test_two_workers_from_two_cores_on(
    cores: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    assert page_workers.default_page_workers() == expected
