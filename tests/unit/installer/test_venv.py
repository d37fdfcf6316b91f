"""VirtualEnv: create (atomic, without ensurepip), open (cached scheme), installed()."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer import venv as venv_module
from pipfence.installer.dist_info import read_installed
from pipfence.installer.interpreter import bundled_pip_wheel
from pipfence.installer.venv import SCHEME_FILE, VirtualEnv
from support.dists import build_wheel

pytestmark = pytest.mark.fast_io  # creates virtualenvs and runs their python

PYTHON = Path(sys.executable)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> VirtualEnv:
    return VirtualEnv.create(tmp_path_factory.mktemp("venv") / "env", PYTHON)


def test_create_makes_a_working_env_in_place(env: VirtualEnv) -> None:
    assert env.python == env.root / "bin" / "python"
    assert env.purelib.is_dir()
    assert env.purelib.is_relative_to(env.root)
    assert env.scripts == env.root / "bin"
    assert env.python_version == "{}.{}.{}".format(*sys.version_info[:3])
    assert env.script_kind == "posix"
    assert not any("pipfence-tmp" in p.name for p in env.root.parent.iterdir())
    out = subprocess.run(
        [env.python, "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()) == env.root
    assert env.installed() == {}


def test_create_points_activation_at_the_final_path(env: VirtualEnv) -> None:
    activate = (env.scripts / "activate").read_text()
    assert f'"{env.root}"' in activate
    assert "pipfence-tmp" not in activate
    assert "(env)" in activate
    assert "pipfence-tmp" not in (env.root / "pyvenv.cfg").read_text()


def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its symlink target or its text (the root's name replaced)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + str(path.readlink())
        elif path.name == SCHEME_FILE:  # its pyvenv.cfg digest differs with the path
            out[rel] = json.dumps({**json.loads(path.read_text()), "pyvenv_cfg_sha256": ""})
        elif path.is_file():
            out[rel] = path.read_text(errors="replace").replace(str(root), "ROOT")
        else:
            out[rel] = "dir"
    return out


def test_create_with_pipfences_own_interpreter_runs_no_subprocess_and_matches_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Path(getattr(sys, "_base_executable", sys.executable))
    real_run = subprocess.run

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("no subprocess expected")

    monkeypatch.setattr(subprocess, "run", forbidden)
    here = VirtualEnv.create(tmp_path / "a" / "env", base, prompt="p")
    monkeypatch.setattr(subprocess, "run", real_run)
    monkeypatch.setattr(venv_module, "_is_running_interpreter", lambda _python: False)
    there = VirtualEnv.create(tmp_path / "b" / "env", base, prompt="p")
    assert _tree(here.root) == _tree(there.root)
    assert f"command = {base} -m venv" in (here.root / "pyvenv.cfg").read_text()
    rel = here.purelib.relative_to(here.root)
    assert rel == there.purelib.relative_to(there.root)
    assert here.python_version == there.python_version
    assert here.script_kind == there.script_kind


def test_open_reads_the_cached_scheme_without_a_subprocess(
    env: VirtualEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("no subprocess expected")

    monkeypatch.setattr(subprocess, "run", forbidden)
    assert VirtualEnv.open(env.root) == env


def test_open_asks_again_when_pyvenv_cfg_changes(tmp_path: Path) -> None:
    created = VirtualEnv.create(tmp_path / "env", PYTHON)
    cfg = created.root / "pyvenv.cfg"
    cfg.write_text(cfg.read_text() + "# touched\n")
    (created.root / SCHEME_FILE).write_text(
        json.dumps({**json.loads((created.root / SCHEME_FILE).read_text()), "paths": "broken"})
    )
    assert VirtualEnv.open(created.root) == created
    cached = json.loads((created.root / SCHEME_FILE).read_text())
    assert cached["paths"]["scripts"] == "bin"


def test_open_refuses_a_folder_that_is_not_a_venv(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="not a virtual environment"):
        VirtualEnv.open(tmp_path)


def test_create_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "keep.txt").write_text("mine")
    with pytest.raises(InstallError, match="exists"):
        VirtualEnv.create(tmp_path / "env", PYTHON)
    assert [p.name for p in (tmp_path / "env").iterdir()] == ["keep.txt"]


def test_create_reuses_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    assert VirtualEnv.create(tmp_path / "env", PYTHON).python.exists()


def test_failed_create_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="Could not create"):
        VirtualEnv.create(tmp_path / "env", tmp_path / "no-such-python")
    assert list(tmp_path.iterdir()) == []


def test_seed_pip_installs_the_given_wheel(tmp_path: Path) -> None:
    fake_pip = build_wheel(
        tmp_path / "wheels",
        "pip",
        "99.0",
        files={"pip-99.0.dist-info/entry_points.txt": "[console_scripts]\npip = pip:main\n"},
    )
    env = VirtualEnv.create(tmp_path / "env", PYTHON, seed_pip=True, pip_wheel=fake_pip)
    installed = env.installed()
    assert installed["pip"].version == "99.0"  # type: ignore[index]
    assert installed["pip"].installer == "pipfence"  # type: ignore[index]
    assert (env.scripts / "pip").read_text().startswith(f"#!{env.python}\n")


def test_failed_seed_removes_the_new_env(tmp_path: Path) -> None:
    bad = tmp_path / "pip-99.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ArchiveError):
        VirtualEnv.create(tmp_path / "env", PYTHON, seed_pip=True, pip_wheel=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == [bad.name]


def test_bundled_pip_wheel_is_a_pip_wheel_or_none() -> None:
    found = bundled_pip_wheel(PYTHON)
    if found is not None:
        assert found.name.startswith("pip-")
        assert found.suffix == ".whl"
        assert found.is_file()


def test_installed_reads_name_version_installer_and_direct_url(tmp_path: Path) -> None:
    site = tmp_path / "site"
    plain = site / "Foo_Bar-1.0.dist-info"
    plain.mkdir(parents=True)
    (plain / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0\n\nName: x\n"
    )
    (plain / "INSTALLER").write_text("pip\n")
    editable = site / "proj-0.1.dist-info"
    editable.mkdir()
    (editable / "METADATA").write_text("Name: proj\nVersion: 0.1\n")
    (editable / "direct_url.json").write_text(
        json.dumps({"url": "file:///src/proj", "dir_info": {"editable": True}})
    )
    broken = site / "broken-1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Name: broken\n")
    (site / "other.egg-info").mkdir()
    found = read_installed((site,))
    assert sorted(found) == ["foo-bar", "proj"]
    foo = found["foo-bar"]  # type: ignore[index]
    assert (foo.version, foo.installer, foo.editable, foo.url, foo.dist_info) == (
        "1.0",
        "pip",
        False,
        None,
        plain,
    )
    proj = found["proj"]  # type: ignore[index]
    assert (proj.editable, proj.url, proj.installer) == (True, "file:///src/proj", None)
