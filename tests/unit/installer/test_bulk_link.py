"""A big wheel's hard links made by a helper process (`pipfence.installer.bulk_link`, the
helper `pipfence.installer.link_helper`): the same environment as placing them in-process,
and every case the helper cannot do (a file in the way, a folder leading outside, a helper
that died) placed, refused or undone exactly as in-process."""

from __future__ import annotations

import errno
import os
import signal
import sys
from pathlib import Path

import pytest

from pipfence.errors import ArchiveError
from pipfence.installer.bulk_link import BULK_MIN, BulkLinker
from pipfence.installer.cache import UnpackedCache, file_sha256
from pipfence.installer.link_helper import run_job
from pipfence.installer.venv import VirtualEnv
from pipfence.installer.wheel import WheelInstall, install_many, install_wheel
from support.dists import build_wheel

pytestmark = pytest.mark.fast_io  # installs into real virtualenvs

PYTHON = Path(sys.executable)


@pytest.fixture
def env(tmp_path: Path) -> VirtualEnv:
    return VirtualEnv.create(tmp_path / "env", PYTHON)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[list[str] | None]:
    """What each `BulkLinker.link` answered (None: the files were placed in-process)."""
    seen: list[list[str] | None] = []
    real = BulkLinker.link

    def spy(self: BulkLinker, sources: str, targets: str, paths: list[str]) -> list[str] | None:
        answer = real(self, sources, targets, paths)
        seen.append(answer)
        return answer

    monkeypatch.setattr(BulkLinker, "link", spy)
    return seen


