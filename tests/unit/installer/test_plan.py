"""plan_sync: install / replace / keep / remove, pure."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest

from pipfence.installer.plan import PROTECTED, Replacement, SyncPlan, plan_sync
from pipfence.installer.satisfies import InstalledDist, WantedDist
from pipfence.models.names import NormalizedName, canonical_name


def want(name: str, version: str, **kw: object) -> WantedDist:
    return WantedDist(name=canonical_name(name), version=version, **kw)  # type: ignore[arg-type]


def have(name: str, version: str, **kw: object) -> InstalledDist:
    dist_info = Path("/env/site") / f"{name}-{version}.dist-info"
    return InstalledDist(name=canonical_name(name), version=version, dist_info=dist_info, **kw)  # type: ignore[arg-type]


T = TypeVar("T", WantedDist, InstalledDist)


def keyed(*dists: T) -> dict[NormalizedName, T]:
    return {d.name: d for d in dists}


def test_empty_environment_installs_everything_sorted() -> None:
    plan = plan_sync(keyed(want("b", "1"), want("a", "2")), {}, remove_extraneous=False)
    assert [w.name for w in plan.install] == ["a", "b"]
    assert plan.replace == ()
    assert plan.keep == plan.remove == ()
    assert not plan.is_empty
    assert [w.name for w in plan.to_fetch] == ["a", "b"]


def test_matching_environment_keeps_everything() -> None:
    installed = keyed(have("a", "1.0"), have("b", "2"))
    plan = plan_sync(keyed(want("a", "1.0.0"), want("b", "2")), installed, remove_extraneous=True)
    assert plan.keep == (installed[canonical_name("a")], installed[canonical_name("b")])
    assert plan.is_empty
    assert plan == SyncPlan(keep=plan.keep)


@pytest.mark.parametrize(
    ("wanted", "installed"),
    [
        pytest.param(want("a", "2"), have("a", "1"), id="upgrade"),
        pytest.param(want("a", "1"), have("a", "2"), id="downgrade"),
        pytest.param(
            want("a", "1"), have("a", "1", editable=True, url="file:///src"), id="editable-to-index"
        ),
        pytest.param(
            want("a", "1", editable=True, url="file:///src"), have("a", "1"), id="index-to-editable"
        ),
        pytest.param(
            want("a", "1"), have("a", "1", url="https://x/a-1.whl"), id="direct-url-to-index"
        ),
        pytest.param(
            want("a", "1", url="file:///new"), have("a", "1", url="file:///old"), id="other-url"
        ),
        pytest.param(want("a", "1.0"), have("a", "1.0.post1"), id="post-release"),
    ],
)
def test_other_version_or_kind_is_replaced(wanted: WantedDist, installed: InstalledDist) -> None:
    plan = plan_sync(keyed(wanted), keyed(installed), remove_extraneous=False)
    assert plan.replace == (Replacement(installed=installed, wanted=wanted),)
    assert plan.install == ()
    assert plan.keep == ()
    assert plan.to_fetch == (wanted,)


def test_same_direct_url_and_editable_is_kept() -> None:
    installed = have("a", "1", editable=True, url="file:///src")
    plan = plan_sync(
        keyed(want("a", "1", editable=True, url="file:///src")),
        keyed(installed),
        remove_extraneous=False,
    )
    assert plan.keep == (installed,)


def test_installer_of_a_matching_dist_does_not_matter() -> None:
    installed = have("a", "1", installer="pip")
    assert plan_sync(keyed(want("a", "1")), keyed(installed), remove_extraneous=False).keep == (
        installed,
    )


def test_reinstall_forces_replacement() -> None:
    plan = plan_sync(
        keyed(want("a", "1")),
        keyed(have("a", "1")),
        remove_extraneous=False,
        reinstall={canonical_name("a")},
    )
    assert len(plan.replace) == 1


def test_unparseable_versions_compare_as_text() -> None:
    installed = have("a", "weird-1")
    assert plan_sync(keyed(want("a", "weird-1")), keyed(installed), remove_extraneous=False).keep
    assert plan_sync(keyed(want("a", "weird-2")), keyed(installed), remove_extraneous=False).replace


def test_sync_leaves_extraneous_dists_alone() -> None:
    plan = plan_sync(
        keyed(want("a", "1")), keyed(have("a", "1"), have("extra", "1")), remove_extraneous=False
    )
    assert plan.remove == ()
    assert [d.name for d in plan.keep] == ["a"]


def test_clean_removes_extraneous_but_not_protected() -> None:
    installed = keyed(
        have("a", "1"),
        have("zeta", "1"),
        have("extra", "3"),
        have("pip", "24"),
        have("setuptools", "70"),
        have("wheel", "0.44"),
        have("pkg_resources", "0"),
        have("distribute", "0"),
    )
    plan = plan_sync(keyed(want("a", "1")), installed, remove_extraneous=True)
    assert [d.name for d in plan.remove] == ["extra", "zeta"]
    assert {"pip", "setuptools", "wheel", "pkg-resources", "distribute"} == set(PROTECTED)


def test_protected_set_is_a_parameter() -> None:
    installed = keyed(have("pip", "24"), have("pipenv", "2026.1"))
    plan = plan_sync({}, installed, remove_extraneous=True, protected={canonical_name("pipenv")})
    assert [d.name for d in plan.remove] == ["pip"]


def test_wanted_protected_dist_is_still_upgraded() -> None:
    plan = plan_sync(keyed(want("pip", "25")), keyed(have("pip", "24")), remove_extraneous=True)
    assert [r.wanted.version for r in plan.replace] == ["25"]


def test_changes_are_one_line_a_distribution_sorted_by_name() -> None:
    plan = plan_sync(
        keyed(
            want("zeta", "1.0"),
            want("alpha", "2.0"),
            want("mylib", "0", editable=True, url="file:///src/mylib"),
            want("kept", "1.0"),
        ),
        keyed(have("alpha", "1.0"), have("kept", "1.0"), have("stray", "0.3")),
        remove_extraneous=True,
    )
    assert plan.changes() == [
        "~ alpha 1.0 -> 2.0",
        "+ mylib @ file:///src/mylib (editable)",
        "- stray==0.3",
        "+ zeta==1.0",
    ]


def test_changes_hide_credentials_of_a_direct_url() -> None:
    plan = plan_sync(
        keyed(want("pkg", "0", url="https://user:s3cret@files.example/pkg-1.0.tar.gz")),
        {},
        remove_extraneous=False,
    )
    assert plan.changes() == ["+ pkg @ https://***@files.example/pkg-1.0.tar.gz"]
    assert SyncPlan().changes() == []
