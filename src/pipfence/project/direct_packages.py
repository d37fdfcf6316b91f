"""The path, file and git entries of a lock: each reference fetched once and its metadata
built (concurrently), to stand in the resolution as a package and be written as its entry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from pipfence.errors import UsageError
from pipfence.models.files import CoreMetadata, DistFile
from pipfence.models.names import NormalizedName
from pipfence.models.package_spec import PackageSpec
from pipfence.models.references import DirectRef
from pipfence.models.urls import shown_url
from pipfence.project.adapters.direct import project_fetcher
from pipfence.project.adapters.fenced_builds import Builds, check_built
from pipfence.project.adapters.fenced_source import IndexReader
from pipfence.project.concurrency import worker_pool
from pipfence.project.project import Project

__all__ = ["DirectPackage", "direct_packages"]


class DirectPackage(msgspec.Struct, frozen=True, kw_only=True):
    """A path, file or git entry as fetched for a lock: its reference, its lock data, the
    stand-in file the resolver sees for it, and the metadata built from it."""

    ref: DirectRef
    data: dict[str, Any]
    file: DistFile
    metadata: CoreMetadata


def direct_packages(
    project: Project,
    table_specs: Mapping[str, Iterable[PackageSpec]],
    client: IndexReader,
    builds: Builds,
    tmp: Path,
) -> dict[str, dict[NormalizedName, DirectPackage]]:
    """Fetch and build the metadata of every path, file and git entry (concurrently): table
    → name → what its entry there gives. The same reference in two tables is fetched once;
    two entries that differ in their options (``editable``, ``extras``, …) stay apart, so
    each table's lock entry keeps its own."""
    fetcher = project_fetcher(project, client)
    refs = {
        table: {spec.key: DirectRef.from_spec(spec) for spec in specs if not spec.is_named}
        for table, specs in table_specs.items()
    }
    unique = list(dict.fromkeys(ref for by_name in refs.values() for ref in by_name.values()))

    def one(position: int, ref: DirectRef) -> DirectPackage:
        fetched = fetcher.fetch(ref, tmp / f"{ref.key}-{position}")
        what = f"`{ref.name}` ({shown_url(ref.location)})"
        if fetched.archive is not None and fetched.sha256 is not None:
            metadata = builds.archive_metadata(fetched.archive, fetched.sha256, name=ref.name)
        elif fetched.tree is not None:
            metadata = builds.tree_metadata(fetched.tree, name=ref.name, key=fetched.cache_key)
        else:  # pragma: no cover - fetch always gives one of the two
            raise UsageError(f"{what} could not be fetched")
        check_built(metadata, ref.key, what)
        stand_in = DistFile(
            filename=f"{ref.key.replace('-', '_')}-{metadata.version}.tar.gz",
            url=str(fetched.direct_url["url"]),
            requires_python=metadata.requires_python,
        )
        return DirectPackage(ref=ref, data=ref.lock_data(fetched), file=stand_in, metadata=metadata)

    if not unique:
        return {table: {} for table in refs}
    with worker_pool("pipfence-direct", 8) as pool:
        done = dict(zip(unique, pool.map(one, range(len(unique)), unique), strict=True))
    return {
        table: {name: done[ref] for name, ref in by_name.items()} for table, by_name in refs.items()
    }
