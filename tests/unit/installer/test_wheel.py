"""Wheel installs: layout and RECORD, uninstall, unsafe archives, the unpacked cache,
install_many's concurrency and rollback. Real tiny wheels, real venvs in tmp_path."""

from __future__ import annotations

import base64
import concurrent.futures
import errno
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pipfence.errors import ArchiveError, InstallError
from pipfence.installer import archive as archive_module
from pipfence.installer import cache as cache_module
from pipfence.installer import destination as destination_module
from pipfence.installer import wheel as wheel_module
from pipfence.installer.cache import LinkMode, UnpackedCache, file_sha256
from pipfence.installer.removal import uninstall
from pipfence.installer.venv import VirtualEnv
from pipfence.installer.wheel import (
    EnvChange,
    WheelInstall,
    install_many,
    install_wheel,
)
from pipfence.models.names import NormalizedName
from support.dists import build_wheel

pytestmark = pytest.mark.fast_io  # installs into real virtualenvs

PYTHON = Path(sys.executable)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> VirtualEnv:
    return VirtualEnv.create(tmp_path_factory.mktemp("template") / "env", PYTHON)


@pytest.fixture
def env(tmp_path: Path) -> VirtualEnv:
    return VirtualEnv.create(tmp_path / "env", PYTHON)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("untouched")
    return folder


def snapshot(root: Path) -> dict[str, object]:
    """Every path under root with its file bytes or symlink target (symlinks not followed)."""
    found: dict[str, object] = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(base) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_file():
                found[key] = path.read_bytes()
            else:
                found[key] = "dir"
    return found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def craft(
    folder: Path,
    entries: Iterable[tuple[str, bytes]],
    *,
    filename: str = "evil-1.0-py3-none-any.whl",
    dist_info: str = "evil-1.0.dist-info",
    metadata: bytes = b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
    record: bytes | None = None,
    unlisted: Iterable[str] = (),
    executable: Iterable[str] = (),
) -> Path:
    """A wheel from raw zip entries, with METADATA, WHEEL and (unless given) a correct RECORD;
    the entries named in ``executable`` have the executable bits."""
    items = [
        *entries,
        (f"{dist_info}/METADATA", metadata),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    if record is None:
        lines = [f"{n},sha256={_b64(d)},{len(d)}" for n, d in items if n not in set(unlisted)]
        record = ("\n".join([*lines, f"{dist_info}/RECORD,,"]) + "\n").encode()
    items.append((f"{dist_info}/RECORD", record))
    path = folder / filename
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in items:
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o100755 if name in set(executable) else 0o644) << 16
                zf.writestr(info, data)
    return path


# -- a normal install --------------------------------------------------------------------------


