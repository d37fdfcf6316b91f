"""The resolver's own asks come before the prefetches queued ahead of them: a page or
metadata no worker has started is fetched at once in the resolver's thread."""

from __future__ import annotations

import threading
from pathlib import Path

from packaging.tags import sys_tags
from packaging.version import Version

from pipfence.models.fence import Fence
from pipfence.models.files import CoreMetadata, DistFile, ProjectPage
from pipfence.models.names import NormalizedName
from pipfence.models.sources import PYPI_SOURCE, Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes
from pipfence.project.adapters.fenced_source import FencedSource

BLOCKER = NormalizedName("blocker")
WANTED = NormalizedName("wanted")


class SlowFirstIndex:
    """An index whose page of `blocker` does not answer until released; every fetch records
    the thread that made it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.fetched_by: dict[str, str] = {}

    def project_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None:
        del source, request_url
        self.fetched_by[name] = threading.current_thread().name
        if name == BLOCKER:
            self.release.wait(timeout=20)
        file = DistFile(filename=f"{name}-1.0-py3-none-any.whl", url=f"https://x/{name}.whl")
        return ProjectPage.of_files(name, [file])

    def metadata(self, source: Source, request_url: str, file: DistFile) -> CoreMetadata | None:
        del source, request_url, file
        return CoreMetadata(name=WANTED, version=Version("1.0"))

    def download(
        self, source: Source, request_url: str, file: DistFile, dest_dir: Path
    ) -> Path:  # pragma: no cover - not asked here
        raise AssertionError


def test_a_page_no_worker_has_started_is_fetched_by_the_resolver_at_once() -> None:
    index = SlowFirstIndex()
    target = Target(environment={}, python_version=Version("3.11"), tags=tuple(sys_tags()))
    source = FencedSource(
        index,
        Fence((PYPI_SOURCE,), {}),
        Routes(environ={}),
        target,
        workers=1,
        speculate=False,
    )
    try:
        source.prefetch_pages([BLOCKER, WANTED])  # the one worker is stuck on `blocker`
        releases = source.releases(WANTED)
        assert list(releases) == ["1.0"]
        assert index.fetched_by[WANTED] == threading.current_thread().name
        assert not index.release.is_set()  # `blocker` is still being fetched
    finally:
        index.release.set()
        source.close()
