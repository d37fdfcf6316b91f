"""The values a sync hands between its steps: the file chosen for a wanted version, and the
progress sink each step reports to."""

from __future__ import annotations

from typing import Protocol

import msgspec

from pipfence.installer.satisfies import WantedDist
from pipfence.models.files import DistFile
from pipfence.models.sources import Source

__all__ = ["Choice", "ProgressSink"]


class ProgressSink(Protocol):
    """Told how many items a stage has, then of each one done (from any thread)."""

    def __call__(self, item: str, /) -> None: ...

    def expect(self, total: int, label: str) -> None: ...


class Choice(msgspec.Struct, frozen=True):
    """The file of a wanted version a sync installs, the source it comes from, and the
    sha256 digests the lock allows for it."""

    wanted: WantedDist
    source: Source
    file: DistFile
    hashes: frozenset[str]
    requested: bool
