"""Hostile archives are refused at sync/install and nothing is written outside the environment.

Every archive here is built by hand (zipfile / tarfile), served by a `FaultServer` whose page
lists its real sha256, and locked first: the hash check passes, so what is tested is the
archive handling itself. Paths that try to escape aim at `tmp_path/outside`, which holds only a
sentinel file; `../` chains are long enough to reach it from any extraction folder.
"""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.dists import build_sdist, metadata_text, record_line
from support.project import dist_infos, one_source_pipfile, out, read_lock, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.faultserver import FaultServer

pytestmark = pytest.mark.integration

SENTINEL = b"untouched\n"
NAME, VERSION = "payload", "1.0"
INFO = f"{NAME}-{VERSION}.dist-info"
WHEEL_NAME = f"{NAME}-{VERSION}-py3-none-any.whl"
WHEEL_TEXT = "Wheel-Version: 1.0\nGenerator: hostile\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside"
    target.mkdir()
    (target / "sentinel").write_bytes(SENTINEL)
    return target


def escape(outside: Path, name: str) -> str:
    """A relative path that climbs to / from any depth, then down to outside/name."""
    return "../" * 40 + str(outside / name).lstrip("/")


def assert_outside_untouched(outside: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["sentinel"]
    assert (outside / "sentinel").read_bytes() == SENTINEL
    strays = [
        p
        for p in tmp_path.rglob("*")
        if p.name.startswith("escaped") and ".venv" not in p.parts and "dists" not in p.parts
    ]
    assert strays == []


@pytest.fixture
def env(pipfence_env: dict[str, str]) -> dict[str, str]:
    return {**pipfence_env, "PIPENV_VENV_IN_PROJECT": "1", "PIPFENCE_RETRIES": "1"}


def zip_bytes(entries: list[tuple[str | zipfile.ZipInfo, bytes]], trailer: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            if not isinstance(name, zipfile.ZipInfo):
                info.external_attr = 0o644 << 16
            info.date_time = (1980, 1, 1, 0, 0, 0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Duplicate name": wanted here
                zf.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue() + trailer


def wheel_bytes(
    extra: list[tuple[str | zipfile.ZipInfo, bytes]],
    *,
    record_override: dict[str, str] | None = None,
    entry_points: str | None = None,
    trailer: bytes = b"",
) -> bytes:
    """A wheel for payload 1.0 with `extra` entries; RECORD lists every entry correctly unless
    `record_override` replaces a row."""
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (f"{NAME}/__init__.py", b"VALUE = 1\n"),
        *extra,
        (f"{INFO}/METADATA", metadata_text(NAME, VERSION).encode()),
        (f"{INFO}/WHEEL", WHEEL_TEXT.encode()),
    ]
    if entry_points is not None:
        entries.append((f"{INFO}/entry_points.txt", entry_points.encode()))
    rows = []
    for name, data in entries:
        path = name.filename if isinstance(name, zipfile.ZipInfo) else name
        rows.append((record_override or {}).get(path, record_line(path, data)))
    rows.append(f"{INFO}/RECORD,,")
    entries.append((f"{INFO}/RECORD", ("\n".join(rows) + "\n").encode()))
    return zip_bytes(entries, trailer)


def serve_and_lock(
    cli: RunPipfence, project: Path, server: FaultServer, files: dict[str, bytes]
) -> bytes | None:
    """Serve the files and lock; the lock bytes, or None when the lock refused the archive
    already (exit 3 naming it, no lock written)."""
    server.add_project(NAME, files)
    write_pipfile(project, one_source_pipfile(server.simple_url, f'{NAME} = "*"\n'))
    result = cli(["lock"])
    if result.returncode == 3:
        assert any(name in result.stderr for name in files), out(result)
        assert "Traceback" not in result.stderr
        assert not (project / "Pipfile.lock").exists()
        return None
    assert result.returncode == 0, out(result)
    assert read_lock(project)["default"][NAME]["hashes"] == sorted(
        f"sha256:{hashlib.sha256(data).hexdigest()}" for data in files.values()
    )
    return (project / "Pipfile.lock").read_bytes()


def assert_environment_intact(project: Path) -> None:
    """The environment's interpreter and pyvenv.cfg are still its own."""
    venv = project / ".venv"
    assert "home = /tmp/evil" not in (venv / "pyvenv.cfg").read_text()
    for name in ("python", "python3"):
        assert not (venv / "bin" / name).read_bytes().startswith(b"#!/bin/sh"), name


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


# -- wheels ---------------------------------------------------------------------------------------


def _wheel_cases(outside: Path) -> dict[str, bytes]:
    bad_digest = base64.urlsafe_b64encode(hashlib.sha256(b"other").digest()).rstrip(b"=")
    return {
        "dotdot-path": wheel_bytes([(escape(outside, "escaped.py"), b"EVIL = 1\n")]),
        "dotdot-in-data-dir": wheel_bytes(
            [(f"{NAME}-{VERSION}.data/purelib/" + escape(outside, "escaped.py"), b"EVIL = 1\n")]
        ),
        "absolute-path": wheel_bytes([(str(outside / "escaped-abs.py"), b"EVIL = 1\n")]),
        "record-hash-mismatch": wheel_bytes(
            [(f"{NAME}/core.py", b"VALUE = 'tampered'\n")],
            record_override={f"{NAME}/core.py": f"{NAME}/core.py,sha256={bad_digest.decode()},19"},
        ),
        "record-size-mismatch": wheel_bytes(
            [(f"{NAME}/core.py", b"VALUE = 2\n")],
            record_override={
                f"{NAME}/core.py": record_line(f"{NAME}/core.py", b"VALUE = 2\n").rsplit(",", 1)[0]
                + ",9999"
            },
        ),
        "duplicate-entry": wheel_bytes(
            [(f"{NAME}/core.py", b"VALUE = 'first'\n"), (f"{NAME}/core.py", b"VALUE = 'two'\n")]
        ),
        "entry-point-escapes-bin": wheel_bytes(
            [],
            entry_points="[console_scripts]\n"
            + escape(outside, "escaped-script")
            + f" = {NAME}:main\n",
        ),
        "entry-point-absolute": wheel_bytes(
            [], entry_points=f"[console_scripts]\n{outside / 'escaped-abs-script'} = {NAME}:main\n"
        ),
        "symlink-entry": wheel_bytes([(symlink_info(f"{NAME}/link"), str(outside).encode())]),
        "trailing-fake-end-record": wheel_bytes(
            [], trailer=b"PK\x05\x06" + b"\x00" * 18 + b"junk" * 64
        ),
        "backslash-path": wheel_bytes([(f"{NAME}\\..\\..\\escaped.py", b"EVIL = 1\n")]),
        "scripts-python": wheel_bytes([(f"{NAME}-{VERSION}.data/scripts/python", b"#!/bin/sh\n")]),
        "data-bin-python3": wheel_bytes(
            [(f"{NAME}-{VERSION}.data/data/bin/python3", b"#!/bin/sh\n")]
        ),
        "data-pyvenv-cfg": wheel_bytes(
            [(f"{NAME}-{VERSION}.data/data/pyvenv.cfg", b"home = /tmp/evil\n")]
        ),
        "entry-point-python": wheel_bytes(
            [], entry_points=f"[console_scripts]\npython = {NAME}:main\n"
        ),
    }


CASES = [
    "dotdot-path",
    "dotdot-in-data-dir",
    "absolute-path",
    "record-hash-mismatch",
    "record-size-mismatch",
    "duplicate-entry",
    "entry-point-escapes-bin",
    "entry-point-absolute",
    "trailing-fake-end-record",
    "backslash-path",
    "scripts-python",
    "data-bin-python3",
    "data-pyvenv-cfg",
    "entry-point-python",
]


@pytest.mark.parametrize("case", CASES)
def test_hostile_wheel_is_refused_and_writes_nothing_outside(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    outside: Path,
    case: str,
) -> None:
    data = _wheel_cases(outside)[case]
    lock = serve_and_lock(cli, pipfence_project, fault_server, {WHEEL_NAME: data})
    assert_outside_untouched(outside, tmp_path)
    if lock is None:
        return
    for command in (["sync"], ["install"]):
        result = cli(command)
        assert_outside_untouched(outside, tmp_path)
        assert_environment_intact(pipfence_project)
        assert result.returncode == 3, f"{command}: {out(result)}"
        assert WHEEL_NAME in result.stderr, out(result)
        assert "Traceback" not in result.stderr
        assert "this is a bug" not in result.stderr
        assert not any(n.startswith(f"{NAME}-") for n in dist_infos(pipfence_project))
        assert (pipfence_project / "Pipfile.lock").read_bytes() == lock
        assert_outside_untouched(outside, tmp_path)
    assert not list((pipfence_project / ".venv").rglob("escaped*"))


# -- sdists ---------------------------------------------------------------------------------------


def _sdist_with(tmp_path: Path, add: Any) -> bytes:
    """A buildable payload 1.0 sdist re-packed with hostile members from `add(tar, stem)`."""
    good = build_sdist(tmp_path / "good-sdist", NAME, VERSION)
    buffer = io.BytesIO()
    with tarfile.open(good) as source, tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in source.getmembers():
            tar.addfile(member, source.extractfile(member) if member.isfile() else None)
        add(tar, f"{NAME}-{VERSION}")
    return buffer.getvalue()


def _file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def _sdist_cases(outside: Path) -> dict[str, Any]:
    def symlink_then_write(tar: tarfile.TarFile, stem: str) -> None:
        _link(tar, f"{stem}/escape", str(outside), tarfile.SYMTYPE)
        _file(tar, f"{stem}/escape/escaped-via-link.txt", b"EVIL\n")

    def relative_symlink(tar: tarfile.TarFile, stem: str) -> None:
        _link(tar, f"{stem}/escape", "../" * 40 + str(outside).lstrip("/"), tarfile.SYMTYPE)
        _file(tar, f"{stem}/escape/escaped-via-rel-link.txt", b"EVIL\n")

    def hardlink_outside(tar: tarfile.TarFile, stem: str) -> None:
        _link(tar, f"{stem}/escaped-hardlink", str(outside / "sentinel"), tarfile.LNKTYPE)

    def dotdot(tar: tarfile.TarFile, stem: str) -> None:
        _file(tar, f"{stem}/" + escape(outside, "escaped-dotdot.txt"), b"EVIL\n")

    def absolute(tar: tarfile.TarFile, stem: str) -> None:
        _file(tar, str(outside / "escaped-absolute.txt"), b"EVIL\n")

    def device(tar: tarfile.TarFile, stem: str) -> None:
        info = tarfile.TarInfo(f"{stem}/escaped-fifo")
        info.type = tarfile.FIFOTYPE
        tar.addfile(info)

    return {
        "symlink-then-write-through": symlink_then_write,
        "relative-symlink-out": relative_symlink,
        "hardlink-to-outside": hardlink_outside,
        "dotdot-member": dotdot,
        "absolute-member": absolute,
        "fifo-member": device,
    }


@pytest.mark.parametrize(
    "case",
    [
        "symlink-then-write-through",
        "relative-symlink-out",
        "hardlink-to-outside",
        "dotdot-member",
        "absolute-member",
        "fifo-member",
    ],
)
def test_hostile_sdist_is_refused_and_writes_nothing_outside(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    outside: Path,
    case: str,
) -> None:
    data = _sdist_with(tmp_path, _sdist_cases(outside)[case])
    filename = f"{NAME}-{VERSION}.tar.gz"
    fault_server.add_project(NAME, {filename: data})
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{fault_server.simple_url}"\nverify_ssl = false\nname = "corp"\n\n'
        f'[packages]\n{NAME} = "*"\n',
        encoding="utf-8",
    )
    pipfile = (pipfence_project / "Pipfile").read_bytes()
    # An sdist is built already at lock time (for its metadata): the refusal comes there.
    for command in (["lock"], ["install"]):
        result = cli(command)
        assert_outside_untouched(outside, tmp_path)
        assert result.returncode == 3, f"{command}: {out(result)}"
        assert filename in result.stderr
        assert "Traceback" not in result.stderr
        assert not (pipfence_project / "Pipfile.lock").exists()
        assert (pipfence_project / "Pipfile").read_bytes() == pipfile
        assert_outside_untouched(outside, tmp_path)
    assert not any(n.startswith(f"{NAME}-") for n in dist_infos(pipfence_project))


def test_symlink_entry_in_a_wheel_is_installed_as_a_plain_file_at_most(
    cli: RunPipfence,
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    outside: Path,
) -> None:
    """A zip entry with symlink mode bits must never become a symlink out of the environment:
    refusing it or writing its text as a regular file are both safe."""
    data = wheel_bytes([(symlink_info(f"{NAME}/link"), str(outside).encode())])
    lock = serve_and_lock(cli, pipfence_project, fault_server, {WHEEL_NAME: data})
    assert lock is not None
    result = cli(["sync"])
    assert result.returncode in {0, 3}, out(result)
    assert "Traceback" not in result.stderr
    for link in (pipfence_project / ".venv").rglob("link"):
        assert not link.is_symlink(), link
    assert_outside_untouched(outside, tmp_path)


def test_plain_trailing_data_after_the_archive_is_tolerated(
    cli: RunPipfence,
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
    outside: Path,
) -> None:
    """Decision: junk after the end-of-central-directory record, with no second end record in
    it, is harmless (the bytes are the locked ones, and every zip reader finds the same
    entries), so it installs like pip would. The dangerous variant, a trailer holding a fake
    end record that hides the real entries, is refused (`trailing-fake-end-record` above)."""
    data = wheel_bytes([], trailer=b"junk after the end record\n" * 8)
    lock = serve_and_lock(cli, pipfence_project, fault_server, {WHEEL_NAME: data})
    assert lock is not None
    result = cli(["sync"])
    assert result.returncode == 0, out(result)
    assert f"{NAME}-{VERSION}.dist-info" in dist_infos(pipfence_project)
    assert_outside_untouched(outside, tmp_path)


def test_a_local_header_that_disagrees_with_the_central_directory_is_an_integrity_error(
    cli: RunPipfence, tmp_path: Path, pipfence_project: Path, fault_server: FaultServer
) -> None:
    data = wheel_bytes([(f"{NAME}/core.py", b"VALUE = 2\n")])
    # The local header of payload/core.py names another file than the central directory.
    spot = data.index(f"{NAME}/core.py".encode())  # the local header comes first
    data = data[:spot] + f"{NAME}/evil.py".encode() + data[spot + len(f"{NAME}/core.py") :]
    lock = serve_and_lock(cli, pipfence_project, fault_server, {WHEEL_NAME: data})
    assert lock is not None
    result = cli(["sync"])
    assert result.returncode == 3, out(result)
    assert WHEEL_NAME in result.stderr
    assert "corrupt zip" in result.stderr
    assert "this is a bug" not in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the error, and maybe a hint
    assert not any(n.startswith(f"{NAME}-") for n in dist_infos(pipfence_project))


def test_a_member_larger_than_its_record_size_is_refused_before_it_is_written(
    cli: RunPipfence,
    env: dict[str, str],
    tmp_path: Path,
    pipfence_project: Path,
    fault_server: FaultServer,
) -> None:
    """300 MiB of zeros (300 KiB deflated) whose RECORD row says 10 bytes: nothing near that
    size may be written. The file-size limit (64 MiB) makes a write past it fail outright."""
    big = bytes(300 * 1024 * 1024)
    small = b"VALUE = 2\n"
    row = record_line(f"{NAME}/core.py", small)
    data = wheel_bytes([(f"{NAME}/core.py", big)], record_override={f"{NAME}/core.py": row})
    del big
    lock = serve_and_lock(cli, pipfence_project, fault_server, {WHEEL_NAME: data})
    assert lock is not None

    limited = (
        "import resource, runpy, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))\n"
        "sys.argv = ['pipfence', 'sync']\n"
        "runpy.run_module('pipfence', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", limited],
        cwd=pipfence_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, out(result)
    assert f"{NAME}/core.py" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(n.startswith(f"{NAME}-") for n in dist_infos(pipfence_project))
