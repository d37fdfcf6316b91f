"""A lock whose pages a worker process parses, against a source that needs credentials: the
worker's command line and the files it writes hold no secret, and the cache entries it wrote
are the ones the next lock reads (same credential scope: no page asked again)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from pipfence.index import page_workers
from pipfence.index.page_workers import PageWorkers
from support.indexes import PypiServer
from support.project import one_source_pipfile, out, read_lock, write_pipfile
from support.secrets import CmdlineWatch, leaks, needles

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipfence.index.page_worker import PageAnswer, PageJob
    from support import RunPipfence

pytestmark = pytest.mark.integration

PASSWORD = "w0rker-s3cret/é"
USER = "ci-bot"
NAMES = ("alpha", "beta", "gamma", "delta")


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp("private") / "packages", auth=(USER, PASSWORD))
    with server.start():
        yield server


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Workers from the first page on, each page waiting for one to be ready (so that none
    is parsed in-process while it starts); the outcomes of the workers' answers."""
    monkeypatch.setattr(page_workers, "START_AFTER", 0)
    seen: list[str] = []
    real_ready, real_parse = PageWorkers._ready, PageWorkers.parse

    def ready(self: PageWorkers, size: int) -> bool:
        deadline = time.monotonic() + 30
        while not real_ready(self, size) and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_ready(self, 0)

    def parse(self: PageWorkers, job: PageJob, body: bytes) -> PageAnswer | None:
        answer = real_parse(self, job, body)
        if answer is not None:
            seen.append(answer.outcome)
        return answer

    monkeypatch.setattr(PageWorkers, "_ready", ready)
    monkeypatch.setattr(PageWorkers, "parse", parse)
    return seen


def test_a_worker_parses_a_private_sources_pages_and_sees_no_secret(
    cli: RunPipfence,
    pipfence_env: dict[str, str],
    pipfence_project: Path,
    tmp_path: Path,
    private: PypiServer,
    answers: list[str],
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
    assert answers == ["stored"] * len(NAMES)
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
