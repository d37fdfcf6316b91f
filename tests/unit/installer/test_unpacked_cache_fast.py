"""The unpacked cache's fast paths keep the checks they stand in for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer.archive import check_member_name, plainly_safe
from pipfence.installer.cache import UnpackedCache, UnpackedWheel
from pipfence.models.lockfile import Lockfile
from pipfence.project.sync import warm_unpacked_cache
from support.dists import build_wheel

NAMES = [
    "a.py",
    "pkg/sub/mod.py",
    "pkg-1.0.dist-info/METADATA",
    "pkg-1.0.data/scripts/tool",
    "..a/b..",
    "a/.hidden",
    "1:x",
    "",
    "/abs",
    "a//b",
    "a/./b",
    "a/../b",
    "..",
    ".",
    "a/",
    "a\\b",
    "a\x00b",
    "C:evil",
    "c:/evil",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_fast_yes_is_a_yes_of_the_full_check(name: str) -> None:
    try:
        check_member_name(name, filename="w.whl")
    except ArchiveError:
        assert not plainly_safe(name)
    else:
        assert plainly_safe(name) or name == "a/"  # a folder entry: never in a manifest


def _lock(*digests: str) -> Lockfile:
    hashes = [f"sha256:{d}" for d in digests]
    return Lockfile.parse(
        json.dumps(
            {
                "_meta": {"hash": {"sha256": "0" * 64}, "pipfile-spec": 6, "sources": []},
                "default": {"demo": {"version": "==1.0", "hashes": hashes}},
                "develop": {},
            }
        )
    )


def test_warming_checks_the_cached_entries_of_the_lock(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0")
    cache = UnpackedCache(tmp_path / "cache")
    entry = cache.unpack(wheel)
    later = UnpackedCache(tmp_path / "cache")  # a new run: nothing known yet
    checked: list[str] = []
    real_intact = later.intact

    def intact(unpacked: UnpackedWheel) -> bool:
        checked.append(unpacked.sha256)
        return real_intact(unpacked)

    later.intact = intact  # type: ignore[method-assign]
    warm_unpacked_cache(later, _lock("f" * 64, entry.sha256), ["default"])
    assert checked == [entry.sha256]  # the other digest has no entry: nothing to check
    assert later.verified(entry.sha256) == entry


def test_warming_never_raises(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")

    def broken(sha256: str) -> UnpackedWheel | None:
        raise InstallError("cannot read the cache")

    cache.get = broken  # type: ignore[method-assign]
    warm_unpacked_cache(cache, _lock("a" * 64), ["default"])
