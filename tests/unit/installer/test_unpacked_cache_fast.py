"""The unpacked cache's fast paths keep the checks they stand in for."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer import entry_check
from pipfence.installer.ahead_check import AheadCheck
from pipfence.installer.archive import all_plainly_safe, check_member_name, plainly_safe
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


@given(
    st.lists(
        st.one_of(
            st.sampled_from([*NAMES, "a\nb", "ok/x\n", "C:", "a/b:c"]),
            st.text(alphabet="ab/.:\\\x00\nC", max_size=8),
        ),
        max_size=6,
    )
)
def test_all_plainly_safe_agrees_with_the_path_by_path_answer(paths: list[str]) -> None:
    each = all(plainly_safe(p) for p in paths)
    if all_plainly_safe(paths):
        assert each
    elif paths and not any("\n" in p for p in paths):
        assert not each


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


@pytest.mark.fast_io  # the helper is a process
def test_warming_checks_the_cached_entries_of_the_lock_in_a_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0")
    entry = UnpackedCache(tmp_path / "cache").unpack(wheel)
    later = UnpackedCache(tmp_path / "cache")  # a new run: nothing known yet
    checked_here: list[str] = []
    real = entry_check.files_intact

    def files_intact(prefix: str, files: Iterable[tuple[str, int, int, int]]) -> bool:
        checked_here.append(prefix)
        return real(prefix, files)

    monkeypatch.setattr("pipfence.installer.cache.files_intact", files_intact)
    warm_unpacked_cache(later, _lock("f" * 64, entry.sha256), ["default"])
    try:
        assert later.verified(entry.sha256) == entry
    finally:
        later.end_ahead()
    assert checked_here == []  # the helper process's answer, not a check of this process


@pytest.mark.fast_io  # the helper is a process
def test_an_entry_the_helper_does_not_vouch_for_is_checked_here(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0", files={"demo/data.py": "x = 1\n"})
    entry = UnpackedCache(tmp_path / "cache").unpack(wheel)
    changed = entry.tree / "demo" / "data.py"
    with changed.open("r+", encoding="utf-8") as handle:  # same size, same inode
        handle.write("x = 2\n")
    later = UnpackedCache(tmp_path / "cache")
    later.check_ahead([entry.sha256])
    try:
        assert later.get(entry.sha256) is not None
        assert not later.intact(later.get(entry.sha256))  # type: ignore[arg-type]
        redone = later.verified(entry.sha256)  # unpacked again from the kept wheel
    finally:
        later.end_ahead()
    assert redone is not None
    assert (redone.tree / "demo" / "data.py").read_text(encoding="utf-8") == "x = 1\n"


def test_without_the_helper_the_cache_checks_every_entry_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0")
    entry = UnpackedCache(tmp_path / "cache").unpack(wheel)
    monkeypatch.setattr(AheadCheck, "_SCRIPT", tmp_path / "missing.py")
    later = UnpackedCache(tmp_path / "cache")
    later.check_ahead([entry.sha256])
    assert later.verified(entry.sha256) == entry
    (entry.tree / "demo" / "__init__.py").unlink()
    again = UnpackedCache(tmp_path / "cache")
    again.check_ahead([entry.sha256])
    assert not again.intact(entry)


def test_the_helper_names_only_the_intact_entries_it_was_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = UnpackedCache(tmp_path / "cache")
    good = cache.unpack(build_wheel(tmp_path / "a", "good", "1.0"))
    bad = cache.unpack(build_wheel(tmp_path / "b", "bad", "1.0"))
    unasked = cache.unpack(build_wheel(tmp_path / "c", "unasked", "1.0"))
    next(iter(bad.tree.rglob("*.py"))).write_text("changed = True\n", encoding="utf-8")
    asked = [good.sha256, bad.sha256, "0" * 64, "../" + "a" * 61, "not-a-digest"]
    monkeypatch.setattr("sys.stdin", io.StringIO(" ".join(asked)))
    assert entry_check.main(["entry_check.py", str(cache.root)]) == 0
    assert capsys.readouterr().out.split() == [good.sha256]
    assert unasked.sha256 not in asked


def test_warming_never_raises(tmp_path: Path) -> None:
    cache = UnpackedCache(tmp_path / "cache")

    def broken(sha256: str) -> UnpackedWheel | None:
        raise InstallError("cannot read the cache")

    cache.get = broken  # type: ignore[method-assign]
    warm_unpacked_cache(cache, _lock("a" * 64), ["default"])


def test_an_entry_made_after_the_root_was_listed_is_used_not_replaced(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0")
    root = tmp_path / "cache"
    root.mkdir()
    this_run = UnpackedCache(root)
    assert this_run.get("f" * 64) is None  # the root is listed now, empty
    other = UnpackedCache(root).unpack(wheel)  # another process makes the entry
    manifest = other.root / "manifest.json"
    made = manifest.stat().st_ino

    assert this_run.get(other.sha256) is None  # not in the listing: taken as absent ...
    found = this_run.unpack(wheel)  # ... until unpacking meets the entry there
    assert found.sha256 == other.sha256
    assert manifest.stat().st_ino == made  # the other's entry is kept, not replaced
    assert this_run.get(other.sha256) == found


@pytest.mark.parametrize(
    "row",
    [
        ["../../outside.py", "sha256=x", 1, False, 0, 0],  # a path out of the tree
        ["demo/__init__.py", "sha256=x", "1", False, 0, 0],  # a size that is not a number
    ],
    ids=["unsafe-path", "bad-shape"],
)
def test_an_entry_whose_manifest_rows_changed_is_made_again(
    tmp_path: Path, row: list[object]
) -> None:
    wheel = build_wheel(tmp_path / "w", "demo", "1.0")
    entry = UnpackedCache(tmp_path / "cache").unpack(wheel)
    manifest = entry.root / "manifest.json"
    data = json.loads(manifest.read_bytes())
    data["files"].append(row)
    manifest.write_text(json.dumps(data), encoding="utf-8")

    later = UnpackedCache(tmp_path / "cache")
    found = later.get(entry.sha256)
    assert found is not None  # its head is sound: the rows are read when needed
    with pytest.raises(ArchiveError, match=r"demo-1\.0"):
        _ = found.files
    assert not later.intact(found)
    again = later.verified(entry.sha256)  # unpacked again from the kept wheel
    assert again is not None
    assert [f.path for f in again.files] == [f.path for f in entry.files]
