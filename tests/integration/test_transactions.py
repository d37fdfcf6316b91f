"""All or nothing when a step fails half-way: an upgrade whose new wheel is bad or does not fit
keeps the installed version working, and `install NEW`, `uninstall`, `update` and `lock` that
cannot write Pipfile or Pipfile.lock (a full disk, a read-only folder, a file that cannot be
replaced) leave the Pipfile, the lock and the environment as they were, with a one-line error
that names the file and the cause. Also: `lock` beside `install NEW` waits for it, and a
symlinked Pipfile or lock stays a symlink.

Full disks and read-only folders are real: a small tmpfs, mounted (and remounted read-only)
for the test, which needs root; the tests skip when mounting is not possible.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import os
import shutil
import stat
import subprocess
import zipfile
from base64 import urlsafe_b64encode
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support import start_pipfence
from support.processes import wait_for
from support.project import (
    SEED_PACKAGES,
    file_bytes,
    installed,
    out,
    read_lock,
    site_packages,
    source_table,
    write_pipfile,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support import RunPipfence
    from support.dists import DistFactory
    from support.faultserver import FaultServer
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


# -- helpers -------------------------------------------------------------------------------


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path`` (an empty folder) for the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    mounted = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def read_only(path: Path) -> None:
    """Remount the tmpfs at ``path`` read-only: writes fail with EROFS, for root too."""
    remounted = _mount("-o", "remount,ro", str(path))
    if remounted.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remounted.stderr.strip()}")
    probe = path / ".probe"
    with pytest.raises(OSError, match="Read-only"):
        probe.write_bytes(b"x")


def fill(folder: Path) -> None:
    """Fill the filesystem of ``folder`` to the last page."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (1 << 16, 1 << 12):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)
    with pytest.raises(OSError) as full:
        (folder / "probe").write_bytes(b"x" * 4096)
    assert full.value.errno == errno.ENOSPC
    (folder / "probe").unlink(missing_ok=True)


def with_bad_record(wheel: Path, member: str) -> Path:
    """Rewrite ``wheel`` in place so that RECORD gives ``member`` a sha256 it does not have."""
    with zipfile.ZipFile(wheel) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    wrong = urlsafe_b64encode(hashlib.sha256(b"something else").digest()).rstrip(b"=").decode()
    rewritten = []
    for info, data in entries:
        if info.filename.endswith(".dist-info/RECORD"):
            rows = [
                f"{member},sha256={wrong},{row.rsplit(',', 1)[1]}"
                if row.startswith(member + ",")
                else row
                for row in data.decode().splitlines()
            ]
            data = ("\n".join(rows) + "\n").encode()  # noqa: PLW2901
        rewritten.append((info, data))
    with zipfile.ZipFile(wheel, "w") as zf:
        for info, data in rewritten:
            zf.writestr(info, data, zipfile.ZIP_DEFLATED)
    return wheel


def env_versions(venv: Path) -> dict[str, str]:
    """Name -> version of what the environment at ``venv`` holds, seed packages left out."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    assert len(found) == 1, found
    dists = importlib.metadata.distributions(path=[str(found[0])])
    return {
        d.metadata["Name"].lower(): d.version
        for d in dists
        if d.metadata["Name"].lower() not in SEED_PACKAGES
    }


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file in the project folder but the environment, with its bytes."""
    return file_bytes(project, skip={".venv"})


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert "Traceback" not in result.stderr, out(result)
    assert "this is a bug" not in result.stderr, out(result)
    for needle in needles:
        assert needle in result.stderr, out(result)


def leftovers(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.endswith((".pipfence-old", ".tmp", ".old"))
    )


# -- 1. a failed upgrade keeps the installed version ------------------------------------------


