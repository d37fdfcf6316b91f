"""A lock's resolution, remembered: when nothing it was made from has changed, it is not made
again.

A lock of one group of tables is a function of the Pipfile, the target it is locked for, the
policy (pre-releases, versions to keep), the code doing it, and the index pages it read (every
other input, wheel metadata and built sdists, is keyed by a file's hash and cannot change). So
after a lock, `LockMemo.remember` keeps its entries, origins and warnings in the index cache
under a key made of the first four, along with the cache entry each page was read from (its
fetch time). `LockMemo.recall` gives them back only when every one of those pages would be
read, right now, from that very cache entry without asking the index, i.e. exactly the pages a
new resolution would read; a name a source did not have is asked again, as the resolution
would. With one source, a page past ``PIPFENCE_PAGE_MAX_AGE`` is asked again too (all at
once) and recalled when the index says it has not changed (a 304, or the same page sent
again): a lock made again an hour later with nothing new on the index is recalled, not
resolved. Anything else (a page that changed, one past its age with several sources, ``--clear``,
another Pipfile, target, interpreter or pipfence) is a miss, and the lock resolves as usual.

Not remembered: groups with path, file or VCS entries (a local tree can change under the same
name), locks with a ``cool-down-period`` (the cut-off moves with the clock), and sources that
are folders (read anew each time). No URL, credential or Pipfile text is kept: the key is a
digest, and the entry holds what Pipfile.lock holds.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.util
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

import pipfence
from pipfence.errors import PipfenceError
from pipfence.models.decision import Decision, Parent, Rule
from pipfence.models.fence import Fence
from pipfence.models.files import ProjectPage
from pipfence.models.lockfile import LockedPackage
from pipfence.models.names import NormalizedName
from pipfence.models.package_spec import PackageSpec
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes, split_userinfo, without_secrets

if TYPE_CHECKING:
    from packaging.version import Version

__all__ = ["GroupLock", "LockMemo", "LockPolicy", "MemoStore"]

_FORMAT = 1
#: Pages asked again at once when a recall must ask (as many as a resolution's fetches).
_ASKING = 32
#: A page the last lock read: its source's name, the project's name, and since when the cache
#: entry it came from has held it (`ProjectPage.cached_at`; None: the source did not have it).
PageRead = tuple[str, NormalizedName, float | None]


@runtime_checkable
class MemoStore(Protocol):
    """What remembering needs of the index client (satisfied by `IndexClient`)."""

    def page_stamp(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> float | None: ...

    def project_page(
        self, source: Source, request_url: str, name: NormalizedName
    ) -> ProjectPage | None: ...

    def load_resolution(self, key: str) -> bytes | None: ...

    def store_resolution(self, key: str, data: bytes) -> None: ...

    @property
    def page_max_age(self) -> float: ...


class LockPolicy(msgspec.Struct, frozen=True):
    """How every resolution of one lock chooses: pre-releases, and versions to keep."""

    allow_pre: bool
    preferred: Mapping[NormalizedName, Version]
    #: ``[pipenv] cool-down-period``: files uploaded at this time or later are not taken.
    uploaded_before: dt.datetime | None = None


class GroupLock(msgspec.Struct, frozen=True, kw_only=True):
    """The lock entries of tables that share one fence, and what their resolution said."""

    entries: dict[str, dict[str, LockedPackage]]
    origins: Mapping[NormalizedName, Decision]
    warnings: list[str] = msgspec.field(default_factory=list)
    fence_warnings: list[str] = msgspec.field(default_factory=list)
    #: Whether it was recalled (`LockMemo.recall`) rather than resolved.
    recalled: bool = False


class LockMemo(msgspec.Struct, frozen=True):
    """The remembered lock of one group of tables (see the module's text)."""

    client: MemoStore
    fence: Fence
    routes: Routes
    #: Where it is kept: one entry per Pipfile and group, replaced by each new lock.
    slot: str
    #: What the lock is made from, as a digest.
    key: str

    @classmethod
    def of(
        cls,
        client: MemoStore,
        *,
        pipfile_path: Path,
        pipfile_data: Mapping[str, Any],
        fence: Fence,
        routes: Routes,
        tables: Sequence[str],
        specs: Sequence[PackageSpec],
        target: Target,
        policy: LockPolicy,
    ) -> LockMemo | None:
        """The memo of this lock, or None when it is not one to remember (see the module)."""
        if policy.uploaded_before is not None or not all(spec.is_named for spec in specs):
            return None
        try:
            urls = [split_userinfo(routes.url(source))[0] for source in fence.sources]
        except PipfenceError:
            return None  # a variable is missing: the lock itself will say so
        if any(url.lower().startswith("file:") for url in urls):
            return None
        made_of = {
            "format": _FORMAT,
            "code": _code_stamp(),
            "pipfile": _without_source_secrets(pipfile_data),
            "sources": [[s.name, without_secrets(s.url)[0], s.verify_ssl] for s in fence.sources],
            "urls": urls,
            "tables": list(tables),
            "target": {
                "environment": dict(target.environment),
                "python": str(target.python_version),
                "tags": [str(tag) for tag in target.tags],
            },
            "pre": policy.allow_pre,
            "keep": sorted((str(k), str(v)) for k, v in policy.preferred.items()),
        }
        key = _digest(made_of)
        slot = _digest({"pipfile": os.path.abspath(pipfile_path), "tables": list(tables)})  # noqa: PTH100
        return cls(client, fence, routes, slot, key)

    def recall(self) -> GroupLock | None:
        """The lock remembered for this key, when every page it read is still the one a new
        resolution would read; else None."""
        raw = self.client.load_resolution(self.slot)
        if raw is None:
            return None
        try:
            stored = json.loads(raw)
            if stored.get("key") != self.key:
                return None
            pages = [(str(s), NormalizedName(n), at) for s, n, at in stored["pages"]]
            if not self._same_pages(pages):
                return None
            return _group_from_json(stored["group"], {s.name: s for s in self.fence.sources})
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # an entry of another shape: resolve, and replace it

    def remember(
        self, group: GroupLock, pages: Mapping[tuple[str, NormalizedName], float | None]
    ) -> None:
        """Keep ``group`` with the pages its resolution read (`FencedSource.pages_read`)."""
        stored = {
            "key": self.key,
            "pages": sorted([source, name, at] for (source, name), at in pages.items()),
            "group": _group_to_json(group),
        }
        self.client.store_resolution(self.slot, json.dumps(stored, separators=(",", ":")).encode())

    def _same_pages(self, pages: Sequence[PageRead]) -> bool:
        """Whether each page read is the one a resolution would read now. A page still young
        enough in the cache is compared there; a name a source did not have is asked again,
        as a resolution would ask it; and with one source only, a page past its age is asked
        again too, and must come back unchanged (a 304, or the same page once more).

        Why one source only: with one, every name goes to that index whatever the graph,
        and it heard each of these at the last lock. With several, which source hears a
        dependency's name depends on the graph (`FencedSource`): a page that changed could
        change it, so a page past its age makes the lock resolve, and the resolution asks."""
        by_name = {s.name: s for s in self.fence.sources}
        revalidate = len(self.fence.sources) == 1 and self.client.page_max_age > 0
        ask: list[tuple[Source, NormalizedName, float | None]] = []
        for source_name, name, cached_at in pages:
            source = by_name.get(source_name)
            if source is None:
                return False
            if cached_at is not None:
                stamp = self.client.page_stamp(source, self.routes.url(source), name)
                if stamp == cached_at:
                    continue
                if stamp is not None or not revalidate:
                    return False  # a newer page, or one only a resolution may ask for
            ask.append((source, name, cached_at))
        return self._still_same(ask)

    def _still_same(self, ask: Sequence[tuple[Source, NormalizedName, float | None]]) -> bool:
        """Ask for each page again, all at once: a name a source did not have must still be
        missing there, any other page must be the one read (``cached_at``: since when its
        cache entry has held it). Stops at the first that moved."""

        def same(item: tuple[Source, NormalizedName, float | None]) -> bool:
            source, name, cached_at = item
            page = self.client.project_page(source, self.routes.url(source), name)
            if cached_at is None:
                return page is None
            return page is not None and page.cached_at == cached_at

        if len(ask) <= 1:
            return all(same(item) for item in ask)
        pool = ThreadPoolExecutor(max_workers=min(len(ask), _ASKING), thread_name_prefix="memo")
        try:
            futures = [pool.submit(same, item) for item in ask]
            answer = all(future.result() for future in as_completed(futures))
        except BaseException:
            # Failed or stopped (Ctrl-C): do not wait for requests still in flight.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
        return answer


def _digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _without_source_secrets(data: Mapping[str, Any]) -> dict[str, Any]:
    """The Pipfile's data with each source URL's literal credentials dropped."""
    clean = dict(data)
    sources = clean.get("source")
    if isinstance(sources, list):
        clean["source"] = [
            {**s, "url": without_secrets(s["url"])[0]}
            if isinstance(s, Mapping) and isinstance(s.get("url"), str)
            else s
            for s in sources
        ]
    return clean


@functools.cache
def _code_stamp() -> str:
    """pipfence's version and the size and time of each of its modules (and of the resolver
    library's): a lock remembered by other code is not recalled."""
    roots = [Path(pipfence.__file__).parent]
    # The resolver library's own code shapes the result too; found without importing it.
    spec = importlib.util.find_spec("resolvelib")
    if spec is not None and spec.origin:
        roots.append(Path(spec.origin).parent)
    seen: list[tuple[str, int, int]] = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for file in sorted(files):
                if file.endswith(".py"):
                    info = os.stat(os.path.join(folder, file))  # noqa: PTH116, PTH118
                    seen.append((file, info.st_size, info.st_mtime_ns))
    return _digest([pipfence.__version__, seen])


def _group_to_json(group: GroupLock) -> dict[str, Any]:
    return {
        "entries": {
            table: {name: package.to_dict() for name, package in packages.items()}
            for table, packages in group.entries.items()
        },
        "origins": {
            name: [
                d.source.name,
                d.rule.value,
                [[p.name, p.source] for p in d.parents],
                list(d.others),
            ]
            for name, d in group.origins.items()
        },
        "warnings": list(group.warnings),
        "fence_warnings": list(group.fence_warnings),
    }


def _group_from_json(data: Mapping[str, Any], sources: Mapping[str, Source]) -> GroupLock:
    return GroupLock(
        entries={
            str(table): {str(n): LockedPackage.from_dict(str(n), e) for n, e in packages.items()}
            for table, packages in data["entries"].items()
        },
        origins={
            NormalizedName(name): Decision(
                sources[source],
                Rule(rule),
                tuple(Parent(NormalizedName(p), str(s)) for p, s in parents),
                tuple(str(o) for o in others),
            )
            for name, (source, rule, parents, others) in data["origins"].items()
        },
        warnings=[str(w) for w in data["warnings"]],
        fence_warnings=[str(w) for w in data["fence_warnings"]],
        recalled=True,
    )
