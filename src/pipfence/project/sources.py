"""`pipfence sources audit`: which locked names are exposed to dependency confusion.

`audit_exposure` looks at every locked package that comes from a source other than the default
and asks the default source — and PyPI, through the PyPI mirror when one is set — whether a
project of the same name exists there. Such a name is the set-up of dependency confusion: an
installer that looks at both indexes (pip with ``--extra-index-url``, or a Pipfile entry without
``index =``) may take the public one. The fix is the Pipfile line that pins the name. This audit
sends those names to the default source and to PyPI: it is run only when asked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from pipfence.models.lockfile import Lockfile, package_source
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.pipfile import LOCK_CATEGORY, Pipfile
from pipfence.models.sources import PYPI_SOURCE, Source
from pipfence.models.urls import Routes, is_pypi_url, shown_url
from pipfence.project.adapters.fenced_source import PageReader
from pipfence.project.concurrency import worker_pool

__all__ = ["Exposure", "audit_exposure", "pin_line"]


class Exposure(msgspec.Struct, frozen=True, kw_only=True):
    """A locked package from a non-default source, and whether its name exists elsewhere.

    ``on_default`` / ``on_pypi`` are None when that index was not asked (it is the package's
    own, it is the default, or PyPI was left out)."""

    name: str
    categories: tuple[str, ...]
    source: str
    pinned: bool
    on_default: bool | None
    on_pypi: bool | None
    fix: str | None

    @property
    def exposed(self) -> bool:
        """Not pinned: the fence holds only while the default source lacks the name."""
        return not self.pinned

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "categories": list(self.categories),
            "source": self.source,
            "pinned": self.pinned,
            "on_default": self.on_default,
            "on_pypi": self.on_pypi,
            "exposed": self.exposed,
            "fix": self.fix,
        }


def pin_line(name: str, source: str, category: str) -> str:
    """The Pipfile change that pins ``name`` to ``source``, with its table."""
    tables = {v: k for k, v in LOCK_CATEGORY.items()}
    table = tables.get(category, category)
    return f'[{table}] {name} = {{version = "*", index = "{source}"}}'


def audit_exposure(
    client: PageReader,
    pipfile: Pipfile,
    lock: Lockfile,
    *,
    routes: Routes,
    ask_pypi: bool = True,
    on_ask: Callable[[str], None] | None = None,
) -> list[Exposure]:
    """One `Exposure` per locked package whose source is not the lock's default, sorted by
    name. Asks the default source and (``ask_pypi``) PyPI for each such name; raises what
    `IndexClient.project_page` raises when one of them fails (a failed check is no answer).
    """
    sources = lock.meta.sources
    if not sources:
        return []
    default = sources[0]
    pins = {spec.key for _table, spec in pipfile.iter_specs() if spec.index}
    others = _from_other_sources(lock, default)
    if not others:
        return []
    default_url = routes.url(default)
    pypi = ask_pypi and not is_pypi_url(default.url)
    pypi_url = routes.url(PYPI_SOURCE) if pypi else ""
    if on_ask is not None:
        # The audit is the one command that sends names beyond the fence: say which, where.
        asked = [f"`{default.name}` ({shown_url(default.url)})"]
        if pypi:
            asked.append(f"PyPI ({shown_url(pypi_url)})")
        names = ", ".join(others[key][0] for key in sorted(others))
        on_ask(f"sending to {' and '.join(asked)} the names from other sources: {names}")
    with worker_pool("pipfence-audit", 16) as pool:
        on_default = {
            key: pool.submit(client.project_page, default, default_url, key) for key in others
        }
        on_pypi = (
            {key: pool.submit(client.project_page, PYPI_SOURCE, pypi_url, key) for key in others}
            if pypi
            else {}
        )
        results: list[Exposure] = []
        for key in sorted(others):
            name, categories, source_name = others[key]
            pinned = key in pins
            results.append(
                Exposure(
                    name=name,
                    categories=tuple(categories),
                    source=source_name,
                    pinned=pinned,
                    on_default=on_default[key].result() is not None,
                    on_pypi=(on_pypi[key].result() is not None) if key in on_pypi else None,
                    fix=None if pinned else pin_line(name, source_name, categories[0]),
                )
            )
    return results


def _from_other_sources(
    lock: Lockfile, default: Source
) -> dict[NormalizedName, tuple[str, list[str], str]]:
    """The lock's index packages from a source other than ``default``: name as written, the
    categories that list it, and its source's name."""
    others: dict[NormalizedName, tuple[str, list[str], str]] = {}
    for category, package in lock.packages():
        if not package.is_named:
            continue
        source = package_source(package, lock)
        if source.name == default.name:
            continue
        key = canonical_name(package.name)
        entry = others.setdefault(key, (package.name, [], source.name))
        entry[1].append(category)
    return others