@pytest.mark.parametrize("fault", ["bad-record", "disk-full"])
def test_a_failed_upgrade_keeps_the_installed_version_working(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    tmp_path: Path,
    fault: str,
) -> None:
    public_index.add_dist("alpha", "1.0", files={"alpha/data.txt": "one\n"})
    if fault == "bad-record":
        with_bad_record(public_index.add_dist("alpha", "2.0"), "alpha/__init__.py")
    else:
        blob = os.urandom(6 << 20)  # does not fit the environment's tmpfs below
        public_index.add_dist("alpha", "2.0", files={"alpha/blob.bin": blob})
    head = source_table("public", public_index.simple_url) + "[packages]\n"
    write_pipfile(pipfence_project, head + 'alpha = "==1.0"\n')
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    write_pipfile(pipfence_project, head + 'alpha = "==2.0"\n')
    relock = cli(["lock"])
    assert relock.returncode == 0, out(relock)

    with contextlib.ExitStack() as stack:
        if fault == "disk-full":
            # The environment moves onto a tmpfs with 1 MiB to spare, at the same path.
            venv = pipfence_project / ".venv"
            saved = tmp_path / "venv-copy"
            subprocess.run(["cp", "-a", str(venv), str(saved)], check=True)
            shutil.rmtree(venv)
            used = sum(p.lstat().st_size for p in saved.rglob("*")) + (4 << 20)
            stack.enter_context(tmpfs(venv, str(used + (1 << 20))))
            subprocess.run(["cp", "-a", f"{saved}/.", str(venv)], check=True)
        before = sorted(p.name for p in site_packages(pipfence_project).iterdir())
        for attempt in range(2):  # and the next sync does the same: nothing to repair
            result = cli(["sync"])
            if fault == "bad-record":
                assert result.returncode == 3, out(result)
                one_line_error(result, "alpha-2.0-py3-none-any.whl")
            else:
                assert result.returncode == 1, out(result)
                one_line_error(result, "No space left on device")
            assert installed(pipfence_project) == {"alpha": "1.0"}, attempt
            assert sorted(p.name for p in site_packages(pipfence_project).iterdir()) == before
            assert leftovers(pipfence_project / ".venv") == []
            works = cli(["run", "python", "-c", "import alpha, pathlib; print(alpha.__version__)"])
            assert works.returncode == 0, out(works)
            assert works.stdout.strip() == "1.0"
            data = site_packages(pipfence_project) / "alpha" / "data.txt"
            assert data.read_text(encoding="utf-8") == "one\n"


# -- 2. install / uninstall / update / lock that cannot write ---------------------------------


