"""Preparing a sync: every file the plan needs, chosen from the source the fence gives it,
downloaded (or taken from the unpacked cache), verified against the lock's sha256, checked
against the lock's pins by its own metadata, built into a wheel where it is an sdist or a
direct reference, and unpacked and checked against its RECORD: all before anything in the
environment changes.

    plan.to_fetch ──► fence order (`fetch_in_fence_order`) ──► batches:
                        unpacked cache (a granted source) | project page ─► choose_file ─► download
                  ──► check_wheels_against_lock
                  ──► wheels: downloaded, built from sdists, built from direct references
                  ──► unpacked (`UnpackedCache.unpack`) ──► `Prepared`, for `sync` to install
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from pipfence.errors import (
    IndexServerError,
    InstallError,
    IntegrityError,
)
from pipfence.index.client import IndexClient
from pipfence.installer.build import wheel_metadata
from pipfence.installer.cache import UnpackedCache, file_sha256
from pipfence.installer.satisfies import InstalledDist, WantedDist
from pipfence.installer.venv import VirtualEnv
from pipfence.installer.wheel import WheelInstall
from pipfence.models.fence import Fence
from pipfence.models.files import CoreMetadata
from pipfence.models.listing import Listing
from pipfence.models.lockfile import LockedPackage, Lockfile
from pipfence.models.names import NormalizedName
from pipfence.models.pipfile import Pipfile
from pipfence.models.references import DirectRef
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes, shown_url
from pipfence.project.adapters.direct import DirectFetcher, editable_checkout
from pipfence.project.adapters.fenced_builds import Builds, check_built
from pipfence.project.concurrency import few_malloc_arenas, map_all
from pipfence.project.fenced_fetch import fetch_in_fence_order
from pipfence.project.sync_files import (
    choose_file,
    from_unpacked_cache,
    page_listing,
    sha_of,
    wheel_core_metadata,
)
from pipfence.project.sync_types import Choice
from pipfence.project.wheel_requirements import (
    check_key,
    check_wheels_against_lock,
    requested_extras,
)

if TYPE_CHECKING:
    from pipfence.project.sync_types import ProgressSink

__all__ = ["Prepared", "SyncInputs", "prepare"]

#: Beside the unpacked cache: one empty file a set of wheels that passed
#: `check_wheels_against_lock`, named by its `check_key`.
_CHECKS = "wheel-checks-v1"


class SyncInputs(msgspec.Struct, frozen=True, kw_only=True):
    """What a sync prepares from: the lock's wanted packages (on this target), the fence and
    the sources it lets each one come from, the environment, the cache and the builds."""

    client: IndexClient
    routes: Routes
    fence: Fence
    #: ``[pipenv] install_search_all_sources``: a file may come from any source, by hash.
    search_all: bool
    target: Target
    env: VirtualEnv
    cache: UnpackedCache
    lock: Lockfile
    pipfile: Pipfile
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]]
    #: The names the Pipfile lists (installed as requested, not as dependencies).
    requested: Collection[NormalizedName]
    installed: Mapping[NormalizedName, InstalledDist]
    fetcher: DirectFetcher
    builds: Builds
    on_progress: ProgressSink | None = None


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    """The files a sync chose (one a wanted index package) and the wheels to install, every
    one unpacked in the cache and checked against its RECORD."""

    choices: tuple[Choice, ...]
    #: The path, file and git entries built.
    direct: tuple[DirectRef, ...]
    items: list[WheelInstall]


def prepare(
    inputs: SyncInputs,
    to_fetch: Sequence[WantedDist],
    to_fetch_direct: Sequence[DirectRef],
    *,
    pool: ThreadPoolExecutor,
    tmp: Path,
) -> Prepared:
    """Fetch, verify, build and unpack what ``to_fetch`` (index packages) and
    ``to_fetch_direct`` (path, file and git entries) need, downloads and builds run by
    ``pool``, files kept under ``tmp``. Raises `HashMismatch`, `InstallError`,
    `IntegrityError`, `LockFenceError`, `IndexServerError`; the environment is not touched."""
    preparer = _Preparer(inputs, pool=pool, tmp=tmp, trust=True)
    try:
        fetched: list[tuple[Choice, Path]] | None = preparer.fetch_and_check(to_fetch)
    except IntegrityError:
        if preparer.confirm():
            raise
        fetched = None  # the metadata read may be a changed file's: decided again below
    if fetched is None or not preparer.confirm():
        # A cache entry changed since it was written: everything is chosen again, each
        # entry checked (and unpacked again from its kept wheel, or downloaded) before use.
        preparer = _Preparer(inputs, pool=pool, tmp=tmp, trust=False)
        fetched = preparer.fetch_and_check(to_fetch)
    preparer.note_passed()
    choices = tuple(choice for choice, _path in fetched)
    on_progress = inputs.on_progress
    to_build = sum(1 for c in choices if not c.file.is_wheel) + len(to_fetch_direct)
    if on_progress is not None and to_build:
        on_progress.expect(to_build, "Building")
    items = list(map_all(pool, lambda pc: preparer.wheel_for(*pc), fetched))
    items.extend(map_all(pool, preparer.direct_wheel, to_fetch_direct))
    # Unpacking verifies each file against the wheel's RECORD: a bad wheel is refused here,
    # before anything installed is touched.
    if on_progress is not None:
        on_progress.expect(len(items), "Unpacking")
    map_all(pool, preparer.unpack, items)
    return Prepared(choices=choices, direct=tuple(to_fetch_direct), items=items)


class _Preparer:
    """The steps of `prepare` for one sync, sharing its inputs, pool and temporary folder;
    ``done`` collects each fetched package's choice and file."""

    def __init__(
        self, inputs: SyncInputs, *, pool: ThreadPoolExecutor, tmp: Path, trust: bool
    ) -> None:
        self.inputs = inputs
        self.pool = pool
        self.tmp = tmp
        self.done: dict[NormalizedName, tuple[Choice, Path]] = {}
        # With ``trust``, cache entries are used before their files are checked
        # (`UnpackedCache.get`), which `confirm` then does for all of them at once: the
        # check (a stat a file, often in a helper process: `UnpackedCache.check_ahead`)
        # runs meanwhile. Without, each is checked when it is looked up.
        self.trust = trust
        self.unchecked: list[str] = []
        self.passed: Path | None = None

    def note_passed(self) -> None:
        """Keep the note that the wheels passed the check against the lock (`_check_stamp`):
        called once their cache entries are known intact."""
        if self.passed is not None:
            with contextlib.suppress(OSError):  # a memo only
                self.passed.parent.mkdir(parents=True, exist_ok=True)
                self.passed.touch()

    def fetch_and_check(self, to_fetch: Sequence[WantedDist]) -> list[tuple[Choice, Path]]:
        """Every file of ``to_fetch``, in the fence's order, checked against the lock by its
        own metadata (`check_wheels_against_lock`)."""
        inputs = self.inputs
        fetch_in_fence_order(
            inputs.fence,
            inputs.wanted,
            to_fetch,
            fetch=self.fetch_batch,
            done=self.done,
            metadata_of=self.metadata_of,
            listing=self.listing,
        )
        fetched = [self.done[w.name] for w in to_fetch]
        # Everything is downloaded and verified; sdists and direct references are built
        # later, still before the environment changes. A wheel whose own metadata needs
        # what the lock does not give (a project it does not list, or a version outside
        # the wheel's specifier) was resolved from metadata that lied about it (a PEP 658
        # file, say): refuse it.
        wheels = [(c, p) for c, p in fetched if c.file.is_wheel]
        extras = requested_extras(inputs.lock, inputs.pipfile)
        stamp = self._check_stamp(wheels, extras)
        if stamp is not None and stamp.is_file():
            return fetched  # these wheels passed for this lock and target before
        check_wheels_against_lock(
            wheels,
            metadata_of=lambda c, p: wheel_core_metadata(c, p, inputs.cache),
            target=inputs.target,
            lock=inputs.lock,
            wanted=inputs.wanted,
            requested_extras=extras,
        )
        self.passed = stamp  # noted once the entries read are known to be intact
        return fetched

    def _check_stamp(
        self, wheels: Sequence[tuple[Choice, Path]], extras: Mapping[NormalizedName, set[str]]
    ) -> Path | None:
        """Where the cache keeps the note that ``wheels`` passed `check_wheels_against_lock`
        for this lock and target (`check_key`); None when a wheel has no known sha256 (one
        built here)."""
        digests = [(c.wanted.name, sha_of(c)) for c, _path in wheels]
        known = [(name, digest) for name, digest in digests if digest is not None]
        if len(known) != len(digests):
            return None
        inputs = self.inputs
        key = check_key(
            known,
            target=inputs.target,
            lock=inputs.lock,
            wanted=inputs.wanted,
            requested_extras=extras,
        )
        return inputs.cache.root.parent / _CHECKS / key

    def confirm(self) -> bool:
        """Whether every cache entry used without a check is intact (`UnpackedCache.intact`);
        False when one is not (it is then left for a second pass to redo)."""
        cache = self.inputs.cache
        for digest in self.unchecked:
            entry = cache.get(digest)
            if entry is None or not cache.intact(entry):
                return False
        return True

    def _sources(self, package: LockedPackage) -> Iterable[Source]:
        return self.inputs.fence.fetch_sources(package.index, search_all=self.inputs.search_all)

    def choose(self, w: WantedDist, *, refresh: bool = False) -> Choice:
        package = self.inputs.wanted[w.name][1]
        return choose_file(
            self.inputs.client,
            self.inputs.routes,
            w,
            package=package,
            sources=list(self._sources(package)),
            target=self.inputs.target,
            requested=w.name in self.inputs.requested,
            refresh=refresh,
        )

    def granted(self, w: WantedDist, digest: str) -> Source | None:
        """The source whose cached copy of the file with ``digest`` this run may use: one
        fetched without credentials, or with the ones that source has now."""
        client, routes = self.inputs.client, self.inputs.routes
        for source in self._sources(self.inputs.wanted[w.name][1]):
            if client.holds_file(source, routes.url(source), digest):
                return source
        return None

    def from_cache(self, w: WantedDist) -> tuple[Choice, Path] | None:
        cached = from_unpacked_cache(
            self.inputs.cache,
            w,
            self.inputs.wanted[w.name][1],
            self.inputs.target,
            w.name in self.inputs.requested,
            granted=self.granted,
            checked=not self.trust,
        )
        if cached is None:
            return None
        if self.trust:
            self.unchecked.append(cached[0].file.hashes["sha256"])
        if self.inputs.on_progress is not None:
            self.inputs.on_progress(cached[0].file.filename)
        return cached

    def fetch_batch(self, batch: Sequence[WantedDist]) -> dict[NormalizedName, tuple[Choice, Path]]:
        """The batch's files: those unpacked in the cache already looked up here, one after
        the other (a manifest read and a stat a file: many threads would only pass the
        interpreter lock around), the others downloaded by the pool."""
        found: dict[NormalizedName, tuple[Choice, Path]] = {}
        missing: list[WantedDist] = []
        for w in batch:
            cached = self.from_cache(w)
            if cached is None:
                missing.append(w)
            else:
                found[w.name] = cached
        if missing:
            # Before the pool's first threads start (they start with their first work):
            # downloads and their unpacking churn memory in many threads (a cold sync of 303
            # packages peaked at 254 MiB without the cap, 120 with it). A sync from the cache
            # needs neither the cap nor its import.
            few_malloc_arenas()
        for choice, path in map_all(self.pool, self.fetch_one, missing):
            found[choice.wanted.name] = (choice, path)
        return found

    def fetch_one(self, w: WantedDist) -> tuple[Choice, Path]:
        inputs = self.inputs
        choice = self.choose(w)
        try:
            return choice, _download(
                inputs.client, inputs.routes, choice, self.tmp, inputs.on_progress
            )
        except IndexServerError as exc:
            if exc.status != HTTPStatus.NOT_FOUND:
                raise
        # The file is gone since the page was cached: ask the index(es) again.
        choice = self.choose(w, refresh=True)
        return choice, _download(inputs.client, inputs.routes, choice, self.tmp, inputs.on_progress)

    def listing(self, source: Source, name: NormalizedName) -> Listing | None:
        return page_listing(self.inputs.client, self.inputs.routes, source, name)

    def metadata_of(self, key: NormalizedName) -> CoreMetadata | None:
        """A locked package's own metadata: of its verified file when this sync fetched it
        (an sdist built for the purpose), else of its installed copy."""
        if key in self.done:
            choice, path = self.done[key]
            if choice.file.is_wheel:
                return wheel_core_metadata(choice, path, self.inputs.cache)
            item = _wheel_for(
                self.inputs.builds,
                path,
                choice,
                target=self.inputs.target,
                tmp=self.tmp,
                package=self.inputs.wanted[key][1],
            )
            return wheel_metadata(item.path)
        have = self.inputs.installed.get(key)
        if have is None:
            return None
        try:
            return CoreMetadata.parse((have.dist_info / "METADATA").read_bytes())
        except (OSError, ValueError):
            return None

    def wheel_for(self, choice: Choice, path: Path) -> WheelInstall:
        item = _wheel_for(
            self.inputs.builds,
            path,
            choice,
            target=self.inputs.target,
            tmp=self.tmp,
            package=self.inputs.wanted[choice.wanted.name][1],
        )
        if self.inputs.on_progress is not None and not choice.file.is_wheel:
            self.inputs.on_progress(choice.file.filename)
        return item

    def direct_wheel(self, ref: DirectRef) -> WheelInstall:
        return _direct_wheel(
            self.inputs.fetcher,
            self.inputs.builds,
            ref,
            env=self.inputs.env,
            target=self.inputs.target,
            tmp=self.tmp,
            on_progress=self.inputs.on_progress,
        )

    def unpack(self, item: WheelInstall) -> None:
        self.inputs.cache.unpack(item.path, sha256=item.sha256)
        if self.inputs.on_progress is not None:
            self.inputs.on_progress(item.path.name)


def _wheel_for(
    builds: Builds,
    path: Path,
    choice: Choice,
    *,
    target: Target,
    tmp: Path,
    package: LockedPackage,
) -> WheelInstall:
    """The wheel to install for a downloaded file: itself, or one built from the sdist (its
    sha256 was verified against the lock; the built wheel's is not in the lock), its build
    requirements fenced with the lock's source of ``package`` as their parent."""
    if choice.file.is_wheel:
        return WheelInstall(path=path, sha256=sha_of(choice), requested=choice.requested)
    sha = sha_of(choice) or file_sha256(path)
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
    where = tmp / "direct" / ref.key
    fetched = fetcher.fetch(ref, where, checkout_dir=editable_checkout(env, ref))
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


def _download(
    client: IndexClient,
    routes: Routes,
    choice: Choice,
    dest: Path,
    on_progress: Callable[[str], None] | None,
) -> Path:
    path = client.download(
        choice.source, routes.url(choice.source), choice.file, dest, allowed_sha256=choice.hashes
    )
    if on_progress is not None:
        on_progress(choice.file.filename)
    return path
