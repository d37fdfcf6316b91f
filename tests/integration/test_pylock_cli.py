"""`pipfence pylock`, pipenv's PEP 751 command: --generate from the lock (dev packages in the
`dev` dependency group), --validate, a summary with no option, and --from-pyproject, which
locks pyproject.toml's dependencies (fenced as any lock) instead of writing pipenv's
unresolved skeleton."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.project import out, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def read_pylock(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_generate_validate_and_show(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("beta", "2.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nalpha = "*"\n\n[dev-packages]\nbeta = "*"\n',
    )
    assert cli(["lock"]).returncode == 0
    none_yet = cli(["pylock"])
    assert none_yet.returncode == 0, out(none_yet)
    assert "pipfence pylock --generate" in none_yet.stderr

    generated = cli(["pylock", "--generate"])
    assert generated.returncode == 0, out(generated)
    data = read_pylock(pipfence_project / "pylock.toml")
    packages = {p["name"]: p for p in data["packages"]}
    assert sorted(packages) == ["alpha", "beta"]
    assert "marker" not in packages["alpha"]
    assert packages["beta"]["marker"] == "'dev' in dependency_groups"
    assert packages["beta"]["index"] == public_index.simple_url
    assert data["dependency-groups"] == ["dev"]
    assert data["default-groups"] == ["default"]

    valid = cli(["pylock", "--validate"])
    assert valid.returncode == 0, out(valid)
    assert "Valid pylock.toml (version 1.0)" in valid.stderr
    assert "  Packages: 2" in valid.stdout
    shown = cli(["pylock"])
    assert shown.returncode == 0, out(shown)
    assert "  Dependency Groups: dev" in shown.stdout


def test_validate_names_what_is_wrong(cli: RunPipfence, pipfence_project: Path) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    (pipfence_project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n\n[[packages]]\nname = "alpha"\n',
        encoding="utf-8",
    )
    result = cli(["pylock", "--validate"])
    assert result.returncode == 1, out(result)
    assert "pylock.toml is not a valid pylock file" in result.stderr
    assert "packages[0]" in result.stderr
    assert "Traceback" not in result.stderr
    missing = cli(["pylock", "--generate"])
    assert missing.returncode == 2, out(missing)
    assert "Pipfile.lock" in missing.stderr


def test_validate_and_show_need_no_pipfile(cli: RunPipfence, pipfence_project: Path) -> None:
    (pipfence_project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\npackages = []\n', encoding="utf-8"
    )
    valid = cli(["pylock", "--validate"])
    assert valid.returncode == 0, out(valid)
    assert "Valid pylock.toml (version 1.0)" in valid.stderr
    shown = cli(["pylock"])
    assert shown.returncode == 0, out(shown)
    assert "  Created by: hand" in shown.stdout
    assert sorted(p.name for p in pipfence_project.iterdir()) == ["pylock.toml"]


def test_from_pyproject_locks_dependencies_groups_and_extras(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("alpha", "1.0", requires=["helper"])
    public_index.add_dist("helper", "1.5")
    public_index.add_dist("beta", "2.0")
    public_index.add_dist("gamma", "3.0")
    pipfile = write_pipfile(
        pipfence_project, source_table("public", public_index.simple_url) + "[packages]\n"
    )
    (pipfence_project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.9"\n'
        'dependencies = ["alpha>=1"]\n\n'
        '[project.optional-dependencies]\nfancy = ["gamma"]\n\n'
        '[dependency-groups]\ntest = ["beta", {include-group = "lint"}]\nlint = ["alpha"]\n',
        encoding="utf-8",
    )
    result = cli(["pylock", "--from-pyproject", "-o", "pylock.demo.toml"])
    assert result.returncode == 0, out(result)
    data = read_pylock(pipfence_project / "pylock.demo.toml")
    packages = {p["name"]: p for p in data["packages"]}
    assert {name: p["version"] for name, p in packages.items()} == {
        "alpha": "1.0",
        "beta": "2.0",
        "gamma": "3.0",
        "helper": "1.5",
    }
    assert "marker" not in packages["alpha"]
    assert "marker" not in packages["helper"]
    assert packages["beta"]["marker"] == "'test' in dependency_groups"
    assert packages["gamma"]["marker"] == "'fancy' in extras"
    assert data["requires-python"] == ">=3.9"
    assert data["extras"] == ["fancy"]
    assert data["dependency-groups"] == ["test", "lint"]
    assert all(p.get("sdist") or p.get("wheels") for p in packages.values())
    # Nothing else was written.
    assert (pipfence_project / "Pipfile").read_bytes() == pipfile
    assert not (pipfence_project / "Pipfile.lock").exists()
    valid = cli(["pylock", "--validate"])
    assert valid.returncode == 0, out(valid)


def test_from_pyproject_without_one_is_a_usage_error(
    cli: RunPipfence, pipfence_project: Path
) -> None:
    write_pipfile(pipfence_project, "[packages]\n")
    result = cli(["pylock", "--from-pyproject"])
    assert result.returncode == 2, out(result)
    assert "no pyproject.toml" in result.stderr


def test_use_pylock_writes_the_pylock_with_every_lock(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    """pipenv's `[pipenv] use_pylock = true`: each lock also writes the pylock.toml (named
    by `pylock_name`), in the same step as Pipfile.lock; without it none is written."""
    public_index.add_dist("alpha", "1.0")
    public_index.add_dist("alpha", "1.1")
    public_index.add_dist("beta", "2.0")
    sources = source_table("public", public_index.simple_url)
    write_pipfile(pipfence_project, sources + '[packages]\nalpha = "==1.0"\n')
    assert cli(["lock"]).returncode == 0
    assert not list(pipfence_project.glob("pylock*.toml"))

    write_pipfile(
        pipfence_project,
        sources + '[packages]\nalpha = "==1.0"\n\n[pipenv]\nuse_pylock = true\n',
    )
    locked = cli(["lock"])
    assert locked.returncode == 0, out(locked)
    assert "use_pylock" not in locked.stderr
    data = read_pylock(pipfence_project / "pylock.toml")
    assert [(p["name"], p["version"]) for p in data["packages"]] == [("alpha", "1.0")]

    write_pipfile(
        pipfence_project,
        sources + '[packages]\nalpha = "==1.1"\n\n[pipenv]\nuse_pylock = true\n'
        'pylock_name = "app"\n',
    )
    installed = cli(["install", "beta", "--dev"])
    assert installed.returncode == 0, out(installed)
    named = read_pylock(pipfence_project / "pylock.app.toml")
    versions = {p["name"]: p["version"] for p in named["packages"]}
    assert versions == {"alpha": "1.1", "beta": "2.0"}
