"""A sync kept in the environment (`pipfence.project.sync_stamp`): the next sync of the same
lock into the unchanged environment answers as the full check would, and any change to the
lock, the Pipfile or the installed distributions makes the full check run again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.project import installed, out, site_packages, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration

STAMP = ".venv/.pipfence-synced.json"


@pytest.fixture
def synced(cli: RunPipfence, pipfence_project: Path, public_index: PypiServer) -> Path:
    """A project with alpha and beta locked and synced (with [dev-packages]), and a Pipfile
    setting pipfence warns about."""
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "1.0")
    public_index.add_dist("gamma", "2.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "*"\n\n[dev-packages]\nbeta = "*"\n\n'
        + "[pipenv]\nno_such_setting = true\n",
    )
    assert cli(["lock"]).returncode == 0
    done = cli(["sync", "--dev"])
    assert done.returncode == 0, out(done)
    return pipfence_project


def test_a_second_sync_says_what_the_full_check_says(cli: RunPipfence, synced: Path) -> None:
    (synced / STAMP).unlink()
    full = cli(["sync", "--dev"])  # no stamp: the full check, which writes one
    assert full.returncode == 0, out(full)
    assert (synced / STAMP).is_file()
    recalled = cli(["sync", "--dev"])
    assert recalled.returncode == 0, out(recalled)
    assert (recalled.stdout, recalled.stderr) == (full.stdout, full.stderr)
    assert "no_such_setting" in recalled.stderr
    assert "The environment already matches the lock (2 packages)" in recalled.stderr
    # Each choice of categories has its own answer, and both stay.
    plain = cli(["sync"])
    assert "already matches the lock (1 package)" in plain.stderr, out(plain)
    stamp = json.loads((synced / STAMP).read_text(encoding="utf-8"))
    assert sorted(a["kept"] for a in stamp["answers"].values()) == [1, 2]
    # What it answers is the stamp's (a count no full check would give shows it).
    for answer in stamp["answers"].values():
        answer["kept"] += 40
    (synced / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    assert "lock (42 packages)" in cli(["sync", "--dev"]).stderr


def test_a_changed_environment_is_checked_in_full(cli: RunPipfence, synced: Path) -> None:
    removed = cli(["run", "pip", "uninstall", "-y", "beta"])
    assert removed.returncode == 0, out(removed)
    again = cli(["sync", "--dev"])
    assert again.returncode == 0, out(again)
    assert "+ beta==1.0" in again.stderr
    assert installed(synced)["beta"] == "1.0"
    # A distribution's metadata rewritten in place (its folder left as it was) counts too.
    metadata = next(site_packages(synced).glob("alpha-1.0.dist-info")) / "METADATA"
    metadata.write_text(metadata.read_text(encoding="utf-8").replace("1.0", "0.9"), "utf-8")
    repaired = cli(["sync", "--dev"])
    assert "~ alpha 0.9 -> 1.0" in repaired.stderr, out(repaired)
    # And a distribution added beside the locked ones (a stray folder is enough).
    shutil.copytree(
        next(site_packages(synced).glob("beta-1.0.dist-info")),
        site_packages(synced) / "stray-0.1.dist-info",
    )
    stray = site_packages(synced) / "stray-0.1.dist-info" / "METADATA"
    stray.write_text("Metadata-Version: 2.1\nName: stray\nVersion: 0.1\n\n", encoding="utf-8")
    cleaned = cli(["sync", "--dev", "--clean"])
    assert "- stray==0.1" in cleaned.stderr, out(cleaned)


def test_a_changed_lock_is_checked_in_full(
    cli: RunPipfence, synced: Path, public_index: PypiServer
) -> None:
    pipfile = (synced / "Pipfile").read_text(encoding="utf-8")
    write_pipfile(synced, pipfile.replace('alpha = "*"', 'alpha = "*"\ngamma = "*"'))
    assert cli(["lock"]).returncode == 0
    added = cli(["sync", "--dev"])
    assert added.returncode == 0, out(added)
    assert "+ gamma==2.0" in added.stderr
    assert installed(synced)["gamma"] == "2.0"


def test_no_answer_is_kept_for_a_source_that_names_a_variable(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, env: dict[str, str]
) -> None:
    public_index.add_dist("alpha", "1.0")
    host = public_index.simple_url.split("/")[2]
    url = public_index.simple_url.replace(host, "${INDEX_HOST}")
    write_pipfile(pipfence_project, source_table("public", url) + '[packages]\nalpha = "*"\n')
    with_host = {**env, "INDEX_HOST": host}
    assert cli(["lock"], env=with_host).returncode == 0
    done = cli(["sync"], env=with_host)
    assert done.returncode == 0, out(done)
    assert installed(pipfence_project)["alpha"] == "1.0"
    assert not (pipfence_project / STAMP).exists()


def test_install_with_no_packages_keeps_its_answer_too(cli: RunPipfence, synced: Path) -> None:
    full = cli(["install", "--dev"])
    assert full.returncode == 0, out(full)
    assert "already matches the lock (2 packages)" in full.stderr
    stamp = json.loads((synced / STAMP).read_text(encoding="utf-8"))
    assert len(stamp["answers"]) == 2  # `sync --dev`'s and `install --dev`'s
    recalled = cli(["install", "--dev"])
    assert (recalled.returncode, recalled.stdout, recalled.stderr) == (0, full.stdout, full.stderr)
    # A Pipfile changed since: locked again and installed, not answered from the stamp.
    pipfile = (synced / "Pipfile").read_text(encoding="utf-8")
    write_pipfile(synced, pipfile.replace('alpha = "*"', 'alpha = "*"\ngamma = "*"'))
    added = cli(["install", "--dev"])
    assert added.returncode == 0, out(added)
    assert "+ gamma==2.0" in added.stderr
