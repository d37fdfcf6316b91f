"""A lock whose pages a worker process fetches and parses, against a source that needs
credentials, and through a proxy that needs them too: the worker's command line and the files
it writes hold no secret, its requests carry the credentials (the index and the proxy let them
through), and the cache entries it wrote are the ones the next lock reads (same credential
scope: no page asked again)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from pipfence.index import page_workers
from pipfence.index.page_workers import PageWorkers
from support.indexes import PypiServer
from support.project import one_source_pipfile, out, read_lock, write_pipfile
from support.proxy import ForwardProxy
from support.secrets import CmdlineWatch, leaks, needles

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipfence.index.page_worker import FetchJob, PageAnswer, PageJob
    from support import RunPipfence

pytestmark = pytest.mark.integration

PASSWORD = "w0rker-s3cret/é"
PROXY_SECRET = "pr0xy-w0rker-s3cret"
USER = "ci-bot"
NAMES = ("alpha", "beta", "gamma", "delta")


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp("private") / "packages", auth=(USER, PASSWORD))
    with server.start():
        yield server


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Workers started with the first page, each page waiting for one to be running (so that
    none is fetched by the parent while it starts); (job kind, outcome) of their answers."""
    monkeypatch.setattr(page_workers, "START_AFTER", 0)
    seen: list[tuple[str, str]] = []
    real_running, real_parse, real_fetch = (
        PageWorkers.running,
        PageWorkers.parse,
        PageWorkers.fetch,
    )

    def running(self: PageWorkers) -> bool:
        self.offer(0)
        deadline = time.monotonic() + 30
        while not real_running.fget(self) and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        return bool(real_running.fget(self))  # type: ignore[attr-defined]

    def parse(self: PageWorkers, job: PageJob, body: bytes) -> PageAnswer | None:
        answer = real_parse(self, job, body)
        if answer is not None:
            seen.append(("parse", answer.outcome))
        return answer

    def fetch(self: PageWorkers, job: FetchJob) -> PageAnswer | None:
        answer = real_fetch(self, job)
        if answer is not None:
            seen.append(("fetch", answer.outcome))
        return answer

    monkeypatch.setattr(PageWorkers, "running", property(running))
    monkeypatch.setattr(PageWorkers, "parse", parse)
    monkeypatch.setattr(PageWorkers, "fetch", fetch)
    return seen


def test_a_worker_fetches_a_private_sources_pages_and_sees_no_secret(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    private: PypiServer,
    answers: list[tuple[str, str]],
) -> None:
    for name in NAMES:
        private.add_dist(name, "1.0")
    url = private.simple_url.replace("http://", "http://${IDX_USER}:${IDX_PASS}@")
    packages = "".join(f'{name} = "*"\n' for name in NAMES)
    write_pipfile(pipfence_project, one_source_pipfile(url, packages))
    env = {**pipfence_env, "PIPFENCE_PAGE_WORKERS": "1", "IDX_USER": USER, "IDX_PASS": PASSWORD}
    secrets = needles(USER, PASSWORD)
    with CmdlineWatch(secrets) as watch:
        locked = cli(["lock"], env=env)
    assert locked.returncode == 0, out(locked)
    # Each page fetched by the worker, with the credentials: pypiserver refuses any other.
    assert answers == [("fetch", "stored")] * len(NAMES)
    pages = [r for r in private.requests() if "/simple/" in r.path]
    assert sorted(r.path.rstrip("/").rsplit("/", 1)[-1] for r in pages) == sorted(NAMES)
    assert {r.status for r in pages} == {200}
    assert watch.hits == []
    assert leaks([pipfence_project, tmp_path / "env"], secrets) == []
    assert {
        name: entry["version"] for name, entry in read_lock(pipfence_project)["default"].items()
    } == dict.fromkeys(NAMES, "==1.0")

    # The entries the worker wrote are found under the same credentials (the scope is part
    # of their key): locking again asks the private source for no page.
    (pipfence_project / "Pipfile.lock").unlink()
    private.clear_log()
    again = cli(["lock"], env=env)
    assert again.returncode == 0, out(again)
    asked = [r.path for r in private.requests() if "/simple/" in r.path]
    assert asked == [], asked


def test_a_worker_fetches_through_the_proxy_the_only_way_to_the_index(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    public_index: PypiServer,
    answers: list[tuple[str, str]],
) -> None:
    for name in NAMES:
        public_index.add_dist(name, "1.0")
    # `pypi.internal` resolves for the proxy only: a worker that went around it would fail.
    url = f"http://pypi.internal:{public_index.port}/simple"
    write_pipfile(pipfence_project, one_source_pipfile(url, "".join(f'{n} = "*"\n' for n in NAMES)))
    env = {
        k: v
        for k, v in pipfence_env.items()
        if k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    env["PIPFENCE_PAGE_WORKERS"] = "1"
    with ForwardProxy(tmp_path / "proxy", auth=("corp", PROXY_SECRET)) as proxy:
        env["HTTP_PROXY"] = proxy.url
        with CmdlineWatch(needles("corp", PROXY_SECRET)) as watch:
            locked = cli(["lock"], env=env)
        assert locked.returncode == 0, out(locked)
        assert f"pypi.internal:{public_index.port}" in proxy.hosts()
    assert answers == [("fetch", "stored")] * len(NAMES)
    # The proxy's own command line holds its password; no process of pipfence's does.
    assert [hit for hit in watch.hits if " -m proxy " not in hit] == []
    assert PROXY_SECRET not in locked.stdout + locked.stderr
    assert leaks([pipfence_project, tmp_path / "env"], needles("corp", PROXY_SECRET)) == []
    pages = [r.path for r in public_index.requests() if "/simple/" in r.path]
    assert sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in pages) == sorted(NAMES)