def test_install_then_import_through_the_envs_python(env: VirtualEnv, tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path / "w",
        "Demo.Pkg",
        "1.2",
        files={
            "demo_pkg/cli.py": "def main():\n    print('hello from demo')\n",
            "demo_pkg-1.2.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo_pkg.cli:main\n",
        },
    )
    dist = install_wheel(wheel, env, requested=True)
    assert (dist.name, dist.version, dist.installer) == ("demo-pkg", "1.2", "pipfence")
    assert dist.dist_info == env.purelib / "demo_pkg-1.2.dist-info"
    assert (dist.dist_info / "REQUESTED").exists()
    assert (dist.dist_info / "INSTALLER").read_text() == "pipfence\n"
    assert not (dist.dist_info / "direct_url.json").exists()
    out = subprocess.run(
        [env.python, "-c", "import demo_pkg; print(demo_pkg.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "1.2\n"
    script = env.scripts / "demo"
    assert script.read_text().startswith(f"#!{env.python}\n")
    assert os.access(script, os.X_OK)
    assert (
        subprocess.run([script], capture_output=True, text=True, check=True).stdout
        == "hello from demo\n"
    )
    assert env.installed() == {"demo-pkg": dist}
    assert not any(p.name.startswith(".pipfence-unpack") for p in env.root.iterdir())


def test_record_lists_every_installed_file_and_uninstall_removes_them(
    template: VirtualEnv, tmp_path: Path
) -> None:
    env = template
    before = snapshot(env.root)
    wheel = craft(
        tmp_path / "w",
        [
            ("evil/__init__.py", b"X = 1\n"),
            ("evil/sub/mod.py", b"Y = 2\n"),
            ("evil-1.0.data/scripts/tool", b"#!python\nprint('tool')\n"),
            ("evil-1.0.data/data/share/evil/readme.txt", b"data\n"),
            ("evil-1.0.data/headers/evil.h", b"/* h */\n"),
            ("evil-1.0.dist-info/entry_points.txt", b"[console_scripts]\nevil-cli = evil:main\n"),
        ],
    )
    dist = install_wheel(wheel, env, direct_url={"url": "file:///w/evil.whl", "archive_info": {}})
    assert dist.url == "file:///w/evil.whl"
    assert not dist.editable
    assert (
        json.loads((dist.dist_info / "direct_url.json").read_text())["url"] == "file:///w/evil.whl"
    )
    assert (env.scripts / "tool").read_bytes() == f"#!{env.python}\nprint('tool')\n".encode()
    assert (env.root / "share" / "evil" / "readme.txt").read_text() == "data\n"
    assert (env.headers / "evil" / "evil.h").exists()
    rows = {
        line.split(",")[0]: line for line in (dist.dist_info / "RECORD").read_text().splitlines()
    }
    site = dist.dist_info.parent
    for rel, row in rows.items():
        path = Path(os.path.normpath(site / rel))
        assert path.is_file(), rel
        if not rel.endswith("RECORD"):
            assert row.split(",")[1] == f"sha256={_b64(path.read_bytes())}", rel
    assert {os.path.normpath(site / r) for r in rows} >= {
        str(env.scripts / "tool"),
        str(env.scripts / "evil-cli"),
        str(env.root / "share" / "evil" / "readme.txt"),
    }
    # Bytecode and an entry outside the environment: the first goes, the second stays.
    subprocess.run([env.python, "-m", "compileall", "-q", site / "evil"], check=True)
    assert list((site / "evil" / "sub" / "__pycache__").glob("mod.*.pyc"))
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    with (dist.dist_info / "RECORD").open("a") as fh:
        fh.write(f"{os.path.relpath(outside, site)},,\n")

    removed = uninstall(dist, env)
    assert outside.read_text() == "keep"
    assert env.scripts / "evil-cli" in removed
    assert snapshot(env.root) == before


def test_a_file_of_another_dist_is_replaced_not_written_through(
    env: VirtualEnv, tmp_path: Path, outside: Path
) -> None:
    (env.purelib / "evil").mkdir()
    (env.purelib / "evil" / "__init__.py").symlink_to(outside / "victim.txt")
    install_wheel(craft(tmp_path / "w", [("evil/__init__.py", b"X = 1\n")]), env)
    assert (outside / "victim.txt").read_text() == "untouched"
    assert not (env.purelib / "evil" / "__init__.py").is_symlink()
    assert (env.purelib / "evil" / "__init__.py").read_bytes() == b"X = 1\n"
    assert not [p for p in (env.purelib / "evil").iterdir() if "pipfence-old" in p.name]


def test_a_failed_install_restores_what_it_displaced(env: VirtualEnv, tmp_path: Path) -> None:
    (env.purelib / "shared.py").write_text("other dist's file\n")
    (env.purelib / "blocked").mkdir()
    (env.purelib / "blocked" / "keep.py").write_text("")
    before = snapshot(env.root)
    wheel = craft(tmp_path / "w", [("shared.py", b"mine\n"), ("evil/a.py", b""), ("blocked", b"x")])
    with pytest.raises(InstallError, match="folder is in the way"):
        install_wheel(wheel, env)
    assert snapshot(env.root) == before


def test_uninstall_refuses_a_dist_outside_the_env(env: VirtualEnv, tmp_path: Path) -> None:
    dist = install_wheel(build_wheel(tmp_path / "w", "a", "1"), env)
    (dist.dist_info / "RECORD").unlink()
    with pytest.raises(InstallError, match="no readable RECORD"):
        uninstall(dist, env)
    elsewhere = VirtualEnv.create(tmp_path / "other", PYTHON)
    with pytest.raises(InstallError, match="not a distribution inside"):
        uninstall(dist, elsewhere)


# -- unsafe wheels -------------------------------------------------------------------------------

UNSAFE: dict[str, dict[str, Any]] = {
    "absolute-path": {"match": "unsafe entry", "entries": [("/tmp/pipfence-evil.py", b"x")]},
    "dot-dot": {
        "match": "unsafe entry",
        "entries": [("evil/../../../../../pipfence-evil.py", b"x")],
    },
    "dot-dot-in-data": {
        "match": "unsafe entry",
        "entries": [("evil-1.0.data/purelib/../../../../evil.py", b"x")],
    },
    "backslash": {"match": "unsafe entry", "entries": [("..\\..\\evil.py", b"x")]},
    "drive": {"match": "unsafe entry", "entries": [("C:/evil.py", b"x")]},
    "duplicate-entry": {
        "match": "twice",
        "entries": [("evil/a.py", b"one"), ("evil/a.py", b"two")],
    },
    "record-hash-mismatch": {
        "match": "does not match the hash",
        "entries": [("evil/a.py", b"tampered")],
        "record": b"evil/a.py,sha256="
        + _b64(b"original").encode()
        + b",8\nevil-1.0.dist-info/RECORD,,\n",
    },
    "unlisted-file": {
        "match": "not listed in its RECORD",
        "entries": [("evil/a.py", b"x"), ("evil/b.py", b"y")],
        "unlisted": ["evil/b.py"],
    },
    "weak-hash": {
        "match": "sha256 or stronger",
        "entries": [("evil/a.py", b"x")],
        "record": b"evil/a.py,md5="
        + base64.urlsafe_b64encode(hashlib.md5(b"x").digest()).rstrip(b"=")
        + b",1\n",
    },
    "dist-info-name": {
        "match": "does not match its filename",
        "entries": [("evil/a.py", b"x")],
        "dist_info": "other-1.0.dist-info",
    },
    "dist-info-version": {
        "match": "does not match its filename",
        "entries": [("evil/a.py", b"x")],
        "dist_info": "evil-2.0.dist-info",
    },
    "metadata-name": {
        "match": "in METADATA",
        "entries": [("evil/a.py", b"x")],
        "metadata": b"Metadata-Version: 2.1\nName: nice\nVersion: 1.0\n",
    },
    "metadata-version": {
        "match": "in METADATA",
        "entries": [("evil/a.py", b"x")],
        "metadata": b"Metadata-Version: 2.1\nName: evil\nVersion: 1.1\n",
    },
    "two-dist-infos": {
        "match": "exactly one .dist-info",
        "entries": [("evil-1.1.dist-info/METADATA", b"Name: evil\nVersion: 1.1\n")],
    },
    "script-slash": {
        "match": "unsafe entry point",
        "entries": [
            (
                "evil-1.0.dist-info/entry_points.txt",
                b"[console_scripts]\n../../../evil = evil:main\n",
            )
        ],
    },
    "script-backslash": {
        "match": "unsafe entry point",
        "entries": [
            ("evil-1.0.dist-info/entry_points.txt", b"[gui_scripts]\n..\\evil = evil:main\n")
        ],
    },
    "script-sub-folder": {
        "match": "unsafe entry point",
        "entries": [
            ("evil-1.0.dist-info/entry_points.txt", b"[console_scripts]\nsub/evil = evil:main\n")
        ],
    },
}


@pytest.mark.parametrize("use_cache", [False, True], ids=["zip", "cache"])
@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_wheel_is_refused_and_nothing_is_written(
    case: str, use_cache: bool, template: VirtualEnv, tmp_path: Path, outside: Path
) -> None:
    env = template
    before = snapshot(env.root)
    around = snapshot(tmp_path)
    spec = dict(UNSAFE[case])
    match = spec.pop("match")
    wheel = craft(tmp_path / "w", **spec)
    cache = UnpackedCache(tmp_path / "cache") if use_cache else None
    with pytest.raises(ArchiveError, match=re.escape(str(match))):
        install_wheel(wheel, env, cache=cache)
    assert snapshot(env.root) == before
    after = snapshot(tmp_path)
    assert {k for k in after if not k.startswith(("w", "cache"))} == set(around)
    assert (outside / "victim.txt").read_text() == "untouched"
    if use_cache:
        assert [p.name for p in (tmp_path / "cache").iterdir()] == []
    assert not Path("/tmp/pipfence-evil.py").exists()


def test_hex_record_digests_are_accepted_and_rewritten(
    template: VirtualEnv, tmp_path: Path
) -> None:
    # Some build tools (gmsh's, for one) write hex digests; they pin the bytes just as well.
    data = b"X = 1\n"
    record = f"hexed/__init__.py,sha256={hashlib.sha256(data).hexdigest()},{len(data)}\n".encode()
    meta = b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"
    wheel_text = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record += f"evil-1.0.dist-info/METADATA,sha256={_b64(meta)},{len(meta)}\n".encode()
    record += f"evil-1.0.dist-info/WHEEL,sha256={_b64(wheel_text)},{len(wheel_text)}\n".encode()
    wheel = craft(tmp_path / "w", [("hexed/__init__.py", data)], record=record)
    dist = install_wheel(wheel, template)
    assert f"hexed/__init__.py,sha256={_b64(data)},6" in (dist.dist_info / "RECORD").read_text()
    uninstall(dist, template)


def test_wrong_filename_is_refused(template: VirtualEnv, tmp_path: Path) -> None:
    wheel = craft(tmp_path / "w", [("evil/a.py", b"x")], filename="evil-1.0.whl")
    with pytest.raises(ArchiveError, match="not a valid wheel filename"):
        install_wheel(wheel, template)


def test_symlinked_folder_cannot_lead_outside(
    env: VirtualEnv, tmp_path: Path, outside: Path
) -> None:
    (env.purelib / "evil").symlink_to(outside, target_is_directory=True)
    before = snapshot(env.root)
    with pytest.raises(ArchiveError, match="leads outside"):
        install_wheel(craft(tmp_path / "w", [("evil/planted.py", b"x")]), env)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert snapshot(env.root) == before


@pytest.mark.parametrize(
    ("member", "match"),
    [
        # Leaves the unpacked tree: the cache writer refuses it.
        ("evil-1.0.data/scripts/../../../../../escaped.py", "outside its root"),
        # Stays in the tree but leaves the scripts folder for the env's parent: the destination.
        ("evil-1.0.data/scripts/../../escaped.py", "outside the environment"),
    ],
)
def test_escapes_are_refused_even_past_the_archive_checks(
    member: str, match: str, template: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lenient(name: str, *, filename: str) -> None:
        return None

    monkeypatch.setattr(archive_module, "check_member_name", lenient)
    monkeypatch.setattr(cache_module, "check_member_name", lenient)
    before = snapshot(template.root)
    wheel = craft(tmp_path / "w", [(member, b"x")])
    with pytest.raises(ArchiveError, match=match):
        install_wheel(wheel, template)
    assert snapshot(template.root) == before
    assert not (template.root.parent / "escaped.py").exists()
    assert not (tmp_path / "escaped.py").exists()


# -- the unpacked cache --------------------------------------------------------------------------


def test_cache_unpacks_once_and_links_into_each_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real_unpack = cache_module._unpack_into

    def counting(wheel: Path, staging: Path) -> None:
        calls.append(wheel)
        real_unpack(wheel, staging)

    monkeypatch.setattr(cache_module, "_unpack_into", counting)
    cache = UnpackedCache(tmp_path / "cache", link_mode="hardlink")
    wheel = build_wheel(tmp_path / "w", "linked", "1.0", files={"linked/data.txt": "payload"})
    digest = file_sha256(wheel)
    first_env = VirtualEnv.create(tmp_path / "one", PYTHON)
    second_env = VirtualEnv.create(tmp_path / "two", PYTHON)

    install_wheel(wheel, first_env, cache=cache)
    manifest = tmp_path / "cache" / digest / "manifest.json"
    stamp = manifest.stat().st_mtime_ns, manifest.stat().st_ino
    install_wheel(wheel, second_env, cache=cache, sha256=digest)

    assert calls == [wheel]
    assert (manifest.stat().st_mtime_ns, manifest.stat().st_ino) == stamp
    cached = tmp_path / "cache" / digest / "tree" / "linked" / "data.txt"
    for env in (first_env, second_env):
        installed = env.purelib / "linked" / "data.txt"
        assert installed.read_text() == "payload"
        assert installed.stat().st_ino == cached.stat().st_ino
    assert cached.stat().st_nlink == 3
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [digest]

    uninstall(first_env.installed()["linked"], first_env)  # type: ignore[index]
    assert cached.read_text() == "payload"


def test_a_script_with_no_shebang_to_rewrite_is_linked_from_the_cache(tmp_path: Path) -> None:
    """A compiled program in ``.data/scripts`` (tens of megabytes, for some linters) is
    placed like every other file, not copied and hashed again; a ``#!python`` script is still
    rewritten for the environment."""
    program = b"\x7fELF" + bytes(range(256)) * 64
    wheel = craft(
        tmp_path / "w",
        [
            ("evil/__init__.py", b""),
            ("evil-1.0.data/scripts/prog", program),
            ("evil-1.0.data/scripts/tool", b"#!python\nprint('tool')\n"),
        ],
        executable=["evil-1.0.data/scripts/prog", "evil-1.0.data/scripts/tool"],
    )
    digest = file_sha256(wheel)
    cache = UnpackedCache(tmp_path / "cache", link_mode="hardlink")
    env = VirtualEnv.create(tmp_path / "env", PYTHON)
    dist = install_wheel(wheel, env, cache=cache, sha256=digest)

    tree = tmp_path / "cache" / digest / "tree" / "evil-1.0.data" / "scripts"
    installed = env.scripts / "prog"
    assert installed.read_bytes() == program
    assert installed.stat().st_ino == (tree / "prog").stat().st_ino
    assert os.access(installed, os.X_OK)
    tool = env.scripts / "tool"
    assert tool.read_bytes() == f"#!{env.python}\nprint('tool')\n".encode()
    assert tool.stat().st_ino != (tree / "tool").stat().st_ino
    assert os.access(tool, os.X_OK)
    rows = dict(line.split(",", 1) for line in (dist.dist_info / "RECORD").read_text().splitlines())
    assert rows["../../../bin/prog"] == f"sha256={_b64(program)},{len(program)}"
    assert rows["../../../bin/tool"] == f"sha256={_b64(tool.read_bytes())},{tool.stat().st_size}"


def test_cache_falls_back_to_copying_when_links_fail(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    cache = UnpackedCache(tmp_path / "cache", link_mode="hardlink")
    dist = install_wheel(build_wheel(tmp_path / "w", "copied", "1"), env, cache=cache)
    installed = env.purelib / "copied" / "__init__.py"
    assert installed.stat().st_nlink == 1
    assert installed.read_text() == '__version__ = "1"\n'
    assert (dist.dist_info / "RECORD").exists()


def test_cache_entry_made_by_another_process_is_used(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "raced", "1")
    first = UnpackedCache(tmp_path / "cache").unpack(wheel)
    # A second unpack that loses the rename race keeps the winner's entry.
    loser = UnpackedCache(tmp_path / "cache")
    real_get = loser.get
    seen: list[int] = []

    def miss_once(sha256: str) -> object:
        seen.append(1)
        return None if len(seen) == 1 else real_get(sha256)

    loser.get = miss_once  # type: ignore[method-assign,assignment]
    again = loser.unpack(wheel)
    assert again == first
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [first.sha256]


def test_cache_rejects_a_bad_digest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sha256"):
        UnpackedCache(tmp_path).unpack(tmp_path / "x.whl", sha256="../../etc")


# -- install_many --------------------------------------------------------------------------------


def test_install_many_runs_concurrently_and_keeps_input_order(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = [build_wheel(tmp_path / "w", f"pkg{i}", f"1.{i}") for i in range(8)]
    barrier = threading.Barrier(3, timeout=10)
    arrivals = iter(range(len(wheels)))
    lock = threading.Lock()
    real_install = wheel_module.install_wheel

    def meeting(*args: object, **kwargs: object) -> object:
        with lock:
            arrival = next(arrivals)
        if arrival < 3:  # the first three wait for each other: they must overlap
            barrier.wait()
        return real_install(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(wheel_module, "install_wheel", meeting)
    results = install_many(
        [WheelInstall(path=w, requested=i == 0) for i, w in enumerate(wheels)],
        env,
        cache=UnpackedCache(tmp_path / "cache"),
        workers=4,
    )
    assert not barrier.broken  # three installs were in flight at the same moment
    assert [d.name for d in results] == [f"pkg{i}" for i in range(8)]
    assert [d.version for d in results] == [f"1.{i}" for i in range(8)]
    assert sorted(env.installed()) == sorted(d.name for d in results)
    assert (results[0].dist_info / "REQUESTED").exists()
    assert not (results[1].dist_info / "REQUESTED").exists()


def test_install_many_starts_the_biggest_wheels_first_and_keeps_input_order(
    env: VirtualEnv, tmp_path: Path
) -> None:
    sizes = {"small": 1, "big": 400, "medium": 40}  # lines of digests: they do not compress
    wheels = [
        build_wheel(
            tmp_path / "w",
            name,
            "1",
            files={
                f"{name}/data.py": "".join(
                    f"# {hashlib.sha256(f'{name}{i}'.encode()).hexdigest()}\n" for i in range(n)
                )
            },
        )
        for name, n in sizes.items()
    ]
    started: list[str] = []
    results = install_many(
        [WheelInstall(path=w) for w in wheels], env, workers=1, on_installed=started.append
    )
    assert started == ["big", "medium", "small"]
    assert [d.name for d in results] == ["small", "big", "medium"]


def test_install_many_rolls_back_on_failure(env: VirtualEnv, tmp_path: Path) -> None:
    before = snapshot(env.root)
    good = [build_wheel(tmp_path / "w", f"good{i}", "1") for i in range(5)]
    bad = craft(
        tmp_path / "bad",
        [("evil/a.py", b"tampered")],
        record=b"evil/a.py,sha256=" + _b64(b"original").encode() + b",8\n",
    )
    worse = craft(tmp_path / "worse", [("/abs.py", b"x")])
    items = [WheelInstall(path=p) for p in [*good[:3], bad, *good[3:], worse]]
    with pytest.raises(ArchiveError, match="does not match the hash") as caught:
        install_many(items, env, workers=3)
    assert "evil" in str(caught.value)
    assert env.installed() == {}
    assert snapshot(env.root) == before


def test_install_many_of_nothing(env: VirtualEnv) -> None:
    assert install_many([], env) == []


# -- link modes and the stat check ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "clone", "copy", "hardlink"])
def test_each_link_mode_installs_the_cached_bytes(
    tmp_path: Path, mode: LinkMode, env: VirtualEnv
) -> None:
    cache = UnpackedCache(tmp_path / "cache", link_mode=mode)
    wheel = build_wheel(tmp_path / "w", "moded", "1.0", files={"moded/data.txt": "payload"})
    install_wheel(wheel, env, cache=cache)
    installed = env.purelib / "moded" / "data.txt"
    (cached,) = (tmp_path / "cache").glob("*/tree/moded/data.txt")
    assert installed.read_text() == "payload"
    if mode != "auto":  # auto is a clone or a hard link, as the filesystem allows
        assert (installed.stat().st_ino == cached.stat().st_ino) == (mode == "hardlink")


def test_place_file_falls_back_to_a_copy_when_cloning_is_not_supported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    def no_clone(*_args: object) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "ioctl", no_clone)
    source = tmp_path / "source"
    source.write_bytes(b"bytes" * 1000)
    used = cache_module.place_file(str(source), str(tmp_path / "target"), "clone", executable=True)
    assert used == "copy"
    assert (tmp_path / "target").read_bytes() == b"bytes" * 1000
    assert os.stat(tmp_path / "target").st_mode & 0o100


def test_auto_clones_where_it_can_and_hard_links_where_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    def no_clone(*_args: object) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "ioctl", no_clone)
    source = tmp_path / "source"
    source.write_bytes(b"bytes" * 1000)
    used = cache_module.place_file(str(source), str(tmp_path / "target"), "auto", executable=False)
    assert used == "hardlink"
    assert os.stat(tmp_path / "target").st_ino == os.stat(source).st_ino
    assert (tmp_path / "target").read_bytes() == b"bytes" * 1000


def test_a_changed_cache_file_is_unpacked_again_from_the_kept_wheel(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "kept", "1.0", files={"kept/data.txt": "original"})
    first = UnpackedCache(tmp_path / "cache").unpack(wheel)
    wheel.unlink()  # only the copy kept in the entry is left
    cached = first.tree / "kept" / "data.txt"
    before = cached.stat().st_mtime_ns
    cached.write_text("EDITED!!")  # same size, same inode
    # Another mtime, as any edit after the clock's next tick has (set: the test is quicker).
    os.utime(cached, ns=(before, before + 10_000_000))
    again = UnpackedCache(tmp_path / "cache").verified(first.sha256)
    assert again is not None
    assert (again.tree / "kept" / "data.txt").read_text() == "original"


def test_a_changed_entry_whose_kept_wheel_changed_too_is_dropped(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "kept", "1.0", files={"kept/data.txt": "original"})
    first = UnpackedCache(tmp_path / "cache").unpack(wheel)
    wheel.unlink()
    cached = first.tree / "kept" / "data.txt"
    before = cached.stat().st_mtime_ns
    cached.write_text("EDITED!!")
    os.utime(cached, ns=(before, before + 10_000_000))
    with first.wheel.open("r+b") as handle:
        handle.write(b"XX")
    assert UnpackedCache(tmp_path / "cache").verified(first.sha256) is None
    assert not first.root.exists()


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("python", True),
        ("python3", True),
        ("python3.11", True),
        ("pythonw", True),
        ("Python3", True),
        ("python-argcomplete-check-easy-install-script", False),
        ("pythonista", False),
        ("ipython", False),
    ],
)
def test_interpreter_names(name: str, refused: bool) -> None:
    assert bool(destination_module._INTERPRETER.match(name)) is refused


def test_a_rolled_back_change_puts_the_replaced_version_back_exactly(
    env: VirtualEnv, tmp_path: Path
) -> None:
    old = install_wheel(
        build_wheel(tmp_path / "w", "alpha", "1.0", files={"alpha/data.txt": "one\n"}), env
    )
    before = snapshot(env.root)
    new = build_wheel(tmp_path / "w", "alpha", "2.0", files={"alpha/more.txt": "two\n"})
    change = EnvChange()
    change.set_aside(old, env)
    assert env.installed() == {}
    change.install([WheelInstall(path=new)], env)
    assert env.installed()[NormalizedName("alpha")].version == "2.0"
    change.rollback()
    assert snapshot(env.root) == before

    with EnvChange() as committed:  # committed: the old files are gone for good
        committed.set_aside(env.installed()[NormalizedName("alpha")], env)
        committed.install([WheelInstall(path=new)], env)
    assert env.installed()[NormalizedName("alpha")].version == "2.0"
    assert not [p for p in env.root.rglob("*") if p.name.endswith(".pipfence-old")]
    assert not any(p.name == "data.txt" for p in env.root.rglob("*"))


def test_install_many_interrupted_undoes_what_it_installed(
    env: VirtualEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(env.root)
    wheels = [build_wheel(tmp_path / "w", f"pkg{i}", "1.0") for i in range(4)]
    real_wait = concurrent.futures.wait  # what pipfence.installer.wheel calls
    calls = iter(range(100))

    def interrupted(futures: Any, **kwargs: Any) -> Any:
        if next(calls) == 0:  # the first wait (for the first failure) is interrupted
            real_wait(futures)
            raise KeyboardInterrupt
        return real_wait(futures, **kwargs)

    monkeypatch.setattr(wheel_module, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        install_many([WheelInstall(path=w) for w in wheels], env, workers=2)
    assert env.installed() == {}
    assert snapshot(env.root) == before


# -- the one-pass install from the cache -----------------------------------------------------------


def test_record_is_the_one_installer_itself_writes(template: VirtualEnv, tmp_path: Path) -> None:
    """pipfence writes RECORD from its own rows; `installer.install` is the reference."""
    from installer import install as reference_install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    env = template
    before = snapshot(env.root)
    wheel = craft(
        tmp_path / "w",
        [
            ("evil/__init__.py", b"X = 1\n"),
            ("evil/sub/deeper/mod.py", b"Y = 2\n"),
            ("evil/zz last.txt", b"sorted by path\n"),
            ("evil-1.0.data/scripts/tool", b"#!python\nprint('tool')\n"),
            ("evil-1.0.data/scripts/prog", b"\x7fELF not a script"),
            ("evil-1.0.data/data/share/evil/readme.txt", b"data\n"),
            ("evil-1.0.data/headers/evil.h", b"/* h */\n"),
            ("evil-1.0.dist-info/entry_points.txt", b"[console_scripts]\nevil-cli = evil:main\n"),
        ],
        executable=["evil-1.0.data/scripts/prog"],
    )
    dist = install_wheel(wheel, env)
    ours = (dist.dist_info / "RECORD").read_text()
    uninstall(dist, env)
    assert snapshot(env.root) == before
    destination = SchemeDictionaryDestination(
        env.scheme_dict("evil"),
        interpreter=str(env.python),
        script_kind="posix",
        hash_algorithm="sha256",
    )
    with WheelFile.open(wheel) as source:
        reference_install(source, destination, {"INSTALLER": b"pipfence\n"})
    theirs = (dist.dist_info / "RECORD").read_text()
    uninstall(dist, env)
    assert ours == theirs
    assert "../../../bin/evil-cli," in ours


def test_a_symlinked_namespace_folder_is_refused_for_every_wheel_into_it(
    env: VirtualEnv, tmp_path: Path, outside: Path
) -> None:
    """The folders checked once for all the wheels of one `install_many` never include one
    that leads outside: the second wheel into it is refused as the first is."""
    (env.purelib / "ns").symlink_to(outside, target_is_directory=True)
    before = snapshot(env.root)
    wheels = [
        craft(
            tmp_path / f"w{i}",
            [(f"ns/part{i}/__init__.py", b"x")],
            filename=f"part{i}-1.0-py3-none-any.whl",
            dist_info=f"part{i}-1.0.dist-info",
            metadata=f"Metadata-Version: 2.1\nName: part{i}\nVersion: 1.0\n".encode(),
        )
        for i in range(2)
    ]
    for order in (wheels, wheels[::-1]):
        with pytest.raises(ArchiveError, match="leads outside"):
            install_many([WheelInstall(path=w) for w in order], env, workers=1)
        assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
        assert snapshot(env.root) == before


def test_a_file_in_the_way_in_a_folder_made_by_another_wheel_is_moved_aside(
    env: VirtualEnv, tmp_path: Path
) -> None:
    """A wheel whose file is already there (another distribution's, in a folder that wheel
    made) replaces it, and the other distribution is named."""
    first = craft(
        tmp_path / "a",
        [("shared/same.py", b"first\n")],
        filename="aaa-1.0-py3-none-any.whl",
        dist_info="aaa-1.0.dist-info",
        metadata=b"Metadata-Version: 2.1\nName: aaa\nVersion: 1.0\n",
    )
    second = craft(
        tmp_path / "b",
        [("shared/same.py", b"second\n")],
        filename="bbb-1.0-py3-none-any.whl",
        dist_info="bbb-1.0.dist-info",
        metadata=b"Metadata-Version: 2.1\nName: bbb\nVersion: 1.0\n",
    )
    warned: list[str] = []
    install_many([WheelInstall(path=first)], env)
    install_many([WheelInstall(path=second)], env, on_warning=warned.append)
    assert (env.purelib / "shared" / "same.py").read_text() == "second\n"
    assert len(warned) == 1
    assert "`aaa`" in warned[0]
    assert not [p for p in (env.purelib / "shared").iterdir() if p.name != "same.py"]
    assert sorted(env.installed()) == ["aaa", "bbb"]
