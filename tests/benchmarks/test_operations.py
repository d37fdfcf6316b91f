"""A finished repetition's trees stay until the bench ends, room permitting (bench/operations.py):
deleting them just before the next measurement makes that measurement pay for the deletion."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from bench import fsprobe, operations
from bench.tools import Toolbox


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


def _bench(tmp: Path) -> operations.Bench:
    toolbox = Toolbox(tmp, tmp, tmp, tmp, "python3", plot_ok=False, versions={})
    return operations.Bench(toolbox, ("pipfence",), 2, 60.0, tmp, None)


def _rep(tmp: Path, name: str) -> Path:
    root = tmp / name
    (root / "cache").mkdir(parents=True)
    (root / "cache" / "wheel").write_bytes(b"x" * 10)
    return root


def _free_space(monkeypatch: pytest.MonkeyPatch, free: list[int]) -> None:
    """shutil.disk_usage answers the next of ``free`` on each call."""
    answers = iter(free)
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: _Usage(0, 0, next(answers)))


def test_a_repetition_is_kept_until_the_end_when_the_disk_has_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench(tmp_path)
    root = _rep(tmp_path, "run0")
    _free_space(monkeypatch, [100 << 30])  # 2 GiB used by the repetition, 100 GiB left
    operations.retire(bench, [root], free_before=102 << 30)
    assert (root / "cache" / "wheel").exists()
    assert bench.largest_rep == 2 << 30
    assert bench.notes == []


def test_a_repetition_is_deleted_at_once_when_room_runs_short_and_the_results_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench(tmp_path)
    first, second = _rep(tmp_path, "run0"), _rep(tmp_path, "run1")
    # The first repetition used 4 GiB and left 30: room for three more and the reserve.
    # The second used 4 GiB more and left 16: not enough for three like the largest.
    _free_space(monkeypatch, [30 << 30, 16 << 30])
    operations.retire(bench, [first], free_before=34 << 30)
    operations.retire(bench, [second], free_before=20 << 30)
    assert first.exists()
    assert not second.exists()
    assert len(bench.notes) == 1
    assert "deleted before the next one for lack of disk space" in bench.notes[0]


def test_a_stale_lock_is_pipfences_lock_with_every_page_past_its_age_and_the_others_warm_lock(
    tmp_path: Path,
) -> None:
    from bench import commands

    toolbox = Toolbox(
        tmp_path / "pf", tmp_path / "pe", tmp_path / "uv", tmp_path, "python3", False, {}
    )
    for tool in ("pipfence", "uv", "pipenv"):
        slot = commands.Slot(tool, tmp_path / tool)
        (stale,) = commands.stale_lock_steps(slot, toolbox)
        (warm,) = commands.lock_steps(slot, toolbox)
        assert stale.argv == warm.argv
        expected = {**warm.env, "PIPFENCE_PAGE_MAX_AGE": "1"} if tool == "pipfence" else warm.env
        assert stale.env == expected
    assert "lock-stale" in operations.OPS
    assert "lock-stale" in operations.LOCK_OPS  # its request count is reported


def test_the_file_system_probe_makes_its_links_and_leaves_them(tmp_path: Path) -> None:
    seconds = fsprobe.probe(tmp_path / "probe", links=25)
    assert seconds is not None
    assert seconds > 0
    source = tmp_path / "probe" / "source"
    assert source.stat().st_nlink == 26  # the file and its 25 links, all still there
    assert sorted(p.name for p in (tmp_path / "probe").iterdir()) == ["d0", "d1", "d2", "source"]
    assert (tmp_path / "probe" / "d2" / "f24").read_bytes() == b"probe\n"


def test_the_probe_note_names_the_repetitions_that_ran_on_a_slow_file_system() -> None:
    assert fsprobe.probe_note([]) is None
    calm = fsprobe.probe_note([("large run 1", 0.020), ("large run 2", 0.030)])
    assert calm is not None
    assert "median 25 ms, 20-30 ms" in calm
    assert "suspect" not in calm
    slowed = fsprobe.probe_note(
        [("large run 1", 0.020), ("large run 2", 0.090), ("stress run 1", 0.021)]
    )
    assert slowed is not None
    assert "20-90 ms" in slowed
    assert "slower before large run 2: the syncs timed then are suspect" in slowed


def test_a_repetition_with_syncs_is_probed_before_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = operations.Bench(
        Toolbox(tmp_path, tmp_path, tmp_path, tmp_path, "python3", plot_ok=False, versions={}),
        ("pipfence",),
        2,
        60.0,
        tmp_path,
        [],
    )
    order: list[str] = []
    real_probe = fsprobe.probe

    def probe(folder: Path) -> float | None:
        order.append("probe")
        return real_probe(folder, links=3)

    monkeypatch.setattr(fsprobe, "probe", probe)
    monkeypatch.setattr(
        operations, "timed_sync", lambda _b, _slot, _name, rep: order.append(f"sync {rep}")
    )
    monkeypatch.setattr(operations, "retire", lambda *_args: None)
    workload = tmp_path / "large"
    workload.mkdir()
    (workload / "Pipfile").write_text('[packages]\nsix = "*"\n')
    (workload / "requirements.in").write_text("six\n")
    (workload / "requirements-dev.in").write_text("")
    operations.time_workload(bench, workload, ["sync"])
    assert order == ["probe", "sync 0", "probe", "sync 1"]
    assert [label for label, _seconds in bench.probes] == ["large run 1", "large run 2"]
    assert (tmp_path / "fsprobe" / "1-large-1" / "d0" / "f2").exists()


def test_a_probe_the_file_system_refuses_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the probe's folder would go")
    assert fsprobe.probe(tmp_path / "taken" / "probe") is None
