"""`pipfence update --outdated` reports as pipenv does: each package with something newer as
``Package 'six' out-of-date: '1.11' installed, '1.16.0' available.`` on stdout, a release the
Pipfile's own constraint holds back as ``Skipped Update of Package …`` on stderr, exit 1 only
when `update` would move something. Nothing is written or installed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import dist_infos, out, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def _snapshot(project: Path) -> tuple[bytes, bytes, list[str]]:
    return (
        (project / "Pipfile").read_bytes(),
        (project / "Pipfile.lock").read_bytes(),
        dist_infos(project),
    )


@pytest.mark.parametrize("dev", [False, True])
def test_a_pinned_package_with_newer_releases_is_reported_as_held_back(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, dev: bool
) -> None:
    public_index.add_dist("six", "1.11")
    public_index.add_dist("six", "1.16.0")
    public_index.add_dist("six", "1.17.0rc1")
    write_pipfile(
        pipfence_project, source_table("public", public_index.simple_url) + "[packages]\n"
    )
    flag = ["--dev"] if dev else []
    installed = cli(["install", *flag, "six==1.11"])
    assert installed.returncode == 0, out(installed)
    before = _snapshot(pipfence_project)

    result = cli(["update", "six", *flag, "--outdated"])

    assert result.returncode == 0, out(result)
    assert "Package 'six' out-of-date: '1.11' installed, '1.16.0' available." in result.stdout
    assert (
        "Skipped Update of Package six: 1.11 installed, (==1.11 set in Pipfile), "
        "1.16.0 available." in result.stderr
    )
    assert _snapshot(pipfence_project) == before


def test_a_package_the_lock_would_move_fails_the_check_and_post_releases_compare(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_sdist("ibm-db-sa-py3", "0.3.0")
    public_index.add_sdist("ibm-db-sa-py3", "0.3.1.post1")
    write_pipfile(
        pipfence_project, source_table("public", public_index.simple_url) + "[packages]\n"
    )
    assert cli(["install", "ibm-db-sa-py3==0.3.0"]).returncode == 0

    held = cli(["update", "--outdated"])
    assert held.returncode == 0, out(held)
    assert "Skipped Update of Package ibm-db-sa-py3: 0.3.0 installed" in held.stderr
    assert "0.3.1.post1 available" in held.stderr

    text = (pipfence_project / "Pipfile").read_text(encoding="utf-8")
    (pipfence_project / "Pipfile").write_text(text.replace('"==0.3.0"', '"*"'), encoding="utf-8")
    before = _snapshot(pipfence_project)
    moving = cli(["update", "--outdated"])

    assert moving.returncode == 1, out(moving)
    assert (
        "Package 'ibm-db-sa-py3' out-of-date: '0.3.0' installed, '0.3.1.post1' available."
        in moving.stdout
    )
    assert "Skipped Update" not in moving.stderr
    assert _snapshot(pipfence_project) == before


def test_nothing_newer_says_so_and_succeeds(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("six", "1.16.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url) + '[packages]\nsix = "*"\n',
    )
    assert cli(["install"]).returncode == 0

    result = cli(["update", "--outdated"])

    assert result.returncode == 0, out(result)
    assert result.stdout == "All packages are up to date!\n"


@pytest.mark.parametrize("command", ["update", "upgrade"])
def test_update_of_a_package_its_pipfile_entry_holds_says_so(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, command: str
) -> None:
    """`update six` with `six = "==1.11"` keeps the pin (pipenv rewrites it) and said nothing:
    the update looked done. Now a warning names the entry and the newer release; a package
    that moved, or one named with a version, gets none."""
    public_index.add_dist("six", "1.11")
    public_index.add_dist("six", "1.16.0")
    public_index.add_dist("idna", "1.0")
    public_index.add_dist("idna", "2.0")
    write_pipfile(
        pipfence_project, source_table("public", public_index.simple_url) + "[packages]\n"
    )
    installed = cli(["install", "six==1.11", "idna==1.0"])
    assert installed.returncode == 0, out(installed)
    (pipfence_project / "Pipfile").write_text(
        (pipfence_project / "Pipfile").read_text().replace('idna = "==1.0"', 'idna = "*"')
    )
    pipfile = (pipfence_project / "Pipfile").read_bytes()

    result = cli([command, "six", "idna"])

    assert result.returncode == 0, out(result)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: six stays at 1.11: the Pipfile asks for `==1.11` (1.16.0 is available)"
    ]
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile
    pinned = cli([command, "six==1.11"])
    assert pinned.returncode == 0, out(pinned)
    assert "stays at" not in pinned.stderr
