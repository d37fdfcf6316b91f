"""`pipfence why`: category, chains through the installed environment, index and fence rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


@pytest.fixture
def project(pipfence_project: Path, public_index: PypiServer, private_index: PypiServer) -> Path:
    public_index.add_dist("app", "1.0", requires=["helper>=2"])
    public_index.add_dist("helper", "2.0")
    private_index.add_dist("internal-a", "1.0", requires=["internal-c"])
    private_index.add_dist("internal-c", "1.0")
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "public"\n\n'
        f'[[source]]\nurl = "{private_index.simple_url}"\nverify_ssl = false\nname = "private"\n\n'
        '[packages]\napp = "*"\ninternal-a = {version = "*", index = "private"}\n',
        encoding="utf-8",
    )
    return pipfence_project


def test_why_before_and_after_install(
    run_pipfence: RunPipfence, project: Path, env: dict[str, str]
) -> None:
    assert run_pipfence(["lock"], env=env).returncode == 0
    before = run_pipfence(["why", "internal-c"], env=env)
    assert before.returncode == 0, before.stderr
    assert "index:         private" in before.stdout
    assert "absent from the default source `public`" in before.stdout
    assert "the environment does not exist" in before.stderr

    assert run_pipfence(["install"], env=env).returncode == 0
    after = run_pipfence(["why", "internal-c"], env=env)
    assert "internal-a 1.0 -> internal-c 1.0 (Any)" in after.stdout
    assert "required by a package from `private` (internal-a)" in after.stdout

    helper = json.loads(run_pipfence(["why", "helper", "--json"], env=env).stdout)
    assert helper["rule"] == "default"
    assert helper["index"]["name"] == "public"
    assert helper["categories"] == ["default"]
    assert [[link["name"] for link in c] for c in helper["chains"]] == [["app", "helper"]]

    pinned = json.loads(run_pipfence(["why", "Internal_A", "--json"], env=env).stdout)
    assert pinned["rule"] == "pinned"
    assert pinned["pipfile_entries"] == [
        {"table": "packages", "version": "*", "index": "private", "extras": []}
    ]


def test_why_unknown_package(run_pipfence: RunPipfence, project: Path, env: dict[str, str]) -> None:
    assert run_pipfence(["lock"], env=env).returncode == 0
    result = run_pipfence(["why", "nope"], env=env)
    assert result.returncode == 1
    assert "`nope` is not in Pipfile.lock" in result.stderr


def test_why_a_path_entry_names_its_location_not_an_index(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    env: dict[str, str],
    public_index: PypiServer,
    dist_factory: DistFactory,
) -> None:
    tree = dist_factory.source_tree("localpkg", "0.1")
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "public"\n\n'
        f'[packages]\nlocalpkg = {{path = "{tree}"}}\n',
        encoding="utf-8",
    )
    assert run_pipfence(["lock"], env=env).returncode == 0
    result = run_pipfence(["why", "localpkg", "--json"], env=env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["rule"] == "direct"
    assert "a path entry" in found["reason"]
    assert str(tree) in found["reason"]
