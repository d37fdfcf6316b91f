"""`sync`: make the environment hold exactly the lock, every file from its fenced index and
verified against the lock's hashes before the environment changes.

    lock ──► wanted dists ──► plan (installer) ──► prepare: pages + downloads (index, verified),
                                                   builds, every wheel unpacked and checked
                                               ──► set replaced aside, install all, and
                                                   commit (or roll back: `EnvChange`)
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from packaging.markers import InvalidMarker

from pipfence.errors import HashMismatch, LockfileError, UsageError
from pipfence.index.client import IndexClient
from pipfence.installer.cache import UnpackedCache
from pipfence.installer.plan import PROTECTED, SyncPlan, plan_sync
from pipfence.installer.satisfies import (
    InstalledDist,
    WantedDist,
)
from pipfence.installer.venv import VirtualEnv, seed_pip_wheel
from pipfence.models.listing import AllowedHashes
from pipfence.models.lockfile import UNPINNED, LockedPackage, Lockfile
from pipfence.models.names import NormalizedName
from pipfence.models.pipfile import Pipfile, pipfile_table
from pipfence.models.references import DirectRef
from pipfence.models.target import Target
from pipfence.models.urls import shown_url
from pipfence.project.adapters.direct import DirectFetcher, is_remote, project_fetcher
from pipfence.project.concurrency import worker_pool
from pipfence.project.direct_installed import direct_satisfied
from pipfence.project.project import Project

if TYPE_CHECKING:
    from pipfence.installer.wheel import EnvChange, WheelInstall
    from pipfence.project.prepare import Prepared, SyncInputs
    from pipfence.project.sync_types import ProgressSink

__all__ = [
    "SyncOptions",
    "SyncReport",
    "check_lock_against_pipfile",
    "sync",
    "warm_unpacked_cache",
]

#: The distribution a new environment is seeded with (`VirtualEnv.pending_pip`).
SEED = NormalizedName("pip")

#: The ``[pipenv]`` setting that lets sync take a locked file from any source (by hash).
SEARCH_ALL_SOURCES = "install_search_all_sources"


_COMMIT_LENGTH = 40


class SyncOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Which lock categories to install, and whether to remove what no category of the lock
    lists (`sync --clean`)."""

    categories: Sequence[str] = ("default",)
    remove_extraneous: bool = False


