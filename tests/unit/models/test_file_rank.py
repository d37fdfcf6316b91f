"""Ranking distribution files for a target, as the table in ``tests/cases/file_rank.toml``."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.tags import Tag
from packaging.version import Version

from pipfence.models.files import (
    DistFile,
    best_first,
    install_rank,
    newest_first,
    parse_filename,
)
from pipfence.models.names import canonical_name
from pipfence.models.target import Target
from support import CASES_DIR

CASES = tomllib.loads((CASES_DIR / "file_rank.toml").read_text(encoding="utf-8"))

TARGET = Target(
    environment={
        "python_version": "3.11",
        "python_full_version": "3.11.7",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    },
    python_version=Version("3.11.7"),
    tags=(
        Tag("cp311", "cp311", "manylinux_2_17_x86_64"),
        Tag("cp311", "abi3", "manylinux_2_17_x86_64"),
        Tag("py3", "none", "manylinux_2_17_x86_64"),
        Tag("py3", "none", "any"),
    ),
)


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["description"] for case in cases]


@pytest.mark.parametrize("case", CASES["rank"], ids=_ids(CASES["rank"]))
def test_rank(case: dict[str, Any]) -> None:
    parsed = parse_filename(case["file"])
    assert parsed is not None
    assert install_rank(parsed[2], TARGET) == case.get("rank")


@pytest.mark.parametrize("case", CASES["order"], ids=_ids(CASES["order"]))
def test_order(case: dict[str, Any]) -> None:
    files = [DistFile(filename=name, url=f"https://files.example/{name}") for name in case["files"]]
    project = canonical_name(case["project"]) if "project" in case else None
    ranked = best_first(files, TARGET, project=project)
    assert [file.filename for file in ranked] == case["expected"]


def test_an_sdist_ranks_after_the_worst_wheel_of_any_target() -> None:
    assert install_rank(None, TARGET) == len(TARGET.tags)
    wider = TARGET.on_every_platform()
    assert install_rank(None, wider) == len(wider.tags)
    ranks = [install_rank(frozenset({tag}), wider) for tag in wider.tags]
    assert ranks == list(range(len(wider.tags)))


def test_best_first_takes_any_iterable_once() -> None:
    names = ["demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"]
    files = (DistFile(filename=name, url="") for name in names)
    assert [f.filename for f in best_first(files, TARGET)] == list(reversed(names))


_ORDER_CASES = [
    ["1.0", "1.0.post1", "1.0a1", "1.0.dev0", "1.0rc1", "0.9", "1.0+local", "1!0.1", "2"],
    ["10.0", "9.0", "1.10", "1.9", "1.1.0.0.1", "1.1"],
    ["2.0.0b1", "2.0.0", "2.0.0.post0.dev1", "2.0.0.dev5", "2.0.0a0"],
    [],
]


@pytest.mark.parametrize("texts", _ORDER_CASES)
def test_newest_first_orders_as_versions_compare(texts: list[str]) -> None:
    versions = [Version(t) for t in texts]
    assert newest_first(versions) == sorted(versions, reverse=True)


@given(
    st.lists(
        st.builds(
            lambda release, pre, post, dev: Version(".".join(map(str, release)) + pre + post + dev),
            st.lists(st.integers(0, 12), min_size=1, max_size=4),
            st.sampled_from(["", "a1", "b2", "rc0"]),
            st.sampled_from(["", ".post1", ".post3"]),
            st.sampled_from(["", ".dev0", ".dev2"]),
        ),
        unique=True,
        max_size=30,
    )
)
def test_newest_first_agrees_with_sorting_the_versions(versions: list[Version]) -> None:
    assert newest_first(versions) == sorted(versions, reverse=True)
