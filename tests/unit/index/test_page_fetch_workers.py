"""Project pages a worker process fetches itself (`PageWorkers.fetch`), through the index
client against a real loopback server: the request the parent would have sent (its headers and
credentials), the same page and cache entry, a 404 that means what it means from the parent,
and every answer the worker may not use (an error status, a redirect, a body over the limit)
asked again by the parent, whose retries and messages apply."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipfence.errors import IndexServerError
from pipfence.index.cache import IndexCache
from pipfence.index.client import IndexClient
from pipfence.index.http import ClientSettings, Endpoint, Http
from pipfence.index.page_worker import PageAnswer, page_digest
from pipfence.index.page_workers import PageWorkers
from pipfence.models.names import NormalizedName
from pipfence.models.sources import Source
from support.faultserver import FaultServer, Redirect, Respond

pytestmark = pytest.mark.fast_io  # worker processes, a loopback server

pytest.importorskip("pycurl")  # a worker fetches over libcurl only

JSON = "application/vnd.pypi.simple.v1+json"
USER, PASSWORD = "ci-bot", "f3tch s3cret/é"
FOO = NormalizedName("foo")


def page_body(name: str, *versions: str) -> bytes:
    files = [
        {
            "filename": f"{name}-{version}-py3-none-any.whl",
            "url": f"../../files/{name}-{version}-py3-none-any.whl",
            "hashes": {"sha256": f"{index:064x}"},
        }
        for index, version in enumerate(versions)
    ]
    return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()


def page(name: str, *versions: str, etag: str = '"v1"') -> Respond:
    return Respond(200, page_body(name, *versions), {"ETag": etag}, content_type=JSON)


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(job kind, outcome) of every answer a worker gave."""
    seen: list[tuple[str, str]] = []
    real_parse, real_fetch = PageWorkers.parse, PageWorkers.fetch

    def parse(self: PageWorkers, *args: object) -> PageAnswer | None:
        answer = real_parse(self, *args)  # type: ignore[arg-type]
        if answer is not None:
            seen.append(("parse", answer.outcome))
        return answer

    def fetch(self: PageWorkers, *args: object) -> PageAnswer | None:
        answer = real_fetch(self, *args)  # type: ignore[arg-type]
        if answer is not None:
            seen.append(("fetch", answer.outcome))
        return answer

    monkeypatch.setattr(PageWorkers, "parse", parse)
    monkeypatch.setattr(PageWorkers, "fetch", fetch)
    return seen


@pytest.fixture
def index(tmp_path: Path) -> Iterator[IndexClient]:
    """A client whose page worker is running (started at once, not after 4 MiB of pages)."""
    client = IndexClient(
        ClientSettings(cache_dir=tmp_path / "cache", page_workers=1, backoff=0.0),
        clock=time.time,
    )
    with client:
        workers = client._workers
        workers._start_after = 0
        workers.offer(0)
        deadline = time.monotonic() + 30
        while not workers.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert workers.running, "the worker did not start"
        yield client


def source(server: FaultServer) -> tuple[Source, str]:
    """The source, and its request URL with credentials (allowed over http on loopback)."""
    return Source(name="private", url=server.simple_url), server.simple_url.replace(
        "http://", f"http://{USER}:{PASSWORD.replace('/', '%2F').replace(' ', '%20')}@"
    )


