"""An environment change cut by Ctrl-C (or SIGTERM) at its most awkward moments is undone
whole, or, once it is past its point of no return, completed whole."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from pipfence.installer import leftovers
from pipfence.installer import removal as removal_module
from pipfence.installer import wheel as wheel_module
from pipfence.installer.venv import VirtualEnv
from pipfence.installer.wheel import EnvChange, WheelInstall, install_wheel
from pipfence.models.names import NormalizedName
from support.dists import build_wheel

pytestmark = pytest.mark.fast_io  # installs into real virtualenvs

ALPHA = NormalizedName("alpha")


@pytest.fixture
def env(tmp_path: Path) -> VirtualEnv:
    return VirtualEnv.create(tmp_path / "env", Path(sys.executable))


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _alpha(env: VirtualEnv, tmp_path: Path, version: str, count: int) -> Path:
    files = {f"alpha/m{i}.py": f"V = {version!r}\n" for i in range(count)}
    return build_wheel(tmp_path / f"w{version}", "alpha", version, files=files)


@pytest.mark.parametrize("after", [0, 1, 7])
def test_an_interrupt_just_after_a_file_is_moved_aside_leaves_none_behind(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    old = install_wheel(_alpha(env, tmp_path, "1.0", 10), env)
    before = files_of(env.root)
    renames = iter(range(1000))
    real_rename = os.rename

    def rename_then_interrupt(source: Any, target: Any) -> None:
        real_rename(source, target)
        if next(renames) == after:  # Ctrl-C lands as the rename returns
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", rename_then_interrupt)  # removal.py calls os.rename
    with pytest.raises(KeyboardInterrupt):
        EnvChange().set_aside(old, env)
    monkeypatch.undo()
    assert files_of(env.root) == before
    assert env.installed()[ALPHA].version == "1.0"


def test_an_interrupt_as_an_install_returns_is_undone_by_the_rollback(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = files_of(env.root)
    real_install_many = wheel_module.install_many

    def installed_then_interrupted(*args: Any, **kwargs: Any) -> Any:
        real_install_many(*args, **kwargs)
        raise KeyboardInterrupt  # after every wheel is in, before the caller has the list

    monkeypatch.setattr(wheel_module, "install_many", installed_then_interrupted)
    change = EnvChange()
    with pytest.raises(KeyboardInterrupt):
        change.install([WheelInstall(path=_alpha(env, tmp_path, "2.0", 3))], env)
    change.rollback()
    assert env.installed() == {}
    assert files_of(env.root) == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_commit_lets_it_finish_and_leaves_no_old_file(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    from pipfence._signals import terminate_as_interrupt

    old = install_wheel(_alpha(env, tmp_path, "1.0", 20), env)
    new = _alpha(env, tmp_path, "2.0", 2)
    real_discard = removal_module.SetAside.discard

    def discard_with_a_signal(self: Any) -> Any:
        signal.raise_signal(signum)  # arrives while the old files are being deleted
        return real_discard(self)

    previous = signal.getsignal(signal.SIGTERM)
    terminate_as_interrupt()
    try:
        monkeypatch.setattr(removal_module.SetAside, "discard", discard_with_a_signal)
        change = EnvChange()
        change.set_aside(old, env)
        change.install([WheelInstall(path=new)], env)
        change.commit()  # no KeyboardInterrupt: the change is made, and completed
        signal.raise_signal(signum)  # nor later: what is left of the command reports it
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert env.installed()[ALPHA].version == "2.0"
    assert not [p for p in env.root.rglob("*") if p.name.endswith(".pipfence-old")]
    assert not (env.purelib / "alpha" / "m19.py").exists()


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (28, "free some space"),  # ENOSPC
        (30, "make the environment's folder writable"),  # EROFS
        (13, "make the environment's folder writable"),  # EACCES
        (2, "clear pipfence's wheel cache"),  # ENOENT: a cached file went missing
    ],
)
def test_an_install_the_filesystem_refuses_gets_a_hint_for_its_cause(code: int, hint: str) -> None:
    assert hint in wheel_module._install_hint(OSError(code, os.strerror(code)))


def test_what_a_killed_change_set_aside_is_swept_by_the_next_change(
    env: VirtualEnv, tmp_path: Path
) -> None:
    """A process killed outright (SIGKILL) mid-change runs neither commit nor rollback: the
    files it set aside stay under their hidden names. The next change of that environment
    deletes them before it starts; a change that ends leaves no mark."""
    old = install_wheel(_alpha(env, tmp_path, "1.0", 5), env)
    killed = EnvChange()
    killed.set_aside(old, env)  # ... and the process dies here
    debris = sorted(p.name for p in env.root.rglob("*.pipfence-old"))
    assert len(debris) == 7  # the dist-info folder, __init__.py and the five modules
    assert (env.root / leftovers.MARK).is_file()

    with EnvChange() as change:
        change.install([WheelInstall(path=_alpha(env, tmp_path, "2.0", 3))], env)
    assert list(env.root.rglob("*.pipfence-old")) == []
    assert not (env.root / leftovers.MARK).exists()
    assert env.installed()[ALPHA].version == "2.0"
    assert sorted(p.name for p in (env.purelib / "alpha").glob("*.py")) == [
        "__init__.py",
        "m0.py",
        "m1.py",
        "m2.py",
    ]
