"""`pipfence lock` resolving past dead ends and writing markers as pipenv does, against a real
local index."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from support.project import pipfile_text, read_lock, write_pipfile

if TYPE_CHECKING:
    from pathlib import Path

    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


def test_a_dependency_on_no_index_makes_the_lock_take_an_older_parent(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    # packse's `example`: b 3.0.0 depends on c, which no index has; pip, pipenv and uv take
    # b 2.0.0 instead of failing.
    public_index.add_dist("a", "1.0.0", requires=["b>1.0.0"])
    public_index.add_dist("b", "1.0.0")
    public_index.add_dist("b", "2.0.0")
    public_index.add_dist("b", "3.0.0", requires=["c"])
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], 'a = "*"\n'))

    result = run_pipfence(["lock"])

    assert result.returncode == 0, result.stderr
    default = read_lock(pipfence_project)["default"]
    assert {name: entry["version"] for name, entry in default.items()} == {
        "a": "==1.0.0",
        "b": "==2.0.0",
    }


def test_a_dependency_on_no_index_with_no_way_around_names_the_chain(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer
) -> None:
    public_index.add_dist("a", "1.0.0", requires=["b>1.0.0"])
    public_index.add_dist("b", "2.0.0", requires=["c"])
    public_index.add_dist("b", "3.0.0", requires=["c"])
    write_pipfile(pipfence_project, pipfile_text([("public", public_index.simple_url)], 'a = "*"\n'))

    result = run_pipfence(["lock"])

    assert result.returncode == 1
    assert "`c` was not found on the default source `public`" in result.stderr
    assert "`a` 1.0.0 → `b` 3.0.0, 2.0.0 → `c`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (pipfence_project / "Pipfile.lock").exists()
