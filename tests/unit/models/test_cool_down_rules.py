"""The pure rules behind ``[pipenv] cool-down-period``: upload times read from both page
formats, and which files a cutoff lets through."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipfence.index.page_blob import dump_page, load_page
from pipfence.index.simple import parse_project_page
from pipfence.models.files import DistFile, UploadedBefore, uploaded_before

CUTOFF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _file(upload_time: str | None) -> DistFile:
    return DistFile(
        filename="foo-1.0.tar.gz", url="https://x/foo-1.0.tar.gz", upload_time=upload_time
    )


@pytest.mark.parametrize(
    ("upload_time", "taken"),
    [
        pytest.param(None, True, id="no-time"),
        pytest.param("2026-10-31T23:59:59Z", True, id="before"),
        pytest.param("2026-11-01T00:00:00Z", False, id="at-the-cutoff"),
        pytest.param("2026-11-02T00:00:00.123456Z", False, id="after"),
        pytest.param("2026-11-01T00:30:00+01:00", True, id="offset-before"),
        pytest.param("2026-10-31T12:00:00", True, id="naive-is-utc"),
        pytest.param("yesterday", False, id="unreadable-fails-closed"),
    ],
)
def test_a_file_is_taken_only_when_uploaded_before_the_cutoff(
    upload_time: str | None, taken: bool
) -> None:
    assert uploaded_before(_file(upload_time), CUTOFF) is taken


def test_releases_keep_every_version_but_lose_recent_files() -> None:
    releases = {
        "1.0": (_file("2026-01-01T00:00:00Z"),),
        "1.1": (_file("2026-11-20T00:00:00Z"), _file(None)),
        "1.2": (_file("2026-11-20T00:00:00Z"),),
    }
    filtered = UploadedBefore(releases, CUTOFF)
    assert list(filtered) == ["1.0", "1.1", "1.2"]
    assert len(filtered["1.0"]) == 1
    assert [f.upload_time for f in filtered["1.1"]] == [None]
    assert filtered["1.2"] == ()


def test_upload_times_come_from_json_and_html_pages_and_survive_the_cache() -> None:
    body = json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "name": "foo",
            "files": [
                {
                    "filename": "foo-1.0.tar.gz",
                    "url": "foo-1.0.tar.gz",
                    "hashes": {},
                    "upload-time": "2026-01-01T00:00:00.000000Z",
                },
                {"filename": "foo-1.1.tar.gz", "url": "foo-1.1.tar.gz", "hashes": {}},
            ],
        }
    ).encode()
    page = parse_project_page(body, "application/vnd.pypi.simple.v1+json", "https://i/simple/foo/")
    assert [f.upload_time for f in page.files] == ["2026-01-01T00:00:00.000000Z", None]
    html = (
        b'<a href="foo-1.0.tar.gz" data-upload-time="2026-01-01T00:00:00Z">foo-1.0.tar.gz</a>'
        b'<a href="foo-1.1.tar.gz">foo-1.1.tar.gz</a>'
    )
    page = parse_project_page(html, "text/html", "https://i/simple/foo/")
    assert [f.upload_time for f in page.files] == ["2026-01-01T00:00:00Z", None]
    blob = dump_page(page)
    assert blob is not None
    cached = load_page(blob)
    assert cached is not None
    assert [f.upload_time for f in cached.files] == ["2026-01-01T00:00:00Z", None]
