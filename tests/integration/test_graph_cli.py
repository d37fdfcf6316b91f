"""`pipfence graph` and `pipfence open` on an environment `pipfence install` made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support import RunPipfence
    from support.indexes import PypiServer

pytestmark = pytest.mark.integration


@pytest.fixture
def installed(
    run_pipfence: RunPipfence, pipfence_project: Path, public_index: PypiServer, env: dict[str, str]
) -> Path:
    public_index.add_dist("app", "1.2", requires=["helper>=2", "req[socks]"])
    public_index.add_dist("helper", "2.0")
    public_index.add_dist("req", "1.0", requires=["helper"], extras={"socks": ["pysocks"]})
    public_index.add_dist("pysocks", "1.7")
    (pipfence_project / "Pipfile").write_text(
        f'[[source]]\nurl = "{public_index.simple_url}"\nverify_ssl = false\nname = "public"\n\n'
        '[packages]\napp = "*"\n',
        encoding="utf-8",
    )
    result = run_pipfence(["install"], env=env)
    assert result.returncode == 0, result.stderr
    assert (pipfence_project / ".venv" / "pyvenv.cfg").is_file()
    return pipfence_project


def test_graph_text(run_pipfence: RunPipfence, installed: Path, env: dict[str, str]) -> None:
    result = run_pipfence(["graph"], env=env)
    assert result.returncode == 0, result.stderr
    # Drawn as pipdeptree draws it on UTF-8 output, with the extra app asks of req.
    assert result.stdout.splitlines() == [
        "app==1.2",
        "├── helper [required: >=2, installed: 2.0]",
        "└── req [required: Any, installed: 1.0]",
        "    ├── helper [required: Any, installed: 2.0]",
        "    └── pysocks [required: Any, installed: 1.7, extra: socks]",
    ]
    plain = run_pipfence(["graph"], env={**env, "PYTHONIOENCODING": "latin-1"})
    assert plain.stdout.splitlines() == [
        "app==1.2",
        "  - helper [required: >=2, installed: 2.0]",
        "  - req [required: Any, installed: 1.0]",
        "    - helper [required: Any, installed: 2.0]",
        "    - pysocks [required: Any, installed: 1.7, extra: socks]",
    ]
    bare = run_pipfence(["graph", "--bare"], env=env)
    assert "pip==" in bare.stdout  # pipdeptree's own output, pip included, as pipenv's --bare


def test_graph_reverse_and_json(
    run_pipfence: RunPipfence, installed: Path, env: dict[str, str]
) -> None:
    reverse = run_pipfence(["graph", "--reverse"], env=env)
    assert reverse.returncode == 0, reverse.stderr
    assert reverse.stdout.splitlines()[:4] == [
        "helper==2.0",
        "├── app==1.2 [requires: helper>=2]",
        "└── req==1.0 [requires: helper]",
        "    └── app==1.2 [requires: req]",
    ]
    flat = json.loads(run_pipfence(["graph", "--json"], env=env).stdout)
    assert [item["package"]["key"] for item in flat] == ["app", "helper", "pysocks", "req"]
    tree = json.loads(run_pipfence(["graph", "--json-tree"], env=env).stdout)
    assert [node["key"] for node in tree] == ["app"]
    both = run_pipfence(["graph", "--json", "--json-tree"], env=env)
    assert both.returncode == 2
    upside = run_pipfence(["graph", "--reverse", "--json-tree"], env=env)
    assert upside.returncode == 0, upside.stderr
    leaves = json.loads(upside.stdout)
    assert [node["key"] for node in leaves] == ["helper", "pysocks"]
    helper = leaves[0]
    assert helper["required_version"] == "2.0"
    assert [(d["key"], d["required_version"]) for d in helper["dependencies"]] == [
        ("app", ">=2"),
        ("req", "Any"),
    ]
    req = helper["dependencies"][1]
    assert [(d["key"], d["required_version"]) for d in req["dependencies"]] == [("app", "Any")]


def test_graph_without_an_environment(
    run_pipfence: RunPipfence, pipfence_project: Path, env: dict[str, str]
) -> None:
    (pipfence_project / "Pipfile").write_text("[packages]\n", encoding="utf-8")
    result = run_pipfence(["graph"], env=env)
    assert result.returncode == 2
    assert "no environment exists" in result.stderr
    assert "pipfence install" in result.stderr


def test_open_prints_the_folder_through_the_editor(
    run_pipfence: RunPipfence, installed: Path, env: dict[str, str]
) -> None:
    result = run_pipfence(["open", "helper"], env={**env, "EDITOR": "echo"})
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip())
    assert folder.name == "helper"
    assert folder.is_relative_to(installed / ".venv")
    assert (folder / "__init__.py").is_file()
    missing = run_pipfence(["open", "nothere"], env={**env, "EDITOR": "echo"})
    assert missing.returncode == 1
    assert "`nothere` is not importable" in missing.stderr
    bad = run_pipfence(["open", "os; import sys"], env={**env, "EDITOR": "echo"})
    assert bad.returncode == 2
