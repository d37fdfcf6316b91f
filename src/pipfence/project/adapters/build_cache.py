"""The cache of built metadata and wheels under ``<cache>/builds``: ``<key>/METADATA`` and
``<key>/wheels/*.whl``, the key naming what was built and the fence its build requirements
were resolved under (see `pipfence.project.adapters.fenced_builds`)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from pipfence.models.fence import Fence
from pipfence.models.files import CoreMetadata, install_rank
from pipfence.models.target import Target

__all__ = ["BuildCache"]


class BuildCache:
    """Built metadata and wheels in ``root``, keyed under ``fence``. Thread-safe: `locked`
    serialises the work on one key; files are written beside their final name and renamed."""

    def __init__(self, root: Path, fence: Fence) -> None:
        self._root = root
        self._fence = fence
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def key(self, base: str, source: str | None) -> str:
        """The cache key of a build of ``base`` (an archive's sha256, a commit): also the
        fence its build requirements were resolved under, so one project's build (its
        requirements taken from where its Pipfile says) never stands in for another's."""
        identity = self._fence.build_identity(source or self._fence.default.name)
        return f"{base.lower()}-{identity}"

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def metadata(self, key: str) -> CoreMetadata | None:
        try:
            return CoreMetadata.parse((self._root / key / "METADATA").read_bytes())
        except (OSError, ValueError):
            return None

    def store_metadata(self, key: str, metadata_bytes: bytes) -> None:
        folder = self._root / key
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".METADATA.{secrets.token_hex(4)}"
        tmp.write_bytes(metadata_bytes)
        tmp.replace(folder / "METADATA")

    def wheel(self, key: str, target: Target) -> Path | None:
        """A cached wheel of ``key`` that ``target`` can install, or None."""
        folder = self._root / key / "wheels"
        if not folder.is_dir():
            return None
        for wheel in sorted(folder.glob("*.whl")):
            try:
                _name, _version, _build, tags = parse_wheel_filename(wheel.name)
            except InvalidWheelFilename:
                continue
            if install_rank(tags, target) is not None:
                return wheel
        return None

    def store_wheel(self, key: str, wheel: Path) -> Path:
        folder = self._root / key / "wheels"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / wheel.name
        tmp = folder / f".{wheel.name}.{secrets.token_hex(4)}"
        shutil.copyfile(wheel, tmp)
        tmp.replace(final)
        return final
