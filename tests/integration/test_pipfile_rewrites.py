"""How `install`, `upgrade` and `update` write the Pipfile, as a pipenv user expects it:

- a ``[packages.name]`` sub-table of a table an edit touches becomes an inline entry
  (``name = {version = "*", extras = ["socks"]}``), as pipenv writes it, also when it sits
  after another table (out of order);
- under ``[pipenv] sort_pipfile = true`` the tables holding a package `upgrade NAME` names
  are left sorted; without it the order stays as written;
- a new entry's name is written as pipenv writes it (``python_DateUtil`` →
  ``python-dateutil``); an entry already there keeps the spelling it has, so an install never
  adds a second entry for one package.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

import pytest

from support.project import out, read_lock, source_table, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def pipfile(project: Path) -> str:
    return (project / "Pipfile").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "between",
    [
        pytest.param("", id="in-order"),
        pytest.param("# Out-of-order\n[pipenv]\nallow_prereleases = false\n\n", id="out-of-order"),
    ],
)
def test_a_sub_table_of_the_edited_table_becomes_an_inline_entry(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, between: str
) -> None:
    for name in ("six", "requests", "colorama", "pysocks"):
        public_index.add_dist(name, "1.0")
    public_index.add_dist("requests", "2.0", extras={"socks": ["pysocks"]})
    write_pipfile(
        pipfence_project,
        source_table("testindex", public_index.simple_url)
        + '[packages]\nsix = {version = "*"}\n\n'
        + between
        + '[packages.requests]\nversion = "*"  # any\nextras = ["socks"]\n',
    )

    result = cli(["install", "colorama"])

    assert result.returncode == 0, out(result)
    text = pipfile(pipfence_project)
    assert "[packages.requests]" not in text
    assert (
        '[packages]\nsix = {version = "*"}\n'
        'requests = {version = "*", extras = ["socks"]}  # any\n'
        'colorama = "*"\n'
    ) in text
    if between:
        assert text.endswith("# Out-of-order\n[pipenv]\nallow_prereleases = false\n")
    assert set(read_lock(pipfence_project)["default"]) == {
        "six",
        "requests",
        "colorama",
        "pysocks",
    }


UNSORTED = '[packages]\nzipp = "*"\nsix = "==1.11"\ncolorama = "*"\natomicwrites = "*"\n'


@pytest.mark.parametrize("directive", [True, False])
def test_upgrade_of_a_package_sorts_its_table_only_under_sort_pipfile(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer, directive: bool
) -> None:
    for name in ("zipp", "colorama", "atomicwrites"):
        public_index.add_dist(name, "1.0")
    public_index.add_dist("six", "1.11")
    public_index.add_dist("six", "1.16.0")
    setting = "[pipenv]\nsort_pipfile = true\n\n" if directive else ""
    write_pipfile(
        pipfence_project,
        source_table("testindex", public_index.simple_url) + setting + UNSORTED,
    )

    result = cli(["upgrade", "six"])

    assert result.returncode == 0, out(result)
    packages = tomllib.loads(pipfile(pipfence_project))["packages"]
    if directive:
        assert list(packages) == ["atomicwrites", "colorama", "six", "zipp"]
    else:
        assert list(packages) == ["zipp", "six", "colorama", "atomicwrites"]
    assert packages["six"] == "==1.11"


def test_new_names_are_written_as_pipenv_writes_them_and_existing_ones_keep_theirs(
    cli: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("requests", "2.14.0")
    public_index.add_dist("requests", "2.18.4")
    public_index.add_dist("python-dateutil", "2.8.0")
    write_pipfile(
        pipfence_project,
        "# Pre comment\n"
        + source_table("testindex", public_index.simple_url)
        + '[packages]\nRequests = "==2.14.0"   # Inline comment\n',
    )

    updated = cli(["install", "requests==2.18.4"])
    assert updated.returncode == 0, out(updated)
    added = cli(["install", "python_DateUtil"])
    assert added.returncode == 0, out(added)

    text = pipfile(pipfence_project)
    assert text.startswith("# Pre comment\n")
    assert tomllib.loads(text)["packages"] == {
        "Requests": "==2.18.4",
        "python-dateutil": "*",
    }
    assert 'Requests = "==2.18.4"   # Inline comment\n' in text
    assert set(read_lock(pipfence_project)["default"]) == {"requests", "python-dateutil"}