class SyncReport(msgspec.Struct, frozen=True, kw_only=True):
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
            if ref.kind == "file" and not ref.hashes and is_remote(ref.location):
                raise HashMismatch(
                    f"Pipfile.lock has no hashes for `{package.name}` "
                    f"({shown_url(ref.location)}); pipfence downloads only files whose "
                    "sha256 a lock recorded",
                    hint="run `pipfence lock` to record them",
                )
            direct[key] = ref
            continue
        version = package.version
        if package.data.get("version") == UNPINNED:
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
    ``env`` matches: no request is sent then.

    A new environment whose pip is still to come (`VirtualEnv.pending_pip`) gets it with the
    lock's packages, one more wheel of the same install (none when the lock installs its own
    pip), or alone when nothing else is installed or the sync fails: either way it has pip,
    as it would have had from its creation."""
    seed = env.pending_pip if created else None
    try:
        return _sync(
            project, client, lock, options, env=env, created=created, cache=cache,
            on_progress=on_progress, change=change, seed=seed,
        )  # fmt: skip
    except BaseException:
        if seed is not None:
            _seed_alone(env, seed, cache)
        raise


def _seed_alone(env: VirtualEnv, seed: Path, cache: UnpackedCache) -> None:
    """Install a new environment's pip by itself (best effort: the sync's own error, if any,
    is the one to report)."""
    if SEED in env.installed():
        return
    with contextlib.suppress(Exception):
        seed_pip_wheel(env, seed, cache)


def _sync(
    project: Project,
    client: IndexClient,
    lock: Lockfile,
    options: SyncOptions,
    *,
    env: VirtualEnv,
    created: bool,
    cache: UnpackedCache,
    on_progress: ProgressSink | None,
    change: EnvChange | None,
    seed: Path | None,
) -> SyncReport:
    started = time.monotonic()
    check_lock_against_pipfile(project.pipfile, lock, options.categories)
    target = Target.current(env.python_version)
    wanted, refs = _wanted(lock, options.categories, target)
    installed = env.installed()
    fetcher = project_fetcher(project, client)
    plan = _plan(
        lock,
        options,
        wanted,
        refs,
        installed,
        satisfied=lambda ref, have: direct_satisfied(ref, have, project.root, env, fetcher),
    )
    if any(w.name == SEED for w in plan.to_fetch):
        seed = None  # the lock's own pip
    if plan.is_empty:
        if seed is not None:
            _seed_alone(env, seed, cache)
        return SyncReport(
            env=env,
            created=created,
            installed=(),
            removed=(),
            kept=len(plan.keep),
            seconds=time.monotonic() - started,
        )
    inputs = _inputs(
        project,
        client,
        lock,
        options,
        env=env,
        target=target,
        cache=cache,
        wanted=wanted,
        installed=installed,
        fetcher=fetcher,
        on_progress=on_progress,
    )
    warnings: list[str] = []  # appended to from the install threads (list.append is atomic)
    prepared = _prepare_and_install(
        inputs, plan, refs, change=change, on_warning=warnings.append, seed=seed
    )
    return _report(plan, prepared, env=env, created=created, warnings=warnings, started=started)


def _report(
    plan: SyncPlan,
    prepared: Prepared,
    *,
    env: VirtualEnv,
    created: bool,
    warnings: Sequence[str],
    started: float,
) -> SyncReport:
    return SyncReport(
        env=env,
        created=created,
        installed=(
            *(f"{c.wanted.name}=={c.wanted.version}" for c in prepared.choices),
            *(f"{r.key} @ {shown_url(r.location)}" for r in prepared.direct),
        ),
        removed=tuple(d.name for d in plan.remove),
        kept=len(plan.keep),
        seconds=time.monotonic() - started,
        warnings=tuple(warnings),
        changes=tuple(plan.changes()),
        fetched=tuple(
            f"{c.wanted.name}=={c.wanted.version}: {c.file.filename} from `{c.source.name}`"
            for c in prepared.choices
        ),
    )


def _plan(
    lock: Lockfile,
    options: SyncOptions,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    refs: Mapping[NormalizedName, DirectRef],
    installed: Mapping[NormalizedName, InstalledDist],
    *,
    satisfied: Callable[[DirectRef, InstalledDist], bool],
) -> SyncPlan:
    """What to install, replace, remove and keep: the lock's index packages by version, and
    its direct references, each kept where ``satisfied`` says the installed copy is its own."""
    wanted_dists = {k: w for k, (w, _p) in wanted.items()}
    reinstall: set[NormalizedName] = set()
    for key, ref in refs.items():
        have = installed.get(key)
        if have is not None and satisfied(ref, have):
            wanted_dists[key] = WantedDist(
                name=key, version=have.version, editable=have.editable, url=have.url
            )
        else:
            wanted_dists[key] = WantedDist(
                name=key, version="0", editable=ref.editable, url=ref.location
            )
            reinstall.add(key)
    return plan_sync(
        wanted_dists,
        installed,
        remove_extraneous=options.remove_extraneous,
        # What another category of the lock lists stays, as `clean` keeps it.
        protected={*PROTECTED, *(p.key for _c, p in lock.packages())},
        reinstall=reinstall,
    )


def _inputs(
    project: Project,
    client: IndexClient,
    lock: Lockfile,
    options: SyncOptions,
    *,
    env: VirtualEnv,
    target: Target,
    cache: UnpackedCache,
    wanted: Mapping[NormalizedName, tuple[WantedDist, LockedPackage]],
    installed: Mapping[NormalizedName, InstalledDist],
    fetcher: DirectFetcher,
    on_progress: ProgressSink | None,
) -> SyncInputs:
    """What a sync that has something to do prepares from (see `SyncInputs`)."""
    # Imported here: a sync with nothing to do never builds or installs.
    from pipfence.project.adapters.fenced_builds import project_builds
    from pipfence.project.prepare import SyncInputs

    pipfile = project.pipfile
    tables = [pipfile_table(category) for category in options.categories]
    return SyncInputs(
        client=client,
        routes=project.settings.routes,
        fence=pipfile.fence(tables),
        search_all=pipfile.setting(SEARCH_ALL_SOURCES),
        target=target,
        env=env,
        cache=cache,
        lock=lock,
        pipfile=pipfile,
        wanted=wanted,
        requested={spec.key for _t, spec in pipfile.iter_specs()},
        installed=installed,
        fetcher=fetcher,
        builds=project_builds(project, client, python=env.python, wheel_cache=cache, tables=tables),
        on_progress=on_progress,
    )


def _prepare_and_install(
    inputs: SyncInputs,
    plan: SyncPlan,
    refs: Mapping[NormalizedName, DirectRef],
    *,
    change: EnvChange | None,
    on_warning: Callable[[str], None],
    seed: Path | None,
) -> Prepared:
    """`prepare` what the plan fetches (``refs``: the lock's direct references), then install
    it (`_install`) with the ``seed`` wheel (a new environment's pip) when given, in one
    worker pool and one temporary folder that the prepared files live in until they are
    installed."""
    from pipfence.project.prepare import prepare

    fetch = [w for w in plan.to_fetch if w.name not in refs]
    fetch_direct = [refs[w.name] for w in plan.to_fetch if w.name in refs]
    on_progress = inputs.on_progress
    if on_progress is not None:
        on_progress.expect(len(fetch) + len(fetch_direct), "Fetching")
    with (
        # The arena cap comes before the first download (`prepare`): importing ctypes for it
        # was 5 % of a sync from the cache.
        worker_pool("pipfence-sync", 16, few_arenas=False) as pool,
        tempfile.TemporaryDirectory(
            prefix="pipfence-sync-", dir=_temp_root(inputs.cache), ignore_cleanup_errors=True
        ) as tmp,
    ):
        prepared = prepare(inputs, fetch, fetch_direct, pool=pool, tmp=Path(tmp))
        items = list(prepared.items)
        if on_progress is not None:
            on_progress.expect(len(items), "Installing")
        on_installed: Callable[[str], None] | None = on_progress
        if seed is not None:
            from pipfence.installer.wheel import WheelInstall

            items.append(WheelInstall(path=seed))  # not one of the lock's: not counted
            on_installed = _counting_all_but(SEED, on_progress)
        _install(
            plan,
            items,
            inputs.env,
            inputs.cache,
            change=change,
            on_warning=on_warning,
            on_installed=on_installed,
        )
    return prepared


def _counting_all_but(
    name: str, sink: Callable[[str], None] | None
) -> Callable[[str], None] | None:
    """``sink``, told of every installed distribution but ``name``."""
    if sink is None:
        return None

    def told(installed: str) -> None:
        if installed != name:
            sink(installed)

    return told


def _install(
    plan: SyncPlan,
    items: Sequence[WheelInstall],
    env: VirtualEnv,
    cache: UnpackedCache,
    *,
    change: EnvChange | None,
    on_warning: Callable[[str], None],
    on_installed: Callable[[str], None] | None,
) -> None:
    """Set aside what the plan replaces or removes and install ``items``, recorded in
    ``change`` (left for the caller to commit) or in a change of its own, committed here;
    undone on any failure."""
    from pipfence.installer.wheel import EnvChange

    txn = change if change is not None else EnvChange()
    try:
        for replacement in plan.replace:
            txn.set_aside(replacement.installed, env)
        for extraneous in plan.remove:
            txn.set_aside(extraneous, env)
        txn.install(items, env, cache=cache, on_warning=on_warning, on_installed=on_installed)
    except BaseException as exc:
        txn.undo(exc)
        raise
    if change is None:
        txn.commit()


def _temp_root(cache: UnpackedCache) -> Path:
    root = cache.root.parent / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def warm_unpacked_cache(cache: UnpackedCache, lock: Lockfile, categories: Sequence[str]) -> None:
    """Start the check (`UnpackedCache.check_ahead`, a helper process) of the cache entry of
    every file the lock's ``categories`` allow, ahead of a sync that will need them: run
    beside the creation of a new environment and the sync's first steps, the stat of every
    cached file costs little time of its own. Only fills the cache's memory of this run; a
    sync still looks each entry up as it would, and meets any error itself (none is raised
    here). `UnpackedCache.end_ahead` ends it."""
    # Best effort: the sync's own lookup reports any error.
    with contextlib.suppress(Exception):
        cache.check_ahead(
            [
                digest
                for _category, package in lock.packages(list(categories))
                for digest in AllowedHashes.of(package.hashes).digests
            ]
        )
