"""An in-memory `PackageSource`: the reference implementation and the tests' index.

It is the smallest thing that satisfies the protocol and shows its contract: one index, files
of every version (yanked ones included), `PackageNotFound` for an unknown name, metadata per
version. It also records what it was asked, so tests can check that the resolver only asks for
names it needs and that it prefetches.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import msgspec
from packaging.version import Version

from pipfence.errors import PackageNotFound
from pipfence.models.files import CoreMetadata, DistFile, group_by_version
from pipfence.models.names import NormalizedName, canonical_name

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["InMemorySource"]

_BASE_URL = "https://files.invalid/"


class InMemorySource(msgspec.Struct):
    """A `PackageSource` over plain data.

    Build it with `from_dict` from a mapping ``{name: {version: spec}}`` where each ``spec``
    may hold:

    - ``requires``: list of PEP 508 requirement strings (``Requires-Dist``);
    - ``requires_python``: the version's ``Requires-Python``, in its metadata and on its files;
    - ``files_requires_python``: what the index says on the files, when it differs (``""``
      for none);
    - ``extras``: ``Provides-Extra`` values;
    - ``yanked``: ``true`` or a reason string (PEP 592), on every file of the version;
    - ``wheels``: wheel tags such as ``"py3-none-any"`` or ``"cp311-cp311-manylinux_2_17_x86_64"``;
    - ``sdist``: whether there is a ``.tar.gz``.

    A version with neither ``wheels`` nor ``sdist`` gets one ``py3-none-any`` wheel.
    ``files_asked``, ``metadata_asked`` and ``prefetched`` list the calls of each method in
    order; ``calls`` lists all of them together as ``(method, name, version or None)``.
    """

    projects: Mapping[NormalizedName, tuple[DistFile, ...]]
    metadata_by_version: Mapping[tuple[NormalizedName, Version], CoreMetadata]
    files_asked: list[NormalizedName] = msgspec.field(default_factory=list)
    metadata_asked: list[tuple[NormalizedName, Version]] = msgspec.field(default_factory=list)
    prefetched: list[tuple[NormalizedName, Version]] = msgspec.field(default_factory=list)
    calls: list[tuple[str, NormalizedName, Version | None]] = msgspec.field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Mapping[str, Any]]], /) -> InMemorySource:
        """Build the index; raises `ValueError` (`InvalidVersion`) for a bad version key."""
        projects: dict[NormalizedName, tuple[DistFile, ...]] = {}
        metadata: dict[tuple[NormalizedName, Version], CoreMetadata] = {}
        for raw_name, versions in data.items():
            name = canonical_name(raw_name)
            files: list[DistFile] = []
            for raw_version, spec in versions.items():
                version = Version(raw_version)
                requires_python = spec.get("requires_python")
                files += _files(name, raw_version, spec)
                metadata[name, version] = CoreMetadata(
                    name=name,
                    version=version,
                    requires_dist=tuple(spec.get("requires", ())),
                    requires_python=requires_python,
                    provides_extra=tuple(spec.get("extras", ())),
                )
            projects[name] = tuple(files)
        return cls(projects=projects, metadata_by_version=metadata)

    def releases(self, name: NormalizedName) -> Mapping[str, Sequence[DistFile]]:
        self.files_asked.append(name)
        self.calls.append(("files", name, None))
        try:
            files = self.projects[name]
        except KeyError:
            msg = f"Package `{name}` was not found on the in-memory index"
            raise PackageNotFound(msg) from None
        return group_by_version(files, name)

    def metadata(
        self, name: NormalizedName, version: Version, files: Sequence[DistFile]
    ) -> CoreMetadata:
        del files  # every file of a version has the same metadata here
        self.metadata_asked.append((name, version))
        self.calls.append(("metadata", name, version))
        return self.metadata_by_version[name, version]

    def prefetch(self, name: NormalizedName, version: Version, files: Sequence[DistFile]) -> None:
        del files
        self.prefetched.append((name, version))
        self.calls.append(("prefetch", name, version))


def _files(name: NormalizedName, version: str, spec: Mapping[str, Any]) -> list[DistFile]:
    stem = f"{name.replace('-', '_')}-{version}"
    wheels: list[str] = list(spec.get("wheels", ()))
    sdist = bool(spec.get("sdist", False))
    if not wheels and not sdist:
        wheels = ["py3-none-any"]
    filenames = [f"{stem}-{tag}.whl" for tag in wheels]
    if sdist:
        filenames.append(f"{stem}.tar.gz")
    requires_python = spec.get("files_requires_python", spec.get("requires_python")) or None
    return [
        DistFile(
            filename=filename,
            url=_BASE_URL + filename,
            hashes={"sha256": hashlib.sha256(filename.encode()).hexdigest()},
            requires_python=requires_python,
            yanked=spec.get("yanked", False),
        )
        for filename in filenames
    ]
