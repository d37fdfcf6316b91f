"""`sync`: make the environment hold exactly the lock, every file from its fenced index and
verified against the lock's hashes before the environment changes.

    lock ──► wanted dists ──► plan (installer) ──► pages + downloads (index, verified)
                                                   └─► unpack and check every wheel, then
                                                       set replaced aside, install all, and
                                                       commit (or roll back: `EnvChange`)
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pipfence.errors import (
    FenceError,
    HashMismatch,
    IndexServerError,
    InstallError,
    IntegrityError,
    LockFenceError,
    LockfileError,
    UsageError,
)
from pipfence.index.client import IndexClient
from pipfence.installer.cache import UnpackedCache, file_sha256
from pipfence.installer.plan import PROTECTED, plan_sync
from pipfence.installer.satisfies import (
    DirectOrigin,
    InstalledDist,
    WantedDist,
    direct_url_satisfies,
)
from pipfence.installer.venv import VirtualEnv
from pipfence.models.fence import AllowedHashes, Fence, Listing, Parent
from pipfence.models.files import CoreMetadata, DistFile, install_rank, parse_filename
from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import Pipfile, pipfile_table
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes, shown_url
from pipfence.project.adapters.direct import DirectFetcher, DirectRef, read_direct_url
from pipfence.project.concurrency import map_all, worker_pool
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.installer.wheel import EnvChange, WheelInstall
    from pipfence.project.adapters.fenced_builds import Builds

__all__ = [
    "SyncOptions",
    "SyncReport",
    "check_lock_against_pipfile",
    "sync",
    "warm_unpacked_cache",
]

#: The ``[pipenv]`` setting that lets sync take a locked file from any source (by hash).
SEARCH_ALL_SOURCES = "install_search_all_sources"
_COMMIT_LENGTH = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncOptions:
    """Which lock categories to install, and whether to remove what no category of the lock
    lists (`sync --clean`)."""

    categories: Sequence[str] = ("default",)
    remove_extraneous: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    """What a sync did."""

    env: VirtualEnv
    created: bool
    installed: tuple[str, ...]
    removed: tuple[str, ...]
    kept: int
    seconds: float
    warnings: tuple[str, ...] = ()
    #: What changed in the environment, one line a distribution (`SyncPlan.changes`).
    changes: tuple[str, ...] = ()
    #: Which file of each installed package was used and the source it came from.
    fetched: tuple[str, ...] = ()


class ProgressSink(Protocol):
    """Told how many items a stage has, then of each one done (from any thread)."""

    def __call__(self, item: str, /) -> None: ...

    def expect(self, total: int, label: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Choice:
    wanted: WantedDist
    source: Source
    file: DistFile
    hashes: frozenset[str]
    requested: bool


_UNPINNED = "*"
"""The version pipenv writes for an entry it did not resolve (its marker false there)."""
_HASH = re.compile(r"^sha256:[0-9a-fA-F]{64}$")
# A PEP 508 requirement's name, as `Requirement` reads it (PEP 508's identifier).
_LEADING_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?=\s*(?:$|[\[(;<>=!~@\s]))")


def _is_pin(version: object) -> bool:
    if not isinstance(version, str) or not version.startswith("=="):
        return False
    try:
        Version(version.lstrip("="))
    except InvalidVersion:
        return False
    return True


def check_lock_entries(lock: Lockfile, categories: Sequence[str]) -> None:
    """Refuse malformed entries in the categories to install (`LockfileError`, exit 2) before
    anything is created: hashes that are not a list of ``sha256:<hex>``, versions that are not
    ``==<version>`` (or pipenv's ``*``, see `_wanted`), markers that do not parse."""
    for category, package in lock.packages(list(categories)):
        where = f"`{package.name}` in `{category}`"
        hashes = package.data.get("hashes", [])
        if not isinstance(hashes, list) or not all(
            isinstance(h, str) and _HASH.match(h) for h in hashes
        ):
            raise LockfileError(
                f"{where} has hashes that are not a list of `sha256:<hex>` strings",
                hint="run `pipfence lock` to make a new lock",
            )
        version = package.data.get("version")
        # pipenv writes `"version": "*"` (no hashes) for an entry whose own marker is false
        # where it locked; `_wanted` skips it where the marker is false here too.
        if version is not None and version != _UNPINNED and not _is_pin(version):
            raise LockfileError(
                f"{where} has version {version!r}; a lock pins `==<version>`",
                hint="run `pipfence lock` to make a new lock",
            )
        markers = package.data.get("markers")
        if markers:
            try:
                Marker(str(markers))
            except InvalidMarker:
                raise LockfileError(
                    f"{where} has an invalid marker: {markers}",
                    hint="run `pipfence lock` to make a new lock",
                ) from None


def check_lock_against_pipfile(pipfile: Pipfile, lock: Lockfile, categories: Sequence[str]) -> None:
    """Refuse a lock whose sources or any entry's index the Pipfile's fence would not give
    (`FenceError`), before anything is fetched: see `pipfence.models.fence.Fence.check_lock`.
    Each category is judged by the fence of its own table (with ``[packages]``)."""
    for category in categories:
        pipfile.fence([pipfile_table(category)]).check_lock(lock, [category])


def _wanted(
    lock: Lockfile, categories: Sequence[str], target: Target
) -> tuple[dict[NormalizedName, tuple[WantedDist, LockedPackage]], dict[NormalizedName, DirectRef]]:
    """The lock's index packages (with their wanted version) and its direct references, for
    the entries whose markers hold on ``target``."""
    wanted: dict[NormalizedName, tuple[WantedDist, LockedPackage]] = {}
    direct: dict[NormalizedName, DirectRef] = {}
    for _category, package in lock.packages(list(categories)):
        try:
            applies = target.evaluate(package.markers)
        except InvalidMarker:
            raise UsageError(
                f"Pipfile.lock has an invalid marker for `{package.name}`: {package.markers}"
            ) from None
        if not applies:
            continue
        key = package.key
        if not package.is_named:
            ref = DirectRef.from_locked(package)
            if ref.kind == "git" and (ref.ref is None or not _is_commit(ref.ref)):
                raise LockfileError(
                    f"`{package.name}` is a git entry without a full commit hash in `ref`",
                    hint="run `pipfence lock` to pin it to a commit",
                )
            if ref.kind == "file" and not ref.hashes and _is_remote(ref.location):
                raise HashMismatch(
                    f"Pipfile.lock has no hashes for `{package.name}` "
                    f"({shown_url(ref.location)}); pipfence downloads only files whose "
                    "sha256 a lock recorded",
                    hint="run `pipfence lock` to record them",
                )
            direct[key] = ref
            continue
        version = package.version
        if package.data.get("version") == _UNPINNED:
            raise LockfileError(
                f"`{package.name}` is not pinned in Pipfile.lock (version '*'), and its "
                f"markers hold here ({package.markers or 'none'}); pipfence installs only "
                "pinned, hashed files",
                hint="run `pipfence lock` to pin it",
            )
        if version is None:
            raise UsageError(f"Pipfile.lock has no version for `{package.name}`")
        if not package.hashes:
            raise HashMismatch(
                f"Pipfile.lock has no hashes for `{package.name}`; pipfence installs only "
                "files whose sha256 a lock recorded",
                hint="run `pipfence lock` to record them",
            )
        previous = wanted.get(key)
        if previous is not None and previous[0].version != version:
            raise UsageError(
                f"Pipfile.lock pins `{package.name}` to {previous[0].version} and {version} "
                "in two categories",
                hint="install those categories one at a time (`--categories NAME`)",
            )
        wanted[key] = (WantedDist(name=key, version=version), package)
    return wanted, direct


def _is_commit(ref: str) -> bool:
    return len(ref) == _COMMIT_LENGTH and all(c in "0123456789abcdef" for c in ref.lower())


def _is_remote(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _direct_satisfied(
    ref: DirectRef, installed: InstalledDist, root: Path, env: VirtualEnv, fetcher: DirectFetcher
) -> bool:
    """Whether the installed distribution is what the direct lock entry describes, judged
    by its ``direct_url.json`` (PEP 610): same place, same kind, same commit or hash (see
    `pipfence.installer.satisfies.direct_url_satisfies`); an editable checkout must also be at
    the locked commit."""
    info = read_direct_url(installed.dist_info)
    hashes = AllowedHashes.of(ref.hashes).digests
    if ref.kind == "git" and ref.editable:
        checkout = _editable_checkout(env, ref)
        tree = checkout / ref.subdirectory if ref.subdirectory else checkout
        origin = DirectOrigin(kind="directory", url=tree.as_uri(), editable=True)
        return direct_url_satisfies(info, origin) and fetcher.checkout_head(checkout) == ref.ref
    if ref.kind == "git":
        url = shown_url(ref.location.removeprefix("git+").split("#", 1)[0])
        origin = DirectOrigin(kind="vcs", url=url, editable=ref.editable, commit=ref.ref)
    elif ref.kind == "path" or (ref.kind == "file" and not _is_remote(ref.location)):
        local = Path(ref.location.removeprefix("file://")).expanduser()
        path = Path(os.path.abspath(local if local.is_absolute() else root / local))  # noqa: PTH100
        kind: Literal["directory", "archive"] = "directory" if path.is_dir() else "archive"
        origin = DirectOrigin(kind=kind, url=path.as_uri(), editable=ref.editable, hashes=hashes)
    else:
        origin = DirectOrigin(
            kind="archive", url=shown_url(ref.location), editable=ref.editable, hashes=hashes
        )
    return direct_url_satisfies(info, origin)


def _editable_checkout(env: VirtualEnv, ref: DirectRef) -> Path:
    """Where an editable git entry is checked out: ``<env>/src/<name>``, as pipenv does."""
    return env.root / "src" / ref.key


def _choose(
    client: IndexClient,
    routes: Routes,
    wanted: WantedDist,
    *,
    package: LockedPackage,
    sources: Sequence[Source],
    target: Target,
    requested: bool,
    refresh: bool = False,
) -> _Choice:
    hashes = AllowedHashes.of(package.hashes).digests
    try:
        version = Version(wanted.version)
    except InvalidVersion:
        raise UsageError(f"Pipfile.lock pins `{wanted.name}` to an invalid version") from None
    mismatched: list[str] = []
    for source in sources:
        page = client.project_page(
            source, routes.url(source), wanted.name, max_age=0.0 if refresh else None
        )
        if page is None:
            continue
        best: tuple[int, DistFile] | None = None
        for file in page.release(version):
            parsed = parse_filename(file.filename, wanted.name)
            if parsed is None or parsed[0] != wanted.name:
                continue
            if file.sha256 and file.sha256.lower() not in hashes:
                mismatched.append(file.filename)
                continue
            rank = install_rank(parsed[2], target)
            if rank is None:
                continue
            if best is None or rank < best[0]:
                best = (rank, file)
        if best is not None:
            return _Choice(wanted, source, best[1], hashes, requested)
    where = ", ".join(f"`{s.name}` ({shown_url(s.url)})" for s in sources)
    if mismatched:
        raise HashMismatch(
            f"no file of `{wanted.name}` {wanted.version} on {where} has a sha256 that "
            f"Pipfile.lock allows (seen: {', '.join(sorted(set(mismatched))[:4])})",
            hint="if the files were replaced on purpose run `pipfence lock`; otherwise the index "
            "serves something other than what was locked",
        )
    raise InstallError(
        f"`{wanted.name}` {wanted.version} has no file for this platform on {where}",
        hint="check the lock was made for this platform's Python, or run `pipfence lock`",
    )


def sync(
    project: Project,
    client: IndexClient,
    lock: Lockfile,
    options: SyncOptions,
    *,
    env: VirtualEnv,
    created: bool = False,
    cache: UnpackedCache,
    on_progress: ProgressSink | None = None,
    change: EnvChange | None = None,
) -> SyncReport:
    """Install ``lock``'s categories into ``env``: nothing changes until every needed file is
    downloaded, matches a locked sha256 and is unpacked and checked against its RECORD; then
    replaced versions are moved aside and all new wheels installed together. On any failure
    (an interrupt included) the environment is put back exactly as it was. With ``change``
    the changes are recorded there and left for the caller to commit or roll back; without
    it they are committed (the set-aside files deleted) when the sync succeeds. A no-op when
    ``env`` matches: no request is sent then."""
    started = time.monotonic()
    pipfile = project.pipfile
    check_lock_against_pipfile(pipfile, lock, options.categories)
    target = Target.current(env.python_version)
    direct = {spec.key for _t, spec in pipfile.iter_specs()}
    wanted, refs = _wanted(lock, options.categories, target)
    installed = env.installed()
    fetcher = DirectFetcher(
        project.root,
        cache_dir=project.settings.cache_dir,
        environ=project.settings.environ,
        client=client,
    )
    wanted_dists = {k: w for k, (w, _p) in wanted.items()}
    reinstall: set[NormalizedName] = set()
    for key, ref in refs.items():
        have = installed.get(key)
        if have is not None and _direct_satisfied(ref, have, project.root, env, fetcher):
            wanted_dists[key] = WantedDist(
                name=key, version=have.version, editable=have.editable, url=have.url
            )
        else:
            wanted_dists[key] = WantedDist(
                name=key, version="0", editable=ref.editable, url=ref.location
            )
            reinstall.add(key)
    plan = plan_sync(
        wanted_dists,
        installed,
        remove_extraneous=options.remove_extraneous,
        # What another category of the lock lists stays, as `clean` keeps it.
        protected={*PROTECTED, *(p.key for _c, p in lock.packages())},
        reinstall=reinstall,
    )
    if plan.is_empty:
        return SyncReport(
            env=env,
            created=created,
            installed=(),
            removed=(),
            kept=len(plan.keep),
            seconds=time.monotonic() - started,
        )
    search_all = pipfile.setting(SEARCH_ALL_SOURCES)
    tables = [pipfile_table(category) for category in options.categories]
    fence = pipfile.fence(tables)
    settings = project.settings
    routes = settings.routes
    fetch = [w for w in plan.to_fetch if w.name not in refs]
    fetch_direct = [refs[w.name] for w in plan.to_fetch if w.name in refs]
    # Imported here: a sync with nothing to do (above) never builds or installs.
    from pipfence.installer.build import wheel_metadata
    from pipfence.installer.wheel import EnvChange
    from pipfence.project.adapters.fenced_builds import project_builds

    builds = project_builds(project, client, python=env.python, wheel_cache=cache, tables=tables)
    warnings: list[str] = []  # appended to from the install threads (list.append is atomic)
    if on_progress is not None:
        on_progress.expect(len(fetch) + len(fetch_direct), "Fetching")
    with worker_pool("pipfence-sync", 16) as pool:

        def choose(w: WantedDist, *, refresh: bool = False) -> _Choice:
            return _choose(
                client,
                routes,
                w,
                package=wanted[w.name][1],
                sources=list(fence.fetch_sources(wanted[w.name][1].index, search_all=search_all)),
                target=target,
                requested=w.name in direct,
                refresh=refresh,
            )

        def granted(w: WantedDist, digest: str) -> Source | None:
            """The source whose cached copy of the file with ``digest`` this run may use:
            one fetched without credentials, or with the ones that source has now."""
            package = wanted[w.name][1]
            for source in fence.fetch_sources(package.index, search_all=search_all):
                if client.holds_file(source, routes.url(source), digest):
                    return source
            return None

        def from_cache(w: WantedDist) -> tuple[_Choice, Path] | None:
            cached = _from_unpacked_cache(
                cache, w, wanted[w.name][1], target, w.name in direct, granted=granted
            )
            if cached is not None and on_progress is not None:
                on_progress(cached[0].file.filename)
            return cached

        def fetch_batch(
            batch: Sequence[WantedDist], dest: Path
        ) -> dict[NormalizedName, tuple[_Choice, Path]]:
            """The batch's files: those unpacked in the cache already looked up here, one
            after the other (a manifest read and a stat a file: many threads would only pass
            the interpreter lock around), the others downloaded by the pool."""
            found: dict[NormalizedName, tuple[_Choice, Path]] = {}
            missing: list[WantedDist] = []
            for w in batch:
                cached = from_cache(w)
                if cached is None:
                    missing.append(w)
                else:
                    found[w.name] = cached
            for choice, path in map_all(pool, lambda w: fetch_one(w, dest), missing):
                found[choice.wanted.name] = (choice, path)
            return found

        def fetch_one(w: WantedDist, dest: Path) -> tuple[_Choice, Path]:
            choice = choose(w)
            try:
                return choice, _download(client, routes, choice, dest, on_progress)
            except IndexServerError as exc:
                if exc.status != HTTPStatus.NOT_FOUND:
                    raise
            # The file is gone since the page was cached: ask the index(es) again.
            choice = choose(w, refresh=True)
            return choice, _download(client, routes, choice, dest, on_progress)

        with tempfile.TemporaryDirectory(
            prefix="pipfence-sync-", dir=_temp_root(cache), ignore_cleanup_errors=True
        ) as tmp:

            def metadata_of(key: NormalizedName) -> CoreMetadata | None:
                """A locked package's own metadata: of its verified file when this sync
                fetched it (an sdist built for the purpose), else of its installed copy."""
                if key in done:
                    choice, path = done[key]
                    if choice.file.is_wheel:
                        return _wheel_core_metadata(choice, path, cache)
                    item = _wheel_for(
                        builds, path, choice, target=target, tmp=Path(tmp), package=wanted[key][1]
                    )
                    return wheel_metadata(item.path)
                have = installed.get(key)
                if have is None:
                    return None
                try:
                    return CoreMetadata.parse((have.dist_info / "METADATA").read_bytes())
                except (OSError, ValueError):
                    return None

            done: dict[NormalizedName, tuple[_Choice, Path]] = {}
            _fetch_in_fence_order(
                fence,
                wanted,
                fetch,
                fetch=lambda batch: fetch_batch(batch, Path(tmp)),
                done=done,
                metadata_of=metadata_of,
                listing=lambda source, name: _listing(client, routes, source, name),
            )
            fetched = [done[w.name] for w in fetch]
            choices = [choice for choice, _path in fetched]
            paths = [path for _choice, path in fetched]
            # Everything is downloaded and verified; sdists and direct references are built
            # now, still before the environment changes.
            # A wheel whose own metadata needs what the lock does not give (a project it does
            # not list, or a version outside the wheel's specifier) was resolved from metadata
            # that lied about it (a PEP 658 file, say): refuse it.
            _check_wheels_against_lock(
                [(c, p) for c, p in fetched if c.file.is_wheel],
                cache=cache,
                target=target,
                lock=lock,
                wanted=wanted,
                requested_extras=_requested_extras(lock, pipfile),
            )
            to_build = sum(1 for c in choices if not c.file.is_wheel) + len(fetch_direct)
            if on_progress is not None and to_build:
                on_progress.expect(to_build, "Building")

            def wheel_for(path: Path, choice: _Choice) -> WheelInstall:
                item = _wheel_for(
                    builds,
                    path,
                    choice,
                    target=target,
                    tmp=Path(tmp),
                    package=wanted[choice.wanted.name][1],
                )
                if on_progress is not None and not choice.file.is_wheel:
                    on_progress(choice.file.filename)
                return item

            items = list(map_all(pool, lambda pc: wheel_for(*pc), zip(paths, choices, strict=True)))
            items.extend(
                map_all(
                    pool,
                    lambda ref: _direct_wheel(
                        fetcher,
                        builds,
                        ref,
                        env=env,
                        target=target,
                        tmp=Path(tmp),
                        on_progress=on_progress,
                    ),
                    fetch_direct,
                )
            )
            # Unpacking verifies each file against the wheel's RECORD: a bad wheel is refused
            # here, before anything installed is touched.
            if on_progress is not None:
                on_progress.expect(len(items), "Unpacking")

            def unpack(item: WheelInstall) -> None:
                cache.unpack(item.path, sha256=item.sha256)
                if on_progress is not None:
                    on_progress(item.path.name)

            map_all(pool, unpack, items)
            if on_progress is not None:
                on_progress.expect(len(items), "Installing")
            txn = change if change is not None else EnvChange()
            try:
                for replacement in plan.replace:
                    txn.set_aside(replacement.installed, env)
                for extraneous in plan.remove:
                    txn.set_aside(extraneous, env)
                txn.install(
                    items,
                    env,
                    cache=cache,
                    on_warning=warnings.append,
                    on_installed=on_progress,
                )
            except BaseException as exc:
                txn.undo(exc)
                raise
            if change is None:
                txn.commit()
    return SyncReport(
        env=env,
        created=created,
        installed=(
            *(f"{c.wanted.name}=={c.wanted.version}" for c in choices),
            *(f"{r.key} @ {shown_url(r.location)}" for r in fetch_direct),
        ),
        removed=tuple(d.name for d in plan.remove),
        kept=len(plan.keep),
        seconds=time.monotonic() - started,
        warnings=tuple(warnings),
        changes=tuple(plan.changes()),
        fetched=tuple(
            f"{c.wanted.name}=={c.wanted.version}: {c.file.filename} from `{c.source.name}`"
            for c in choices
        ),
    )


def _requested_extras(lock: Lockfile, pipfile: Pipfile) -> dict[NormalizedName, set[str]]:
    """The extras the lock's entries and the Pipfile's lines ask of each package."""
    extras: dict[NormalizedName, set[str]] = {}
    for _category, package in lock.packages():
        listed = package.data.get("extras")
        if isinstance(listed, list):
            extras.setdefault(package.key, set()).update(str(e) for e in listed)
    for _table, spec in pipfile.iter_specs():
        if spec.extras:
            extras.setdefault(spec.key, set()).update(spec.extras)
    return extras


@functools.lru_cache(maxsize=1024)
def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


@functools.lru_cache(maxsize=1024)
def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _check_wheels_against_lock(
    fetched: Sequence[tuple[_Choice, Path]],
    *,
    cache: UnpackedCache,
    target: Target,
    lock: Lockfile,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    requested_extras: Mapping[NormalizedName, set[str]],
) -> None:
    """Refuse (`IntegrityError`, exit 3) a wheel whose own METADATA requires, on ``target``
    and with the extras asked of it (by the lock, the Pipfile, or another wheel being
    installed), a project the lock does not list or a version the lock does not pin."""
    versions: dict[NormalizedName, Version | None] = {}
    for _category, package in lock.packages():
        pinned = package.version
        versions.setdefault(package.key, _version_or_none(pinned))
    for key, (w, _package) in wanted.items():
        versions[key] = _version_or_none(w.version)
    read = [(c, _wheel_core_metadata(c, p, cache)) for c, p in fetched]
    extras = {key: set(value) for key, value in requested_extras.items()}
    # Extras one wheel asks of another (`b[x]`): they widen what b must bring.
    for choice, metadata in read:
        for text in () if metadata is None else metadata.requires_dist:
            if "[" not in text:
                continue
            requirement = _requirement(text)
            if requirement is None or not requirement.extras:
                continue
            own = extras.get(choice.wanted.name, ())
            if _applies(requirement, target, own):
                extras.setdefault(canonical_name(requirement.name), set()).update(
                    requirement.extras
                )
    for choice, metadata in read:
        if metadata is None:
            continue  # unreadable metadata is the installer's to refuse, with its own message
        own = extras.get(choice.wanted.name, set())
        for text in metadata.requires_dist:
            problem = _unmet(text, target=target, extras=own, versions=versions)
            if problem is not None:
                raise IntegrityError(
                    f"`{choice.file.filename}` from source `{choice.source.name}` requires "
                    f"{problem}: the metadata the lock was resolved from does not match the "
                    "wheel itself",
                    hint="run `pipfence lock --clear` to resolve from the wheel itself; if that "
                    "changes nothing, the index serves inconsistent metadata",
                )


def _version_or_none(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _applies(requirement: Requirement, target: Target, extras: Collection[str]) -> bool:
    try:
        return requirement.marker is None or target.evaluate(requirement.marker, extras)
    except InvalidMarker:
        return False


def _unmet(
    text: str,
    *,
    target: Target,
    extras: Collection[str],
    versions: Mapping[NormalizedName, Version | None],
) -> str | None:
    """What the lock lacks for one Requires-Dist line (a phrase for the message), or None.

    Most lines name a locked project with at most a version specifier: the leading name and
    a cached `SpecifierSet` settle those, and the full PEP 508 parse (the costly part) is
    left for lines with markers, extras, URLs or unlocked names."""
    lead = _LEADING_NAME.match(text)
    if lead is not None:
        name = canonical_name(lead.group(0))
        rest = text[lead.end() :].strip()
        if name in versions and not any(c in rest for c in ";[@"):
            if rest.startswith("(") and rest.endswith(")"):
                rest = rest[1:-1].strip()
            specifier = _specifier(rest) if rest else SpecifierSet()
            if specifier is not None:
                return _version_unmet(text, name, specifier, versions[name])
    requirement = _requirement(text)
    if requirement is None or not _applies(requirement, target, extras):
        return None
    name = canonical_name(requirement.name)
    if name not in versions:
        return f"`{requirement}`, which Pipfile.lock does not list"
    return _version_unmet(text, name, requirement.specifier, versions[name])


def _version_unmet(
    text: str, name: NormalizedName, specifier: SpecifierSet, locked: Version | None
) -> str | None:
    if locked is None or not specifier or specifier.contains(locked, prereleases=True):
        return None
    return f"`{text.strip()}`, but Pipfile.lock pins `{name}` to {locked}"


def _wheel_core_metadata(choice: _Choice, path: Path, cache: UnpackedCache) -> CoreMetadata | None:
    """A downloaded (or cached) wheel's own METADATA; None when it cannot be read."""
    from pipfence.installer.build import wheel_metadata

    digest = _sha_of(choice)
    unpacked = cache.get(digest) if digest else None
    try:
        if unpacked is not None:
            folder = Path(unpacked.files[0].tree) / unpacked.info.dist_info
            return CoreMetadata.parse((folder / "METADATA").read_bytes())
        return wheel_metadata(path)
    except (OSError, ValueError, IndexError):
        return None


def _listing(
    client: IndexClient, routes: Routes, source: Source, name: NormalizedName
) -> Listing | None:
    page = client.project_page(source, routes.url(source), name)
    return Listing(page.releases) if page is not None else None


def _fetch_in_fence_order(
    fence: Fence,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    to_fetch: Sequence[WantedDist],
    *,
    fetch: Callable[[Sequence[WantedDist]], Mapping[NormalizedName, tuple[_Choice, Path]]],
    done: dict[NormalizedName, tuple[_Choice, Path]],
    metadata_of: Callable[[NormalizedName], CoreMetadata | None],
    listing: Callable[[Source, NormalizedName], Listing | None],
) -> None:
    """Fetch ``to_fetch`` into ``done`` and check the lock's entries against the fence's rule
    3, judged from the packages' own metadata, since a lock records no edges:

    - a transitive entry the lock takes from a non-default source X is fetched only once a
      locked package from X (fetched and verified, or installed) is seen to require it; a lock
      that moved a package there is refused (`LockFenceError`) before its name reaches X;
    - a transitive entry the lock takes from the default that a package from X requires is
      decided again as the lock would (X asked too, its copy of the locked version compared):
      a lock that moved a private package's dependency to the default is refused before
      anything is installed.

    Nothing of this runs (no metadata read) when every entry comes from the default."""
    default = fence.default.name
    taken = {key: package.index or default for key, (_w, package) in wanted.items()}
    if all(source == default for source in taken.values()):
        done.update(fetch(to_fetch))
        return
    suspects = fence.suspects(taken)
    requires: dict[NormalizedName, set[NormalizedName]] = {}

    def learn(key: NormalizedName) -> None:
        metadata = metadata_of(key) if taken[key] != default else None
        if metadata is not None:
            requires[key] = {
                canonical_name(lead.group(0))
                for text in metadata.requires_dist
                if (lead := _LEADING_NAME.match(text)) is not None
            }

    fetching = {w.name for w in to_fetch}
    for key in taken.keys() - fetching:
        learn(key)  # kept: installed already
    ready = [w for w in to_fetch if w.name not in suspects]
    pending = [w for w in to_fetch if w.name in suspects]
    while ready:
        batch = fetch(ready)
        done.update(batch)
        for key in batch:
            learn(key)
        ok = fence.justified(taken, requires)
        ready = [w for w in pending if w.name in ok]
        pending = [w for w in pending if w.name not in ok]
    fence.check_dependency_edges(taken, requires)
    parents: dict[NormalizedName, list[Parent]] = {}
    for parent, children in requires.items():
        for child in children:
            if taken.get(child) == default and fence.is_dependency(child):
                parents.setdefault(child, []).append(Parent(parent, taken[parent]))
    for child, its in sorted(parents.items()):
        answers = {s.name: listing(s, child) for s in fence.sources_to_ask(child, its)}
        where = f"Pipfile.lock takes `{child}` from the default source `{default}`"
        try:
            decision = fence.decide(child, answers, its)
            fence.confirm(child, decision, wanted[child][0].version, answers)
        except (FenceError, IndexServerError) as exc:
            raise LockFenceError(f"{where}, which the fence does not allow: {exc}") from exc
        if decision.source.name != default:
            raise LockFenceError(
                f"{where}, but only `{decision.source.name}`, where "
                + ", ".join(f"`{p.name}`" for p in its)
                + " came from, has it",
                hint="run `pipfence lock` again",
            )


def warm_unpacked_cache(cache: UnpackedCache, lock: Lockfile, categories: Sequence[str]) -> None:
    """Read and check (`UnpackedCache.verified`) the cache entry of every file the lock's
    ``categories`` allow, ahead of a sync that will need them: run beside the creation of a
    new environment, the check of every cached file costs no time of its own. Only fills
    the cache's memory of this run; a sync still looks each entry up as it would, and meets
    any error itself (none is raised here)."""
    try:
        for _category, package in lock.packages(list(categories)):
            for digest in sorted(AllowedHashes.of(package.hashes).digests):
                if cache.get(digest) is not None:
                    cache.verified(digest)
    except Exception:  # noqa: BLE001, S110 - best effort: the sync's own lookup reports it
        pass


def _from_unpacked_cache(
    cache: UnpackedCache,
    wanted: WantedDist,
    package: LockedPackage,
    target: Target,
    requested: bool,
    *,
    granted: Callable[[WantedDist, str], Source | None],
) -> tuple[_Choice, Path] | None:
    """A wheel of ``wanted`` whose sha256 the lock allows and that is unpacked in the cache
    already, fit for ``target``: installed from there with no page lookup or download (the
    cache is keyed by the digest a verified download had). Only when ``granted`` names the
    source whose cached download of that digest this run may use: a wheel a source served
    to other credentials than the ones this run has is fetched (and so authorised) again.
    An entry whose files changed since they were written is unpacked again from its kept
    wheel (sha256 checked) first."""
    for digest in sorted(AllowedHashes.of(package.hashes).digests):
        unpacked = cache.verified(digest)
        if unpacked is None:
            continue
        parsed = parse_filename(unpacked.info.filename)
        if (
            parsed is None
            or parsed[0] != wanted.name
            or str(parsed[1]) != str(Version(wanted.version))
            or parsed[2] is None
            or install_rank(parsed[2], target) is None
        ):
            continue
        source = granted(wanted, digest)
        if source is None:
            continue
        file = DistFile(filename=unpacked.info.filename, url="", hashes={"sha256": digest})
        choice = _Choice(wanted, source, file, frozenset({digest}), requested)
        return choice, unpacked.wheel
    return None


def _wheel_for(
    builds: Builds,
    path: Path,
    choice: _Choice,
    *,
    target: Target,
    tmp: Path,
    package: LockedPackage,
) -> WheelInstall:
    """The wheel to install for a downloaded file: itself, or one built from the sdist (its
    sha256 was verified against the lock; the built wheel's is not in the lock), its build
    requirements fenced with the lock's source of ``package`` as their parent."""
    from pipfence.installer.wheel import WheelInstall

    if choice.file.is_wheel:
        return WheelInstall(path=path, sha256=_sha_of(choice), requested=choice.requested)
    sha = _sha_of(choice) or file_sha256(path)
    wheel = builds.sdist_wheel(
        path,
        sha,
        name=choice.wanted.name,
        target=target,
        dest=tmp / "built" / sha[:16],
        source=package.index,
    )
    return WheelInstall(path=wheel, requested=choice.requested)


def _direct_wheel(
    fetcher: DirectFetcher,
    builds: Builds,
    ref: DirectRef,
    *,
    env: VirtualEnv,
    target: Target,
    tmp: Path,
    on_progress: Callable[[str], None] | None,
) -> WheelInstall:
    """Fetch a path, file or git entry and build its wheel (editable via PEP 660)."""
    from pipfence.installer.build import wheel_metadata
    from pipfence.installer.wheel import WheelInstall
    from pipfence.project.adapters.fenced_builds import check_built

    where = tmp / "direct" / ref.key
    fetched = fetcher.fetch(ref, where, checkout_dir=_editable_checkout(env, ref))
    if fetched.archive is not None and fetched.sha256 is not None:
        wheel = builds.sdist_wheel(
            fetched.archive, fetched.sha256, name=ref.name, target=target, dest=where / "built"
        )
    elif fetched.tree is not None:
        wheel = builds.tree_wheel(
            fetched.tree,
            name=ref.name,
            target=target,
            dest=where / "built",
            editable=ref.editable,
            key=fetched.cache_key,
        )
    else:  # pragma: no cover - fetch always gives one of the two
        raise InstallError(f"`{ref.name}` could not be fetched")
    built = wheel_metadata(wheel)
    check_built(built, ref.key, f"`{ref.name}` ({shown_url(ref.location)})")
    if on_progress is not None:
        on_progress(ref.name)
    return WheelInstall(path=wheel, requested=True, direct_url=fetched.direct_url)


def _temp_root(cache: UnpackedCache) -> Path:
    root = cache.root.parent / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sha_of(choice: _Choice) -> str | None:
    sha = choice.file.sha256
    return sha.lower() if sha else None


def _download(
    client: IndexClient,
    routes: Routes,
    choice: _Choice,
    dest: Path,
    on_progress: Callable[[str], None] | None,
) -> Path:
    path = client.download(
        choice.source, routes.url(choice.source), choice.file, dest, allowed_sha256=choice.hashes
    )
    if on_progress is not None:
        on_progress(choice.file.filename)
    return path