def test_a_worker_sends_the_parents_request_and_stores_the_page(
    fault_server: FaultServer,
    index: IndexClient,
    outcomes: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fault_server.route("/simple/foo/", page("foo", "1.0", "2.0"))
    sent_by_parent: list[str] = []
    real_get = Http.get

    def get(self: Http, endpoint: object, url: str, **kwargs: object) -> object:
        sent_by_parent.append(url)
        return real_get(self, endpoint, url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Http, "get", get)
    the_source, request_url = source(fault_server)
    got = index.project_page(the_source, request_url, FOO)

    assert outcomes == [("fetch", "stored")]
    assert sent_by_parent == []
    assert got is not None
    assert [f.filename for f in got.files] == [
        "foo-1.0-py3-none-any.whl",
        "foo-2.0-py3-none-any.whl",
    ]
    assert got.files[0].url == fault_server.url("/files/foo-1.0-py3-none-any.whl")
    assert got.etag == '"v1"'
    (request,) = fault_server.requests
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert request.path == "/simple/foo/"
    assert request.header("authorization") == f"Basic {token}"
    assert JSON in (request.header("accept") or "")
    assert request.header("user-agent") == "pipfence"
    assert index.requests_sent == {"private": 1}
    # The entry the parent would have written: same URL, ETag, digest of the answer.
    assert index.cache is not None
    scope = index._http.credential_scope(Endpoint.of(the_source, request_url))
    entry = IndexCache(index.cache.root).open_page(fault_server.url("/simple/foo/"), scope)
    assert entry is not None
    cached, _ = entry
    assert (cached.url, cached.etag) == (fault_server.url("/simple/foo/"), '"v1"')
    assert cached.sent == page_digest(JSON, cached.url, page_body("foo", "1.0", "2.0"))
    # ...which the next call finds without a request.
    again = index.project_page(the_source, request_url, FOO)
    assert again is not None
    assert [f.filename for f in again.files] == [f.filename for f in got.files]
    assert len(fault_server.requests) == 1


def test_a_404_the_worker_got_means_no_such_project(
    fault_server: FaultServer, index: IndexClient, outcomes: list[tuple[str, str]]
) -> None:
    fault_server.route("/simple/", Respond(200, "<html></html>", content_type="text/html"))
    the_source, request_url = source(fault_server)
    assert index.project_page(the_source, request_url, FOO) is None
    assert outcomes == [("fetch", "absent")]
    # One request for the page (the worker's), then the source's own page: nothing twice.
    assert fault_server.paths() == ["/simple/foo/", "/simple/"]


def test_a_404_for_the_source_itself_still_says_its_url_looks_wrong(
    fault_server: FaultServer, index: IndexClient, outcomes: list[tuple[str, str]]
) -> None:
    the_source, request_url = source(fault_server)
    with pytest.raises(IndexServerError, match="the source's URL looks wrong"):
        index.project_page(the_source, request_url, FOO)
    assert outcomes == [("fetch", "absent")]


@pytest.mark.parametrize(
    ("answers", "then"),
    [
        # an error status, once: the parent asks again (its retries)
        ((Respond(503, "busy"), page("foo", "1.0")), ["/simple/foo/"]),
        # a redirect: the parent follows it
        ((Redirect("/mirror/simple/foo/"),), ["/simple/foo/", "/mirror/simple/foo/"]),
    ],
)
def test_an_answer_the_worker_may_not_use_is_asked_again_by_the_parent(
    fault_server: FaultServer,
    index: IndexClient,
    outcomes: list[tuple[str, str]],
    answers: tuple[Respond | Redirect, ...],
    then: list[str],
) -> None:
    fault_server.route("/simple/foo/", *answers)
    fault_server.route("/mirror/simple/foo/", page("foo", "1.0"))
    the_source, request_url = source(fault_server)
    got = index.project_page(the_source, request_url, FOO)
    assert got is not None
    assert [f.filename for f in got.files] == ["foo-1.0-py3-none-any.whl"]
    # The parent got the page itself and gave the worker only the parse.
    assert outcomes == [("fetch", "declined"), ("parse", "stored")]
    assert fault_server.paths() == ["/simple/foo/", *then]
    assert index.requests_sent == {"private": 1 + len(then)}


def test_a_refusal_the_worker_got_is_worded_by_the_parent(
    fault_server: FaultServer, index: IndexClient, outcomes: list[tuple[str, str]]
) -> None:
    fault_server.route("/simple/foo/", Respond(401, "who?"))
    the_source, request_url = source(fault_server)
    with pytest.raises(IndexServerError, match="401") as info:
        index.project_page(the_source, request_url, FOO)
    assert "`private`" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert outcomes == [("fetch", "declined")]
    assert fault_server.paths() == ["/simple/foo/", "/simple/foo/"]  # the worker's, the parent's


def test_a_body_over_the_limit_is_left_to_the_parent_which_names_the_source(
    fault_server: FaultServer, tmp_path: Path, outcomes: list[tuple[str, str]]
) -> None:
    fault_server.route("/simple/foo/", Respond(200, b" " * 3_000_000, content_type=JSON))
    client = IndexClient(
        ClientSettings(cache_dir=tmp_path / "c", page_workers=1, max_page_bytes=2_000_000),
        clock=time.time,
    )
    with client:
        workers = client._workers
        workers._start_after = 0
        workers.offer(0)
        deadline = time.monotonic() + 30
        while not workers.running and time.monotonic() < deadline:
            time.sleep(0.01)
        the_source, request_url = source(fault_server)
        with pytest.raises(IndexServerError, match="sent more than 1 MiB") as info:
            client.project_page(the_source, request_url, FOO)
    assert "`private`" in str(info.value)
    assert outcomes == [("fetch", "declined")]
