"""Installer layer: sync plans, virtual environments, wheel installation and the wheel cache.

Imports only `pipfence.models`, `pipfence.errors`, the standard library and `installer`,
`packaging`: the project layer downloads and verifies files, then hands them here.

    satisfies.py    is an installed distribution the wanted one?   (pure)
    plan.py         plan_sync(wanted, installed) -> SyncPlan     (pure)
    venv.py         VirtualEnv: create / open, scheme paths, installed()
    interpreter.py  the scripts an interpreter is asked to run; the bundled pip wheel
    dist_info.py    read_installed: the distributions in site folders
    archive.py      checks on a wheel before anything is written
    cache.py        UnpackedCache: wheels unpacked once, verified, keyed by sha256
    destination.py  placing one unpacked wheel's files, checked and undoable
    removal.py      set_aside / uninstall
    wheel.py        install_wheel / install_many / EnvChange
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipfence._lazy import lazy_exports

if TYPE_CHECKING:
    from pipfence.installer.cache import UnpackedCache, UnpackedWheel
    from pipfence.installer.interpreter import bundled_pip_wheel
    from pipfence.installer.plan import PROTECTED, Replacement, SyncPlan, plan_sync
    from pipfence.installer.removal import uninstall
    from pipfence.installer.satisfies import InstalledDist, WantedDist
    from pipfence.installer.venv import VirtualEnv
    from pipfence.installer.wheel import WheelInstall, install_many, install_wheel

#: Where each name lives: a submodule is imported when one of its names is first used, so a
#: command that only locks never pays for the `installer` package.
_HOME = {
    "UnpackedCache": "cache",
    "UnpackedWheel": "cache",
    "PROTECTED": "plan",
    "InstalledDist": "satisfies",
    "Replacement": "plan",
    "SyncPlan": "plan",
    "WantedDist": "satisfies",
    "plan_sync": "plan",
    "VirtualEnv": "venv",
    "bundled_pip_wheel": "interpreter",
    "WheelInstall": "wheel",
    "install_many": "wheel",
    "install_wheel": "wheel",
    "uninstall": "removal",
}


__getattr__ = lazy_exports(__name__, _HOME)


__all__ = [
    "PROTECTED",
    "InstalledDist",
    "Replacement",
    "SyncPlan",
    "UnpackedCache",
    "UnpackedWheel",
    "VirtualEnv",
    "WantedDist",
    "WheelInstall",
    "bundled_pip_wheel",
    "install_many",
    "install_wheel",
    "plan_sync",
    "uninstall",
]
