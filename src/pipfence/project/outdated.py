"""`update --outdated`: which installed packages a fresh lock would move, and which have newer
releases that the Pipfile's own constraints hold back, as pipenv reports them.

A package is *outdated* when a lock made now (not written) gives it another version than the
one installed: `pipfence update` would move it. It is *held back* when the lock keeps its
version but its index offers a newer final release for this Python (a pin such as
``six = "==1.11"`` stops it); pipenv calls that a skipped update. The index asked is the one the
fence takes the package from, and nothing else is asked of any index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

import msgspec
from packaging.version import InvalidVersion, Version

from pipfence.errors import LockfileError
from pipfence.index.client import IndexClient
from pipfence.installer.venv import VirtualEnv
from pipfence.models.files import UploadedBefore, version_of
from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import pipfile_table
from pipfence.models.target import Target
from pipfence.project.environment import interpreter_version
from pipfence.project.lock import relock
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.project.session import Session

__all__ = ["OutdatedPackage", "OutdatedReport", "held_back", "outdated"]


class OutdatedPackage(msgspec.Struct, frozen=True):
    """One package with something newer than what is installed."""

    name: str
    installed: str
    available: str
    #: The Pipfile's version for the package when its constraint holds the update back
    #: (``*`` when unpinned there), None when a fresh lock moves it.
    held_by: str | None = None

    @property
    def held_back(self) -> bool:
        return self.held_by is not None


class OutdatedReport(msgspec.Struct, frozen=True):
    """What `outdated` found; ``moving`` are those `pipfence update` would change."""

    moving: tuple[OutdatedPackage, ...]
    held_back: tuple[OutdatedPackage, ...]


def _version(text: str | None) -> Version | None:
    if not text:
        return None
    try:
        return Version(text.removeprefix("=="))
    except InvalidVersion:
        return None


def _installed(project: Project) -> dict[NormalizedName, tuple[str, Version]]:
    """Name → (name as installed, version): the environment's distributions, or the lock's
    versions when there is no environment yet."""
    location = project.venv_path()
    if (location / "pyvenv.cfg").is_file():
        found: dict[NormalizedName, tuple[str, Version]] = {}
        for key, dist in VirtualEnv.open(location).installed().items():
            version = _version(dist.version)
            if version is not None:
                found[key] = (dist.name, version)
        return found
    try:
        current = project.read_lock()
    except LockfileError:
        current = None
    locked: dict[NormalizedName, tuple[str, Version]] = {}
    for _category, package in current.packages() if current is not None else ():
        version = _version(package.version)
        if version is not None:
            locked.setdefault(package.key, (package.name, version))
    return locked


def outdated(
    session: Session,
    *,
    pre: bool = False,
    names: Collection[str] = (),
    on_fetch: Callable[[str], None] | None = None,
) -> OutdatedReport:
    """Lock without writing and compare with what is installed (see the module's docstring);
    with ``names``, only those packages are reported."""
    fresh = relock(session, pre=pre, on_fetch=on_fetch).lockfile
    return _compare(session, fresh, _installed(session.project), names, pre=pre)


def held_back(
    session: Session, lockfile: Lockfile, names: Collection[str], *, pre: bool = False
) -> tuple[OutdatedPackage, ...]:
    """The packages of ``names`` that ``lockfile`` (just written by `update` or `upgrade`)
    keeps below the newest release because the Pipfile's entry holds them there, with the
    version it holds them at as installed."""
    locked = {
        package.key: (package.name, version)
        for _category, package in _locked(lockfile)
        if (version := _version(package.version)) is not None
    }
    return _compare(session, lockfile, locked, names, pre=pre).held_back if names else ()


def _compare(
    session: Session,
    fresh: Lockfile,
    installed: Mapping[NormalizedName, tuple[str, Version]],
    names: Collection[str],
    *,
    pre: bool,
) -> OutdatedReport:
    """``fresh`` against ``installed``: what a sync would move, and what stays below the
    newest release by the Pipfile's constraint; with ``names``, only those."""
    project, client = session.project, session.client
    wanted = {canonical_name(n) for n in names}
    pre = pre or project.pipfile.setting("allow_prereleases")
    target = Target.current(
        project.pipfile.requires.get("python_version"),
        project.pipfile.requires.get("python_full_version"),
        interpreter=interpreter_version(project),
    )
    moving: list[OutdatedPackage] = []
    held: list[OutdatedPackage] = []
    for category, package in _locked(fresh):
        key = package.key
        if (wanted and key not in wanted) or key not in installed:
            continue
        name, have = installed[key]
        locked = _version(package.version)
        if locked is None:
            continue
        if locked != have:
            moving.append(OutdatedPackage(name, str(have), str(locked)))
            continue
        newest = _newest(project, client, fresh, category, key, target=target, pre=pre)
        if newest is not None and newest > have:
            spec = project.pipfile.categories.get(pipfile_table(category), {}).get(key)
            held.append(
                OutdatedPackage(name, str(have), str(newest), spec.version if spec else "*")
            )
    return OutdatedReport(tuple(moving), tuple(held))


def _locked(lockfile: Lockfile) -> list[tuple[str, LockedPackage]]:
    """Each locked name once (its first category), by name."""
    seen: dict[NormalizedName, tuple[str, LockedPackage]] = {}
    for category, package in lockfile.packages():
        seen.setdefault(package.key, (category, package))
    return [seen[key] for key in sorted(seen)]


def _newest(
    project: Project,
    client: IndexClient,
    fresh: Lockfile,
    category: str,
    key: NormalizedName,
    *,
    target: Target,
    pre: bool,
) -> Version | None:
    """The newest release of ``key`` on the source the fence takes it from that this Python
    can install: not yanked, a final release unless pre-releases are allowed, uploaded before
    the ``cool-down-period`` when one is set."""
    entry = fresh.categories.get(category, {})
    package = next((p for p in entry.values() if p.key == key), None)
    fence = project.pipfile.fence([pipfile_table(category)])
    source = fence.source_named(package.index) if package and package.index else fence.default
    page = client.project_page(source, project.settings.routes.url(source), key)
    if page is None:
        return None
    releases = page.releases
    cool_down = project.pipfile.cool_down
    if cool_down is not None:  # what `cool-down-period` holds back is not available yet
        releases = UploadedBefore(releases, dt.datetime.now(dt.UTC) - cool_down)
    best: Version | None = None
    for text, files in releases.items():
        version = version_of(text)
        if version is None or (version.is_prerelease and not pre):
            continue
        usable = [f for f in files if not f.yanked and target.allows_python(f.requires_python)]
        if usable and (best is None or version > best):
            best = version
    return best
