"""Package categories (Pipfile tables other than ``[packages]``) end to end, as pipenv has them.

- ``install PKG --categories "a b"`` (or ``"a, b"``) adds to every table named, in that order;
- ``PIPENV_DEFAULT_CATEGORIES`` chooses the tables when neither ``--dev`` nor ``--categories``
  is given;
- one package pinned to different indexes in two custom tables (``[cpu] torch`` from one
  index, ``[gpu] torch`` from another) locks, each table resolved under its own fence;
- the same local path in two tables with different options keeps each table's options.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.project import installed, out, read_lock, source_table, write_pipfile

if TYPE_CHECKING:
    from support import RunPipfence
    from support.dists import DistFactory
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def read_pipfile(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "Pipfile").read_text(encoding="utf-8"))


@pytest.mark.parametrize("categories", ["prereq other", "prereq, other", "prereq,other"])
def test_install_into_several_categories_adds_to_each_in_order(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, categories: str
) -> None:
    public_index.add_dist("six", "1.16.0")
    write_pipfile(
        pipfence_project, source_table("public", public_index.simple_url) + "[packages]\n"
    )

    result = cli(["install", "six", "--categories", categories])

    assert result.returncode == 0, out(result)
    pipfile = read_pipfile(pipfence_project)
    assert "six" not in pipfile["packages"]
    assert pipfile["prereq"] == {"six": "*"}
    assert pipfile["other"] == {"six": "*"}
    tables = [t for t in pipfile if t != "source"]
    assert tables == ["packages", "prereq", "other"]
    lock = read_lock(pipfence_project)
    assert lock["default"] == {}
    assert lock["prereq"]["six"]["version"] == "==1.16.0"
    assert lock["other"]["six"]["version"] == "==1.16.0"
    assert installed(pipfence_project) == {"six": "1.16.0"}


def test_default_categories_variable_chooses_what_install_installs(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, env: dict[str, str]
) -> None:
    public_index.add_dist("six", "1.16.0")
    public_index.add_dist("tablib", "3.0")
    public_index.add_dist("extra", "1.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nsix = "*"\n\n[dev-packages]\ntablib = "*"\n\n[docs]\nextra = "*"\n',
    )
    with_both = {**env, "PIPENV_DEFAULT_CATEGORIES": "packages,dev-packages"}

    result = cli(["install"], env=with_both)

    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"six": "1.16.0", "tablib": "3.0"}

    # --categories given on the command line wins over the variable
    docs = cli(["sync", "--categories", "docs"], env=with_both)
    assert docs.returncode == 0, out(docs)
    assert installed(pipfence_project)["extra"] == "1.0"


def test_default_categories_variable_gives_the_tables_a_new_package_goes_to(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, env: dict[str, str]
) -> None:
    public_index.add_dist("six", "1.16.0")
    write_pipfile(
        pipfence_project, source_table("public", public_index.simple_url) + "[packages]\n"
    )

    result = cli(["install", "six"], env={**env, "PIPENV_DEFAULT_CATEGORIES": "tools docs"})

    assert result.returncode == 0, out(result)
    pipfile = read_pipfile(pipfence_project)
    assert pipfile["packages"] == {}
    assert pipfile["tools"] == {"six": "*"}
    assert pipfile["docs"] == {"six": "*"}


def test_explicit_dev_overrides_the_default_categories_variable(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, env: dict[str, str]
) -> None:
    public_index.add_dist("six", "1.16.0")
    public_index.add_dist("tablib", "3.0")
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + '[packages]\nsix = "*"\n\n[dev-packages]\ntablib = "*"\n',
    )

    result = cli(["install", "--dev"], env={**env, "PIPENV_DEFAULT_CATEGORIES": "packages"})

    assert result.returncode == 0, out(result)
    assert installed(pipfence_project) == {"six": "1.16.0", "tablib": "3.0"}


def test_one_package_pinned_to_different_indexes_in_two_categories_locks_per_category(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("torch", "2.0", requires=["filelock"])
    public_index.add_dist("filelock", "3.0")
    private_index.add_dist("torch", "2.1", requires=["filelock"])
    write_pipfile(
        pipfence_project,
        source_table("pypi", public_index.simple_url)
        + source_table("pytorch", private_index.simple_url)
        + "[packages]\n\n"
        + '[cpu]\ntorch = {version = "*", index = "pytorch"}\n\n'
        + '[gpu]\ntorch = {version = "*", index = "pypi"}\n',
    )

    locked = cli(["lock"])

    assert locked.returncode == 0, out(locked)
    lock = read_lock(pipfence_project)
    assert lock["cpu"]["torch"]["version"] == "==2.1"
    assert lock["cpu"]["torch"]["index"] == "pytorch"
    assert lock["gpu"]["torch"]["version"] == "==2.0"
    assert lock["gpu"]["torch"]["index"] == "pypi"
    assert lock["cpu"]["filelock"]["version"] == "==3.0"
    assert lock["gpu"]["filelock"]["version"] == "==3.0"
    assert "/simple/torch/" in public_index.requested_paths()
    assert "/simple/torch/" in private_index.requested_paths()

    verify = cli(["verify"])
    assert verify.returncode == 0, out(verify)
    for category, version in (("cpu", "2.1"), ("gpu", "2.0")):
        synced = cli(["sync", "--categories", category])
        assert synced.returncode == 0, out(synced)
        assert installed(pipfence_project)["torch"] == version

    both = cli(["sync", "--categories", "cpu gpu"])
    assert both.returncode == 2, out(both)
    assert "pins `torch` to 2.1 and 2.0 in two categories" in both.stderr
    assert "one at a time" in both.stderr
    assert installed(pipfence_project)["torch"] == "2.0"
    assert "Traceback" not in both.stderr


def test_a_pin_in_packages_and_another_in_a_category_is_still_an_error(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    private_index: PypiServer,
) -> None:
    public_index.add_dist("torch", "2.0")
    private_index.add_dist("torch", "2.1")
    before = write_pipfile(
        pipfence_project,
        source_table("pypi", public_index.simple_url)
        + source_table("pytorch", private_index.simple_url)
        + '[packages]\ntorch = {version = "*", index = "pypi"}\n\n'
        + '[cpu]\ntorch = {version = "*", index = "pytorch"}\n',
    )

    result = cli(["lock"])

    assert result.returncode == 2, out(result)
    assert "`torch` is pinned to both `pypi` and `pytorch`" in result.stderr
    assert (pipfence_project / "Pipfile").read_bytes() == before
    assert not (pipfence_project / "Pipfile.lock").exists()


def test_one_local_path_in_two_categories_keeps_each_categorys_options(
    cli: RunPipfence,
    pipfence_project: Path,
    public_index: PypiServer,
    dist_factory: DistFactory,
) -> None:
    public_index.add_dist("pytest", "8.0")
    tree = dist_factory.source_tree("localpkg", "0.1", extras={"test": ["pytest"]})
    path = tree.as_posix()
    write_pipfile(
        pipfence_project,
        source_table("public", public_index.simple_url)
        + f'[packages]\nlocalpkg = {{path = "{path}", editable = true}}\n\n'
        + f'[dev-packages]\nlocalpkg = {{path = "{path}", extras = ["test"]}}\n',
    )

    result = cli(["lock"])

    assert result.returncode == 0, out(result)
    lock = read_lock(pipfence_project)
    assert lock["default"] == {"localpkg": {"editable": True, "path": path}}
    assert lock["develop"]["localpkg"] == {"extras": ["test"], "path": path}
    assert lock["develop"]["pytest"]["version"] == "==8.0"