def big_wheel(folder: Path, name: str = "big", files: dict[str, bytes] | None = None) -> Path:
    """A wheel of well over `BULK_MIN` files in nested folders, plus ``files``."""
    many: dict[str, str | bytes] = {
        f"{name}/sub{i % 7}/deep/m{i}.py": f"N = {i}\n" for i in range(BULK_MIN * 2)
    }
    many.update(files or {})
    return build_wheel(folder, name, "1.0", files=many)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder)."""
    found: dict[str, bytes | None] = {}
    for base, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(base) / name
            found[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return found


def test_a_big_wheel_linked_by_the_helper_is_the_in_process_install(
    tmp_path: Path, answers: list[list[str] | None]
) -> None:
    wheel = big_wheel(tmp_path / "w")
    cache = UnpackedCache(tmp_path / "cache", link_mode="hardlink")
    helped = VirtualEnv.create(tmp_path / "helped", PYTHON)
    alone = VirtualEnv.create(tmp_path / "alone", PYTHON)
    [dist] = install_many([WheelInstall(path=wheel)], helped, cache=cache)
    install_wheel(wheel, alone, cache=cache)

    assert len(answers) == 1
    made = answers[0]
    assert made is not None  # the helper did the job
    package = helped.purelib / "big"
    assert str(package / "sub3" / "deep") in made
    assert tree(helped.purelib) == tree(alone.purelib)
    assert (dist.dist_info / "RECORD").read_bytes() == (
        alone.purelib / dist.dist_info.name / "RECORD"
    ).read_bytes()
    placed = package / "sub3" / "deep" / "m3.py"
    entry = cache.get(file_sha256(wheel))
    assert entry is not None
    assert placed.stat().st_ino == (entry.tree / "big" / "sub3" / "deep" / "m3.py").stat().st_ino


def test_a_file_in_the_way_of_the_helper_is_displaced_as_in_process(
    env: VirtualEnv, tmp_path: Path, answers: list[list[str] | None]
) -> None:
    other = install_wheel(build_wheel(tmp_path / "o", "other", "1", files={"big/x.py": "O"}), env)
    warnings: list[str] = []
    wheel = big_wheel(tmp_path / "w", files={"big/x.py": b"MINE = 1\n"})
    install_many([WheelInstall(path=wheel)], env, cache=UnpackedCache(tmp_path / "c"),
                 on_warning=warnings.append)  # fmt: skip

    assert answers == [None]  # the helper undid its job: placed in-process
    assert (env.purelib / "big" / "x.py").read_bytes() == b"MINE = 1\n"
    assert (env.purelib / "big" / "sub6" / "deep" / "m6.py").read_text() == "N = 6\n"
    assert not [p for p in env.root.rglob("*") if "pipfence-old" in p.name]
    assert len(warnings) == 1
    assert "overwrote 1 file installed by `other`" in warnings[0]
    assert other.dist_info.is_dir()


def test_a_folder_leading_outside_is_refused_with_the_helper_too(
    env: VirtualEnv, tmp_path: Path, answers: list[list[str] | None]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (env.purelib / "big").mkdir()
    (env.purelib / "big" / "sub4").symlink_to(outside, target_is_directory=True)
    before = tree(env.root)
    wheel = big_wheel(tmp_path / "w")
    with pytest.raises(ArchiveError, match="leads outside"):
        install_many([WheelInstall(path=wheel)], env, cache=UnpackedCache(tmp_path / "c"))
    assert answers == [None]
    assert list(outside.iterdir()) == []
    assert tree(env.root) == before


def test_a_helper_that_died_leaves_the_files_to_this_process(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BulkLinker, "_SCRIPT", tmp_path / "missing_helper.py")
    wheels = [big_wheel(tmp_path / "w", f"big{i}") for i in range(3)]
    dists = install_many(
        [WheelInstall(path=w) for w in wheels], env, cache=UnpackedCache(tmp_path / "c")
    )
    assert sorted(d.name for d in dists) == ["big0", "big1", "big2"]
    assert (env.purelib / "big2" / "sub1" / "deep" / "m1.py").read_text() == "N = 1\n"


def test_a_path_with_a_line_break_is_not_sent(tmp_path: Path) -> None:
    linker = BulkLinker(tmp_path)
    try:
        assert linker.link(f"{tmp_path}/", f"{tmp_path}/", ["a\nb"]) is None
        assert linker._helpers == []
    finally:
        linker.close()


def test_close_ends_every_helper(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("x")
    (tmp_path / "env").mkdir()
    linker = BulkLinker(tmp_path / "env")
    made = linker.link(f"{tmp_path}/src/", f"{tmp_path}/env/a/b/", ["f"])
    assert made == [f"{tmp_path}/env/a", f"{tmp_path}/env/a/b"]
    assert (tmp_path / "env" / "a" / "b" / "f").read_text() == "x"
    [process] = linker._helpers
    linker.close()
    assert process.poll() == 0
    assert linker.link(f"{tmp_path}/src/", f"{tmp_path}/env/c/", ["f"]) is None


# -- the helper's own job ------------------------------------------------------------------------


def _job(*sections: tuple[Path, Path, list[str]]) -> bytes:
    lines = []
    for sources, targets, paths in sections:
        lines.append(f"\0{sources}{os.sep}\0{targets}{os.sep}")
        lines.extend(paths)
    return "\n".join(lines).encode()


def test_a_job_links_its_files_and_names_the_folders_it_made(tmp_path: Path) -> None:
    src, root = tmp_path / "src", tmp_path / "env"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("a")
    (src / "top.py").write_text("t")
    (root / "lib").mkdir(parents=True)
    ready: set[str] = set()
    answer = run_job(_job((src, root / "lib", ["pkg/a.py", "top.py"])), str(root), str(root), ready)
    assert answer == f"ok\0{root}/lib/pkg\n".encode()
    assert (root / "lib" / "pkg" / "a.py").stat().st_ino == (src / "pkg" / "a.py").stat().st_ino
    assert {str(root / "lib"), str(root / "lib" / "pkg")} <= ready


def test_a_failed_job_undoes_all_of_itself(tmp_path: Path) -> None:
    src, root = tmp_path / "src", tmp_path / "env"
    for name in ("one/a.py", "two/b.py", "three/c.py"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(name)
    (root / "three").mkdir(parents=True)
    (root / "three" / "c.py").write_text("someone else's")
    ready: set[str] = set()
    job = _job((src, root, ["one/a.py", "two/b.py", "three/c.py"]))
    answer = run_job(job, str(root), str(root), ready)
    assert answer == f"fail\0{errno.EEXIST}\0{root}/three/c.py\n".encode()
    assert sorted(p.name for p in root.iterdir()) == ["three"]
    assert (root / "three" / "c.py").read_text() == "someone else's"
    assert str(root / "one") not in ready


def test_a_job_outside_the_environment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("x")
    (tmp_path / "env").mkdir()
    job = _job((tmp_path / "src", tmp_path / "elsewhere", ["f"]))
    answer = run_job(job, str(tmp_path / "env"), str(tmp_path / "env"), set())
    assert answer.startswith(b"fail\0")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_helper_outlives_ctrl_c_and_sigterm_to_finish_its_jobs(
    tmp_path: Path, signal_number: int
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("x")
    (tmp_path / "env").mkdir()
    linker = BulkLinker(tmp_path / "env")
    try:
        assert linker.link(f"{tmp_path}/src/", f"{tmp_path}/env/a/", ["f"]) is not None
        [process] = linker._helpers
        process.send_signal(signal_number)
        assert linker.link(f"{tmp_path}/src/", f"{tmp_path}/env/b/", ["f"]) is not None
        assert (tmp_path / "env" / "b" / "f").read_text() == "x"
        assert process.poll() is None
    finally:
        linker.close()