@pytest.fixture
def outside_env(pipfence_env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment with the virtualenv under WORKON_HOME, outside the project."""
    return dict(pipfence_env)


def _project_on_tmpfs(
    run_pipfence: RunPipfence,
    outside_env: dict[str, str],
    project: Path,
    index: PypiServer,
) -> tuple[Path, str]:
    """The project (already mounted) with alpha 1.0 installed; (its environment, head)."""
    index.add_dist("alpha", "1.0")
    index.add_dist("gamma", "1.0")
    head = source_table("public", index.simple_url) + "[packages]\n"
    write_pipfile(project, head + 'alpha = "*"\n')
    first = run_pipfence(["install"], env=outside_env)
    assert first.returncode == 0, out(first)
    where = run_pipfence(["--venv"], env=outside_env)
    venv = Path(where.stdout.strip())
    assert not venv.is_relative_to(project)
    assert env_versions(venv) == {"alpha": "1.0"}
    return venv, head


def test_install_new_on_a_full_disk_changes_nothing(
    run_pipfence: RunPipfence,
    outside_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
) -> None:
    with tmpfs(pipfence_project, "256k"):
        venv, _head = _project_on_tmpfs(run_pipfence, outside_env, pipfence_project, public_index)
        fill(pipfence_project)
        before = snapshot(pipfence_project)
        result = run_pipfence(["install", "gamma"], env=outside_env)
        assert result.returncode == 1, out(result)
        one_line_error(result, "Could not write `Pipfile", "No space left on device")
        assert snapshot(pipfence_project) == before
        assert env_versions(venv) == {"alpha": "1.0"}


@pytest.mark.parametrize("command", ["install", "uninstall", "update", "lock"])
def test_a_command_in_a_read_only_project_changes_nothing(
    run_pipfence: RunPipfence,
    outside_env: dict[str, str],
    pipfence_project: Path,
    public_index: PypiServer,
    command: str,
) -> None:
    with tmpfs(pipfence_project, "1m"):
        venv, head = _project_on_tmpfs(run_pipfence, outside_env, pipfence_project, public_index)
        args = {
            "install": ["install", "gamma"],
            "uninstall": ["uninstall", "alpha"],
            "update": ["update"],
            "lock": ["lock"],
        }[command]
        public_index.add_dist("alpha", "2.0")  # what `update` would move to
        if command == "lock":
            write_pipfile(pipfence_project, head + 'alpha = "*"\ngamma = "*"\n')
        read_only(pipfence_project)
        before = snapshot(pipfence_project)
        result = run_pipfence(args, env=outside_env)
        assert result.returncode == 1, out(result)
        one_line_error(result, "Could not write `Pipfile", "Read-only file system")
        assert len(result.stderr.strip().splitlines()) <= 2, out(result)  # error and hint
        assert snapshot(pipfence_project) == before
        assert env_versions(venv) == {"alpha": "1.0"}


def test_install_new_when_the_lock_cannot_be_replaced_puts_everything_back(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("gamma", "1.0")
    head = source_table("public", public_index.simple_url) + "[packages]\n"
    write_pipfile(pipfence_project, head + 'alpha = "*"\n')
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    lock = pipfence_project / "Pipfile.lock"
    # The folder stays writable (the new files are staged there); only the lock itself cannot
    # be replaced, so the failure comes after the Pipfile was swapped in.
    if subprocess.run(["chattr", "+i", str(lock)], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        before = snapshot(pipfence_project)
        result = cli(["install", "gamma"])
    finally:
        subprocess.run(["chattr", "-i", str(lock)], check=False)
    assert result.returncode == 1, out(result)
    one_line_error(result, "Could not write `Pipfile.lock`", "Operation not permitted")
    assert snapshot(pipfence_project) == before
    assert installed(pipfence_project) == {"alpha": "1.0"}
    assert leftovers(pipfence_project) == []


# -- 3. `lock` beside `install NEW` --------------------------------------------------------


def test_lock_beside_install_new_waits_and_keeps_the_new_package(
    cli: RunPipfence,
    env: dict[str, str],
    pipfence_project: Path,
    fault_server: FaultServer,
    dist_factory: DistFactory,
) -> None:
    fault_server.add_project("alpha", [dist_factory.wheel("alpha", "1.0")])
    fault_server.add_project("newpkg", [dist_factory.wheel("newpkg", "1.0")])
    write_pipfile(
        pipfence_project,
        source_table("corp", fault_server.simple_url) + '[packages]\nalpha = "*"\n',
    )
    first = cli(["install"])
    assert first.returncode == 0, out(first)
    # `install newpkg` asks for alpha's page once, at once; a `lock` that read the Pipfile
    # while it runs would get alpha's page late, and write its stale lock last.
    fault_server.delay("/simple/newpkg/", 1.5)
    fault_server.delay("/simple/alpha/", 6, after=1)
    fault_server.clear()
    fresh = {**env, "PIPFENCE_PAGE_MAX_AGE": "0"}
    installing = start_pipfence(["install", "newpkg"], pipfence_project, fresh)
    wait_for(lambda: "/simple/newpkg/" in fault_server.paths())
    locking = start_pipfence(["lock"], pipfence_project, fresh)
    results = [p.communicate(timeout=120) for p in (installing, locking)]
    assert [installing.returncode, locking.returncode] == [0, 0], results
    assert sorted(read_lock(pipfence_project)["default"]) == ["alpha", "newpkg"]
    assert 'newpkg = "*"' in (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    verify = cli(["verify"])
    assert verify.returncode == 0, out(verify)
    assert installed(pipfence_project) == {"alpha": "1.0", "newpkg": "1.0"}


# -- 4. symlinked Pipfile and lock ---------------------------------------------------------


def test_a_symlinked_pipfile_and_lock_stay_symlinks_to_their_updated_targets(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, tmp_path: Path
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("gamma", "1.0")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "Pipfile").write_text(
        source_table("public", public_index.simple_url) + '[packages]\nalpha = "*"\n',
        encoding="utf-8",
    )
    (shared / "Pipfile").chmod(0o640)
    (pipfence_project / "Pipfile").symlink_to("../shared/Pipfile")
    (pipfence_project / "Pipfile.lock").symlink_to("../shared/Pipfile.lock")  # dangling yet
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    assert (pipfence_project / "Pipfile.lock").is_symlink()
    assert (shared / "Pipfile.lock").is_file()  # written through the dangling link
    (shared / "Pipfile.lock").chmod(0o600)

    result = cli(["install", "gamma"])
    assert result.returncode == 0, out(result)
    for name, mode in (("Pipfile", 0o640), ("Pipfile.lock", 0o600)):
        link = pipfence_project / name
        assert link.is_symlink(), name
        assert os.readlink(link) == f"../shared/{name}"
        assert stat.S_IMODE((shared / name).stat().st_mode) == mode, name
    assert 'gamma = "*"' in (shared / "Pipfile").read_text(encoding="utf-8")
    assert sorted(read_lock(pipfence_project)["default"]) == ["alpha", "gamma"]
    assert sorted(p.name for p in shared.iterdir()) == ["Pipfile", "Pipfile.lock"]
    assert installed(pipfence_project) == {"alpha": "1.0", "gamma": "1.0"}
    assert cli(["verify"]).returncode == 0
