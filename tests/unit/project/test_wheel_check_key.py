"""The key a sync files a passed wheel check under changes with everything the check reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from packaging.version import Version

from pipfence.installer.satisfies import WantedDist
from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.names import NormalizedName
from pipfence.models.target import Target
from pipfence.project.wheel_requirements import check_key

APP = NormalizedName("app")
DEP = NormalizedName("dep")


def _lock(dep_version: str = "==2.0") -> Lockfile:
    return Lockfile.parse(
        json.dumps(
            {
                "_meta": {"hash": {"sha256": "0" * 64}, "pipfile-spec": 6, "sources": []},
                "default": {
                    "app": {"version": "==1.0", "hashes": []},
                    "dep": {"version": dep_version, "hashes": []},
                },
                "develop": {},
            }
        )
    )


def _target(python: str = "3.11", platform: str = "linux") -> Target:
    return Target(
        environment={"python_version": python, "sys_platform": platform},
        python_version=Version(python),
        tags=(),
    )


def _key(**changes: Any) -> str:
    lock = changes.pop("lock", _lock())
    wanted = {
        p.key: (WantedDist(name=p.key, version=(p.version or "").lstrip("=")), p)
        for _c, p in lock.packages()
    }
    args: dict[str, Any] = {
        "target": _target(),
        "lock": lock,
        "wanted": wanted,
        "requested_extras": {},
    }
    args.update(changes)
    wheels = args.pop("wheels", [(APP, "a" * 64), (DEP, "b" * 64)])
    return check_key(wheels, **args)


def test_the_same_inputs_give_the_same_key_in_any_order() -> None:
    assert _key() == _key(wheels=[(DEP, "b" * 64), (APP, "a" * 64)])


@pytest.mark.parametrize(
    "changes",
    [
        {"wheels": [(APP, "a" * 64), (DEP, "c" * 64)]},
        {"lock": _lock("==2.1")},
        {"target": _target(python="3.12")},
        {"target": _target(platform="win32")},
        {"requested_extras": {APP: {"fast"}}},
    ],
    ids=["wheel", "lock", "python", "platform", "extras"],
)
def test_the_key_follows_what_the_check_reads(changes: dict[str, Any]) -> None:
    assert _key(**changes) != _key()


def test_the_key_follows_the_wanted_versions() -> None:
    lock = _lock()
    wanted = {
        p.key: (WantedDist(name=p.key, version="9.9"), LockedPackage.from_dict(p.key, p.data))
        for _c, p in lock.packages()
    }
    assert _key(lock=lock, wanted=wanted) != _key(lock=lock)
