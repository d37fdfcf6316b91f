"""satisfies: is what is installed what the lock wants? Pure cases, no environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipfence.installer.satisfies import (
    DirectOrigin,
    InstalledDist,
    WantedDist,
    direct_url_satisfies,
    same_version,
    satisfies,
)
from pipfence.models.names import canonical_name

SHA = "ab" * 32
REPO = "https://git.example/acme/tool.git"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _installed(version: str = "1.0", **fields: Any) -> InstalledDist:
    return InstalledDist(
        name=canonical_name("tool"),
        version=version,
        dist_info=Path(f"/env/site/tool-{version}.dist-info"),
        **fields,
    )


def _wanted(version: str = "1.0", **fields: Any) -> WantedDist:
    return WantedDist(name=canonical_name("tool"), version=version, **fields)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0", True),
        ("1.0", "1.0.0", True),
        ("1.0", "1.0.1", False),
        ("1.0.post1", "1.0-1", True),
        ("1.0+local", "1.0", False),
        ("not a version", "not a version", True),
        ("not a version", "1.0", False),
    ],
)
def test_same_version(a: str, b: str, expected: bool) -> None:
    assert same_version(a, b) is expected


@pytest.mark.parametrize(
    ("wanted", "installed", "expected"),
    [
        (_wanted(), _installed(), True),
        (_wanted("1.0.0"), _installed("1.0"), True),
        (_wanted("1.1"), _installed("1.0"), False),
        (_wanted(), _installed(editable=True, url="file:///src/tool"), False),
        (_wanted(), _installed(url="file:///wheels/tool-1.0-py3-none-any.whl"), False),
        (
            _wanted(editable=True, url="file:///src/tool"),
            _installed(editable=True, url="file:///src/tool"),
            True,
        ),
        (
            _wanted(editable=True, url="file:///src/tool"),
            _installed(editable=False, url="file:///src/tool"),
            False,
        ),
        (_wanted(url="file:///src/tool"), _installed(url="file:///src/other"), False),
    ],
    ids=[
        "same version from an index",
        "PEP 440 equal versions",
        "another version",
        "an editable install is not the index package",
        "a direct URL install is not the index package",
        "the same editable folder",
        "not editable where an editable one is wanted",
        "another direct URL",
    ],
)
def test_satisfies(wanted: WantedDist, installed: InstalledDist, expected: bool) -> None:
    assert satisfies(wanted, installed) is expected


_VCS = DirectOrigin(kind="vcs", url=REPO, commit=COMMIT)
_ARCHIVE = DirectOrigin(
    kind="archive", url="https://files.example/tool-1.0.tar.gz", hashes=frozenset({SHA})
)
_FOLDER = DirectOrigin(kind="directory", url="file:///src/tool", editable=True)


@pytest.mark.parametrize(
    ("direct_url", "origin", "expected"),
    [
        (None, _FOLDER, False),
        ({"url": "file:///src/tool", "dir_info": {"editable": True}}, _FOLDER, True),
        ({"url": "file:///src/tool", "dir_info": {}}, _FOLDER, False),
        ({"url": "file:///src/tool", "dir_info": {"editable": "yes"}}, _FOLDER, False),
        ({"url": "file:///src/other", "dir_info": {"editable": True}}, _FOLDER, False),
        (
            {"url": "file:///src/tool", "dir_info": {}},
            DirectOrigin(kind="directory", url="file:///src/tool"),
            True,
        ),
        ({"url": REPO, "vcs_info": {"vcs": "git", "commit_id": COMMIT}}, _VCS, True),
        ({"url": REPO, "vcs_info": {"vcs": "git", "commit_id": "f" * 40}}, _VCS, False),
        ({"url": REPO, "vcs_info": "broken"}, _VCS, False),
        ({"url": REPO}, _VCS, False),
        (
            {"url": REPO, "vcs_info": {"commit_id": COMMIT}, "dir_info": {"editable": True}},
            _VCS,
            False,
        ),
        ({"url": _ARCHIVE.url, "archive_info": {"hashes": {"sha256": SHA}}}, _ARCHIVE, True),
        (
            {"url": _ARCHIVE.url, "archive_info": {"hashes": {"sha256": SHA.upper()}}},
            _ARCHIVE,
            True,
        ),
        ({"url": _ARCHIVE.url, "archive_info": {"hashes": {"sha256": "cd" * 32}}}, _ARCHIVE, False),
        ({"url": _ARCHIVE.url, "archive_info": {"hash": f"sha256={SHA}"}}, _ARCHIVE, False),
        ({"url": _ARCHIVE.url, "archive_info": {}}, _ARCHIVE, False),
        (
            {
                "url": "https://elsewhere.example/tool-1.0.tar.gz",
                "archive_info": {"hashes": {"sha256": SHA}},
            },
            _ARCHIVE,
            False,
        ),
        (
            {"url": _ARCHIVE.url, "archive_info": {"hashes": {"sha256": "cd" * 32}}},
            DirectOrigin(kind="archive", url=_ARCHIVE.url),
            True,
        ),
        (
            {"url": _ARCHIVE.url, "archive_info": {"hashes": {}}},
            DirectOrigin(kind="archive", url=_ARCHIVE.url),
            False,
        ),
    ],
    ids=[
        "no direct_url.json",
        "the same editable folder",
        "a folder installed without editable",
        "editable must be true, not truthy",
        "another folder",
        "a folder, neither editable",
        "the locked commit",
        "another commit",
        "vcs_info not an object",
        "no vcs_info",
        "an editable checkout is not the locked commit's install",
        "an archive with an allowed sha256",
        "a sha256 in upper case",
        "an archive with another sha256",
        "only the legacy hash key",
        "no hashes recorded",
        "the same file from another URL",
        "any sha256 when the lock has none",
        "but some sha256 must be recorded",
    ],
)
def test_direct_url_satisfies(
    direct_url: dict[str, Any] | None, origin: DirectOrigin, expected: bool
) -> None:
    assert direct_url_satisfies(direct_url, origin) is expected
