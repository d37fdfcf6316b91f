"""Dependency resolution: resolvelib over a `PackageSource`, for one `Target`.

Imports only `pipfence.models`, `pipfence.errors`, resolvelib and packaging; it knows nothing
of HTTP or of which index a name is fenced to (the source it is given does).
"""

from __future__ import annotations

from pipfence.resolver.memory import InMemorySource
from pipfence.resolver.resolution import Edge, Resolution, ResolvedPackage
from pipfence.resolver.resolve import MAX_ROUNDS, resolve
from pipfence.resolver.source import PackageSource

__all__ = [
    "MAX_ROUNDS",
    "Edge",
    "InMemorySource",
    "PackageSource",
    "Resolution",
    "ResolvedPackage",
    "resolve",
]
