"""`pipfence why` from a Pipfile, a lock and an installed graph given as literals."""

from __future__ import annotations

import pytest

from pipfence.errors import PipfenceError
from pipfence.models.lockfile import LockedPackage, Lockfile, Meta
from pipfence.models.pipfile import Pipfile
from pipfence.models.target import Target
from pipfence.project.graph import DependencyGraph
from pipfence.project.why import explain

PIPFILE = Pipfile.parse(
    """
[[source]]
url = "https://pypi.example/simple"
name = "public"

[[source]]
url = "https://${TOKEN}@private.example/simple"
name = "private"

[packages]
app = "*"
internal-a = {version = "*", index = "private"}

[dev-packages]
req = {version = "*", extras = ["socks"]}
"""
)
LOCK = Lockfile(
    meta=Meta(hash="x", sources=PIPFILE.sources),
    categories={
        "default": {
            n: LockedPackage(name=n, data=d)
            for n, d in {
                "app": {"version": "==1.0", "index": "public"},
                "helper": {"version": "==2.0"},
                "internal-a": {"version": "==1.0", "index": "private"},
                "internal-c": {"version": "==1.0", "index": "private"},
            }.items()
        },
        "develop": {
            n: LockedPackage(name=n, data=d)
            for n, d in {"req": {"version": "==1.0"}, "pysocks": {"version": "==1.7"}}.items()
        },
    },
)
GRAPH = DependencyGraph.build(
    [
        ("app", "1.0", ["helper>=2"]),
        ("helper", "2.0", []),
        ("internal-a", "1.0", ["internal-c"]),
        ("internal-c", "1.0", []),
        ("req", "1.0", ["helper", 'pysocks; extra == "socks"']),
        ("pysocks", "1.7", []),
    ],
    Target.current(),
)


def test_pinned_entry() -> None:
    found = explain("Internal_A", PIPFILE, LOCK, GRAPH)
    assert found.rule == "pinned"
    assert found.source.name == "private"
    assert found.categories == ("default",)
    assert [link.name for link in found.chains[0]] == ["internal-a"]  # type: ignore[index]
    assert found.to_dict()["index"] == {
        "name": "private",
        "url": "https://***@private.example/simple",
    }


def test_taken_from_a_parents_index() -> None:
    found = explain("internal-c", PIPFILE, LOCK, GRAPH)
    assert found.rule == "parent"
    assert "(internal-a)" in found.reason
    assert found.entries == ()


def test_default_source_and_every_chain() -> None:
    found = explain("helper", PIPFILE, LOCK, GRAPH)
    assert found.rule == "default"
    assert found.source.name == "public"
    chains = [[link.name for link in chain] for chain in found.chains or ()]
    assert chains == [["app", "helper"], ["req", "helper"]]


def test_extras_are_followed_where_asked() -> None:
    found = explain("pysocks", PIPFILE, LOCK, GRAPH)
    assert found.categories == ("develop",)
    assert [[link.name for link in c] for c in found.chains or ()] == [["req", "pysocks"]]


def test_without_an_environment_the_chains_are_unknown() -> None:
    found = explain("helper", PIPFILE, LOCK, None)
    assert found.chains is None
    assert "does not exist" in found.notes[0]


def test_unknown_package() -> None:
    with pytest.raises(PipfenceError, match=r"not in Pipfile\.lock"):
        explain("nope", PIPFILE, LOCK, GRAPH)
