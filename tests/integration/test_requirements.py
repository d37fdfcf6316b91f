"""`pipfence requirements`: pipenv's requirements lines, the routing warning, and --pylock."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def locked(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> dict[str, str]:
    files = {
        "app": public_index.add_dist("app", "1.0", requires=["helper"]),
        "app-sdist": public_index.add_sdist("app", "1.0", requires=["helper"]),
        "helper": public_index.add_dist("helper", "2.0"),
        "internal": private_index.add_dist("internal", "1.0"),
        "pytest-ish": public_index.add_dist("pytest-ish", "8.0"),
    }
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "public"\n\n'
        f'[[source]]\nurl = "{private_index.simple_url}"\nverify_ssl = false\nname = "private"\n\n'
        '[packages]\napp = {version = "*", markers = "python_version >= \'3.8\'"}\ninternal = {version = "*", index = "private"}\n\n'
        '[dev-packages]\npytest-ish = "*"\n',
        encoding="utf-8",
    )
    result = run_pipfence(["lock"])
    assert result.returncode == 0, result.stderr
    return {name: sha(path) for name, path in files.items()}


def test_requirements_lines_as_pipenv_writes_them(
    run_pipfence: RunPipfence,
    locked: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    result = run_pipfence(["requirements"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"-i {public_index.simple_url}",
        f"--extra-index-url {private_index.simple_url}",
        "app==1.0; python_version >= '3.8'",
        "helper==2.0; python_version >= '3.8'",
        "internal==1.0",
    ]
    assert "pip looks for every package on all of them" in result.stderr
    assert "`internal` from `private`" in result.stderr
    hashed = run_pipfence(["requirements", "--dev-only", "--hash", "--exclude-index"])
    assert hashed.stdout.splitlines() == [f"pytest-ish==8.0 --hash=sha256:{locked['pytest-ish']}"]
    assert hashed.stderr == ""


def test_from_pipfile_lists_only_what_the_pipfile_names(
    run_pipfence: RunPipfence, locked: dict[str, str]
) -> None:
    """pipenv's `requirements --from-pipfile`: the Pipfile's own packages at their locked
    versions, without `helper`, which only `app` needs."""
    result = run_pipfence(["requirements", "--from-pipfile", "--exclude-index"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["app==1.0; python_version >= '3.8'", "internal==1.0"]
    dev = run_pipfence(["requirements", "--from-pipfile", "--dev", "--exclude-index"])
    assert dev.returncode == 0, dev.stderr
    assert sorted(dev.stdout.splitlines()) == [
        "app==1.0; python_version >= '3.8'",
        "internal==1.0",
        "pytest-ish==8.0",
    ]


def test_pylock_records_each_packages_index(
    run_pipfence: RunPipfence,
    pipfence_project: Path,
    locked: dict[str, str],
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    result = run_pipfence(["requirements", "--pylock"])
    assert result.returncode == 0, result.stderr
    data = tomllib.loads((pipfence_project / "pylock.toml").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in data["packages"]}
    assert sorted(packages) == ["app", "helper", "internal"]
    assert packages["internal"]["index"] == private_index.simple_url
    assert packages["internal"]["wheels"][0]["hashes"] == {"sha256": locked["internal"]}
    assert packages["internal"]["wheels"][0]["url"].startswith(private_index.url)
    assert packages["app"]["index"] == public_index.simple_url
    assert packages["app"]["sdist"]["hashes"] == {"sha256": locked["app-sdist"]}
    assert packages["helper"]["marker"] == "python_version >= '3.8'"
    # Each page came from the package's own index only.
    assert not [p for p in public_index.requested_paths() if "internal" in p]
    stdout = run_pipfence(["requirements", "--format", "pylock", "-o", "-", "--dev"])
    assert 'name = "pytest-ish"' in stdout.stdout


def test_without_a_lock(run_pipfence: RunPipfence, pipfence_project: Path) -> None:
    (pipfence_project / "Pipfile").write_text("[packages]\n", encoding="utf-8")
    result = run_pipfence(["requirements"])
    assert result.returncode == 2
    assert "pipfence lock" in result.stderr


@pytest.mark.parametrize("command", [["requirements"], ["requirements", "--format", "pylock"]])
def test_a_pipfile_that_does_not_parse_stops_the_export_as_every_command(
    run_pipfence: RunPipfence, locked: dict[str, str], pipfence_project: Path, command: list[str]
) -> None:
    """An export from a lock beside a broken Pipfile was printed (its `-i` lines gone) and
    exited 0: a CI step exporting requirements must fail as `sync` would."""
    (pipfence_project / "Pipfile").write_text('[packages]\nsix = "*\n', encoding="utf-8")
    before = sorted(p.name for p in pipfence_project.iterdir())
    result = run_pipfence(command)
    assert result.returncode == 2, result.stdout
    assert "Pipfile:2: invalid TOML" in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in pipfence_project.iterdir()) == before
