"""The installed dependency graph and its pipdeptree renderings, from literal METADATA facts."""

from __future__ import annotations

import json

import pytest

from pipfence.cli.render.graph import render_json, render_json_tree, render_text
from pipfence.models.names import NormalizedName
from pipfence.models.target import Target
from pipfence.project.graph import DependencyGraph


@pytest.fixture(scope="module")
def graph() -> DependencyGraph:
    return DependencyGraph.build(
        [
            ("App", "1.2", ["helper>=2", "req[socks]<3,>=1", 'winonly; sys_platform == "nowhere"']),
            ("helper", "2.0", []),
            ("req", "1.0", ["helper", 'PySocks; extra == "socks"', "not a requirement ["]),
            ("PySocks", "1.7", []),
            ("pip", "24.0", []),
            ("cyc-a", "1", ["cyc-b"]),
            ("cyc-b", "1", ["cyc-a", "gone>=1"]),
            ("top", "1", ["cyc-a"]),
        ],
        Target.current(),
    )


def test_edges_skip_false_markers_and_keep_extras_aside(graph: DependencyGraph) -> None:
    app = graph.nodes[NormalizedName("app")]
    assert app.name == "App"
    assert [d.key for d in app.requires] == ["helper", "req"]
    assert app.requires[1].specifier == ">=1,<3"
    assert app.requires[1].extras == ("socks",)
    assert [d.key for d in graph.nodes[NormalizedName("req")].requires] == ["helper"]
    assert [(d.key, d.extra) for d in graph.extra_edges[NormalizedName("req")]] == [
        ("pysocks", "socks")
    ]


def test_text_tree_as_pipdeptree_prints_it(graph: DependencyGraph) -> None:
    assert render_text(graph) == [
        "App==1.2",
        "  - helper [required: >=2, installed: 2.0]",
        "  - req [required: >=1,<3, installed: 1.0]",
        "    - helper [required: Any, installed: 2.0]",
        "    - PySocks [required: Any, installed: 1.7, extra: socks]",  # App asks req[socks]
        "top==1",
        "  - cyc-a [required: Any, installed: 1]",
        "    - cyc-b [required: Any, installed: 1]",
        "      - gone [required: >=1, installed: ?]",
    ]


def test_reverse_tree(graph: DependencyGraph) -> None:
    lines = render_text(graph, reverse=True)
    # A dependency nothing installed provides heads its own branch, as pipdeptree shows it.
    assert lines[:4] == [
        "gone==?",
        "  - cyc-b==1 [requires: gone>=1]",
        "    - cyc-a==1 [requires: cyc-b]",
        "      - top==1 [requires: cyc-a]",
    ]
    assert lines[4:8] == [
        "helper==2.0",
        "  - App==1.2 [requires: helper>=2]",
        "  - req==1.0 [requires: helper]",
        "    - App==1.2 [requires: req>=1,<3]",
    ]
    assert "pip==24.0" in lines


def test_json_lists_every_package_but_pip(graph: DependencyGraph) -> None:
    data = json.loads(render_json(graph))
    assert [item["package"]["key"] for item in data] == [
        "app", "cyc-a", "cyc-b", "helper", "pysocks", "req", "top",
    ]  # fmt: skip
    assert data[0]["dependencies"][0] == {
        "key": "helper",
        "package_name": "helper",
        "installed_version": "2.0",
        "required_version": ">=2",
    }
    reverse = {i["package"]["key"]: i for i in json.loads(render_json(graph, reverse=True))}
    assert reverse["helper"]["package"]["required_version"] == ">=2"
    assert reverse["app"]["package"]["required_version"] == "==1.2"
    assert [d["key"] for d in reverse["helper"]["dependencies"]] == ["app", "req"]


def test_json_tree_nests_from_the_top(graph: DependencyGraph) -> None:
    tree = json.loads(render_json_tree(graph))
    assert [t["key"] for t in tree] == ["app", "top"]
    assert tree[0]["required_version"] == "1.2"
    req = tree[0]["dependencies"][1]
    assert req["required_version"] == ">=1,<3"
    assert req["dependencies"][0]["key"] == "helper"
    cyc_b = tree[1]["dependencies"][0]["dependencies"][0]
    assert [d["key"] for d in cyc_b["dependencies"]] == ["gone"]


def test_an_installed_dependency_goes_by_its_own_name_as_pipdeptree_names_it() -> None:
    """pipdeptree names a requirement by the installed distribution's ``Name``
    (`charset-normalizer`), whatever spelling the parent's ``Requires-Dist`` line has
    (`charset_normalizer`); one that nothing installed provides keeps the line's spelling."""
    graph = DependencyGraph.build(
        [
            ("requests", "2.32.3", ["charset_normalizer<4,>=2", "Missing_Dep"]),
            ("charset-normalizer", "3.4.0", []),
        ],
        Target.current(),
    )
    assert render_text(graph) == [
        "requests==2.32.3",
        "  - charset-normalizer [required: >=2,<4, installed: 3.4.0]",
        "  - Missing_Dep [required: Any, installed: ?]",
    ]
    assert render_text(graph, reverse=True)[:2] == [
        "charset-normalizer==3.4.0",
        "  - requests==2.32.3 [requires: charset-normalizer>=2,<4]",
    ]
    listed = json.loads(render_json(graph))[1]["dependencies"]
    assert [d["package_name"] for d in listed] == ["charset-normalizer", "Missing_Dep"]
    nested = json.loads(render_json_tree(graph))[0]["dependencies"]
    assert [d["package_name"] for d in nested] == ["charset-normalizer", "Missing_Dep"]


def test_the_unicode_tree_as_pipdeptree_draws_it_on_utf8_output() -> None:
    """pipdeptree (and so pipenv) draws the branches when its output is UTF-8; ``hidden``
    packages lose their own top line only, as pipenv filters pipdeptree's lines."""
    graph = DependencyGraph.build(
        [
            ("a", "1", ["b", "c"]),
            ("b", "1", ["d"]),
            ("c", "1", ["d", 'e; extra == "x"']),
            ("d", "1", ["c"]),
            ("e", "1", []),
            ("f", "1", ["c[x]"]),
            ("wheel", "1", ["packaging"]),
            ("packaging", "1", []),
        ],
        Target.current(),
    )
    assert render_text(graph, unicode=True) == [
        "a==1",
        "├── b [required: Any, installed: 1]",
        "│   └── d [required: Any, installed: 1]",
        "│       └── c [required: Any, installed: 1]",
        "│           └── e [required: Any, installed: 1, extra: x]",
        "└── c [required: Any, installed: 1]",
        "    ├── d [required: Any, installed: 1]",
        "    └── e [required: Any, installed: 1, extra: x]",
        "f==1",
        "└── c [required: Any, installed: 1]",
        "    ├── d [required: Any, installed: 1]",
        "    └── e [required: Any, installed: 1, extra: x]",
        "└── packaging [required: Any, installed: 1]",
    ]
    assert render_text(graph, unicode=True, hidden=())[-2:] == [
        "wheel==1",
        "└── packaging [required: Any, installed: 1]",
    ]
