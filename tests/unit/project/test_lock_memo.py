"""`LockMemo`: which locks are remembered, what the key holds, and when a remembered lock is
recalled (every page the same fresh cache entry; a name a source lacked still lacked)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import pytest
from packaging.version import Version

from pipfence.models.decision import Decision, Parent, Rule
from pipfence.models.fence import Fence
from pipfence.models.files import ProjectPage
from pipfence.models.lockfile import LockedPackage
from pipfence.models.names import NormalizedName
from pipfence.models.package_spec import PackageSpec
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes
from pipfence.project.lock_memo import GroupLock, LockMemo, LockPolicy

DEFAULT = Source(name="corp", url="https://${USER}:${PASS}@corp.example/simple")
OTHER = Source(name="other", url="https://other.example/simple")
APP = NormalizedName("app")
LIB = NormalizedName("lib")
ENV = {"USER": "me", "PASS": "s3cret-canary"}


class FakeStore:
    """The index client as the memo sees it: page stamps, pages, stored resolutions."""

    def __init__(self) -> None:
        self.stamps: dict[tuple[str, str], float] = {}
        self.present: set[tuple[str, str]] = set()
        self.asked: list[tuple[str, str, str]] = []
        self.stored: dict[str, bytes] = {}
        #: What a page asked again says it has held since (`ProjectPage.cached_at`).
        self.since: dict[tuple[str, str], float] = {}

    def page_stamp(self, source: Source, request_url: str, name: NormalizedName) -> float | None:
        return self.stamps.get((source.name, name))

    def project_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None:
        self.asked.append((source.name, name, request_url))
        if (source.name, name) not in self.present:
            return None
        return ProjectPage(name=name, releases={}, cached_at=self.since.get((source.name, name)))

    def load_resolution(self, key: str) -> bytes | None:
        return self.stored.get(key)

    def store_resolution(self, key: str, data: bytes) -> None:
        self.stored[key] = data

    page_max_age = 600.0


def _memo(store: FakeStore, **changes: Any) -> LockMemo | None:
    args: dict[str, Any] = {
        "pipfile_path": Path("/project/Pipfile"),
        "pipfile_data": {"source": [DEFAULT.to_dict()], "packages": {"app": "*"}},
        "fence": Fence((DEFAULT, OTHER), {}),
        "routes": Routes(environ=ENV),
        "tables": ["packages"],
        "specs": [PackageSpec.from_entry("app", "*")],
        "target": Target(
            environment={"python_version": "3.11"}, python_version=Version("3.11"), tags=()
        ),
        "policy": LockPolicy(allow_pre=False, preferred={}),
    }
    args.update(changes)
    return LockMemo.of(store, **args)


def _group() -> GroupLock:
    return GroupLock(
        entries={"packages": {"app": LockedPackage.from_dict("app", {"version": "==1.0"})}},
        origins={
            APP: Decision(DEFAULT, Rule.NAMED),
            LIB: Decision(OTHER, Rule.PARENT_ONLY, (Parent(APP, "other"),), ("corp",)),
        },
        warnings=["a note"],
    )


def _remembered(store: FakeStore) -> LockMemo:
    memo = _memo(store)
    assert memo is not None
    store.stamps = {("corp", "app"): 100.0, ("other", "lib"): 200.0}
    memo.remember(_group(), {("corp", APP): 100.0, ("other", LIB): 200.0, ("corp", LIB): None})
    return memo


@pytest.mark.parametrize(
    "changes",
    [
        {"specs": [PackageSpec.from_entry("app", {"path": "."})]},
        {
            "policy": LockPolicy(
                allow_pre=False,
                preferred={},
                uploaded_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        },
        {"fence": Fence((Source(name="here", url="file:///srv/wheels"),), {})},
        {"routes": Routes(environ={})},  # a variable the URL needs is missing
    ],
    ids=["direct-entry", "cool-down", "folder-source", "missing-variable"],
)
def test_what_is_never_remembered(changes: dict[str, Any]) -> None:
    assert _memo(FakeStore(), **changes) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"pipfile_data": {"source": [DEFAULT.to_dict()], "packages": {"app": "<2"}}},
        {"policy": LockPolicy(allow_pre=True, preferred={})},
        {"policy": LockPolicy(allow_pre=False, preferred={APP: Version("1.0")})},
        {"tables": ["packages", "dev-packages"]},
        {"routes": Routes(environ={**ENV, "USER": "you"}, pypi_mirror=None)},
        {
            "target": Target(
                environment={"python_version": "3.12"}, python_version=Version("3.12"), tags=()
            )
        },
    ],
    ids=["pipfile", "pre", "keep", "tables", "same-key-other-user", "target"],
)
def test_the_key_follows_what_the_lock_is_made_of(changes: dict[str, Any]) -> None:
    base, other = _memo(FakeStore()), _memo(FakeStore(), **changes)
    assert base is not None
    assert other is not None
    if "routes" in changes:
        # Credentials are not part of the key (the page stamps are scoped by them instead).
        assert other.key == base.key
    else:
        assert other.key != base.key
    again = _memo(FakeStore())  # the same inputs, the same key and place
    assert again is not None
    assert (again.key, again.slot) == (base.key, base.slot)


def test_a_remembered_lock_is_recalled_whole_and_holds_no_secret() -> None:
    store = FakeStore()
    memo = _remembered(store)
    assert b"s3cret-canary" not in b"".join(store.stored.values())
    recalled = memo.recall()
    assert recalled == msgspec.structs.replace(_group(), recalled=True)
    # The name the default lacked was asked again, at the URL requests go to.
    assert [(s, n) for s, n, _u in store.asked] == [("corp", "lib")]


@pytest.mark.parametrize(
    "change",
    ["refetched", "expired", "now-present", "other-key", "damaged"],
)
def test_a_remembered_lock_is_not_recalled_when_anything_moved(change: str) -> None:
    store = FakeStore()
    memo = _remembered(store)
    if change == "refetched":
        store.stamps[("other", "lib")] = 201.0
    elif change == "expired":
        del store.stamps[("corp", "app")]
    elif change == "now-present":
        store.present.add(("corp", "lib"))
    elif change == "other-key":
        memo = msgspec.structs.replace(memo, key="0" * 64)
    else:
        store.stored[memo.slot] = b'{"key": "' + memo.key.encode() + b'", "pages": 3}'
    assert memo.recall() is None


@pytest.mark.parametrize(
    ("since", "max_age", "recalled"),
    [(100.0, 600.0, True), (150.0, 600.0, False), (100.0, 0.0, False)],
    ids=["unchanged", "changed", "always-ask"],
)
def test_with_one_source_a_page_past_its_age_is_asked_again(
    since: float, max_age: float, *, recalled: bool
) -> None:
    store = FakeStore()
    store.page_max_age = max_age
    memo = _memo(store, fence=Fence((DEFAULT,), {}))
    assert memo is not None
    group = msgspec.structs.replace(_group(), origins={APP: Decision(DEFAULT, Rule.NAMED)})
    memo.remember(group, {("corp", APP): 100.0, ("corp", LIB): None})
    store.stamps = {}  # past its age: no stamp without asking
    store.present = {("corp", "app")}
    store.since = {("corp", "app"): since}
    assert (memo.recall() is not None) is recalled
    asked = {(s, n) for s, n, _u in store.asked}
    if max_age == 0:  # "always ask": only a resolution asks
        assert asked == set()
    elif recalled:  # both asked: the page, and the name the index did not have
        assert asked == {("corp", "app"), ("corp", "lib")}
    else:  # stops at the first that moved (the other may have been asked meanwhile)
        assert ("corp", "app") in asked


def test_with_several_sources_a_page_past_its_age_is_not_asked_again() -> None:
    store = FakeStore()
    memo = _remembered(store)
    del store.stamps[("other", "lib")]
    store.present = {("other", "lib")}
    store.since = {("other", "lib"): 200.0}
    assert memo.recall() is None
    assert store.asked == []
