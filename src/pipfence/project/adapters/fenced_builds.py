"""Building sdists and source trees in isolation, with build requirements fenced by the project's
own fence (its pins, and the package being built standing as their parent), and the results
cached by what was built.

    Builds.sdist_metadata(source, file)   lock: an sdist-only version's metadata
    Builds.sdist_wheel(archive, sha256)   sync: a wheel built from a verified sdist
    Builds.tree_metadata / tree_wheel     path, file and git entries

    source tree ──► BuildSystem ──► resolve(requires) through FencedSource (the project's fence)
                                    └─► download from each one's source (page hash checked)
                                        ─► VirtualEnv.create + install_many
                ──► Backend hooks (installer.build) in that throw-away environment

Cache layout under ``<cache>/builds``: ``<key>/METADATA`` and ``<key>/wheels/*.whl``, where the
key is ``<base>-<fence identity>``: the fence its build requirements were resolved under
(`Fence.build_identity`), after a base that is the sdist's (or archive's) sha256, or
``git-<commit>[-<subdirectory hash>]`` for a
checkout. A source tree on disk (a ``path`` entry) is never cached: it can change at any time.
Build environments live in ``<cache>/tmp`` and are removed when the build ends.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pipfence.errors import InstallError, IntegrityError, UsageError
from pipfence.installer.build import (
    temp_dir,
    unpack_sdist,
    wheel_metadata,
)
from pipfence.installer.cache import UnpackedCache, file_sha256
from pipfence.installer.venv import VirtualEnv
from pipfence.models.fence import Fence
from pipfence.models.files import CoreMetadata, DistFile, parse_filename
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes
from pipfence.project.adapters.build_cache import BuildCache
from pipfence.project.adapters.build_env import MAX_DEPTH, BuildEnvironments
from pipfence.project.adapters.fenced_source import IndexReader, SdistMetadata
from pipfence.project.project import Project

__all__ = ["Builds", "check_built", "project_builds"]


class Builds:
    """Builds for one command run.

    ``client`` downloads build requirements (and sdists) from the sources ``fence`` gives them,
    through ``routes`` (the URL each source's requests go to; its credentials are expanded
    for a request only and never passed to a build). A build requirement is fenced like any
    name of the lock: its Pipfile pin, else rule 3 with the package being built as its parent
    (so a private sdist's build requirement is asked of its private source too, and a
    different public copy stops the build).
    ``python`` finds the interpreter build environments are made from (called once, on the
    first build): the project environment's for installs, so built wheels fit it. ``environ``
    is the process environment; only its allow-listed part reaches a backend.
    ``uploaded_before`` leaves out build requirements' files uploaded later (a lock's
    ``cool-down-period``).
    Thread-safe: concurrent builds of the same key are serialised.
    """

    def __init__(
        self,
        client: IndexReader,
        *,
        fence: Fence,
        routes: Routes,
        cache_dir: Path,
        python: Callable[[], Path],
        environ: Mapping[str, str],
        wheel_cache: UnpackedCache | None = None,
        verbose: bool = False,
        uploaded_before: dt.datetime | None = None,
    ) -> None:
        self._client = client
        self._uploaded_before = uploaded_before
        self._fence = fence
        self._routes = routes
        self._cache = BuildCache(cache_dir / "builds", fence)
        self._temp = cache_dir / "tmp"
        self._logs = cache_dir / "build-logs"
        self._find_python = python
        self._python: Path | None = None
        self._environ = dict(environ)
        self._wheel_cache = wheel_cache
        self._verbose = verbose
        self._lock = threading.Lock()
        self._envs = BuildEnvironments(
            client,
            fence=fence,
            routes=routes,
            temp=self._temp,
            logs=self._logs,
            environ=self._environ,
            wheel_cache=wheel_cache,
            verbose=verbose,
            uploaded_before=uploaded_before,
            python=lambda: self.python,
            nested=self,
        )

    @property
    def python(self) -> Path:
        """The interpreter builds run with, looked up on first use."""
        with self._lock:
            if self._python is None:
                self._python = self._find_python()
            return self._python

    # -- public -----------------------------------------------------------------------------

    def sdist_metadata(self, source: Source, request_url: str, file: DistFile) -> CoreMetadata:
        """Core metadata of the sdist ``file`` on ``source``: from the cache by its sha256,
        else downloaded (verified against the page's hash) and prepared by its backend."""
        if file.sha256:
            cached = self._cache.metadata(self._cache.key(file.sha256, source.name))
            if cached is not None:
                return cached
        with temp_dir(self._temp, "pipfence-sdist-") as tmp:
            path = self._client.download(source, request_url, file, Path(tmp))
            sha = file_sha256(path)
            return self.archive_metadata(
                path, sha, name=_name_of(file.filename), source=source.name
            )

    def archive_metadata(
        self, archive: Path, sha256: str, *, name: str, source: str | None = None
    ) -> CoreMetadata:
        """Core metadata of a verified sdist or wheel on disk, cached by ``sha256``; ``source``
        is where it came from (None: a file entry, fenced as from the default)."""
        if archive.name.endswith(".whl"):
            return wheel_metadata(archive)
        key = self._cache.key(sha256, source)
        with self._cache.locked(key):
            cached = self._cache.metadata(key)
            if cached is not None:
                return cached
            with temp_dir(self._temp, "pipfence-unpack-") as tmp:
                tree = unpack_sdist(archive, Path(tmp) / "src")
                metadata, raw = self._prepare_metadata(
                    tree, name=name, depth=0, source=source or self._fence.default.name
                )
            self._cache.store_metadata(key, raw)
            return metadata

    def sdist_wheel(
        self,
        archive: Path,
        sha256: str,
        *,
        name: str,
        target: Target,
        dest: Path,
        source: str | None = None,
    ) -> Path:
        """A wheel built from a verified sdist (or file-entry archive), for ``target``; built
        wheels are cached by the sdist's sha256, so a second sync does not rebuild. The
        returned path is a copy in ``dest``. ``source`` is the source the lock gives the
        package (None: a file entry, fenced as from the default)."""
        if archive.name.endswith(".whl"):
            return archive
        return self.archive_wheel(
            archive,
            sha256,
            name=name,
            target=target,
            dest=dest,
            depth=0,
            source=source or self._fence.default.name,
        )

    def archive_wheel(
        self,
        archive: Path,
        sha256: str,
        *,
        name: str,
        target: Target,
        dest: Path,
        depth: int,
        source: str,
    ) -> Path:
        key = self._cache.key(sha256, source)
        with self._cache.locked(key):
            cached = self._cache.wheel(key, target)
            if cached is None:
                with temp_dir(self._temp, "pipfence-unpack-") as tmp:
                    tree = unpack_sdist(archive, Path(tmp) / "src")
                    built = self._build(
                        tree, "wheel", name=name, out=Path(tmp) / "out", depth=depth, source=source
                    )
                    cached = self._cache.store_wheel(key, built)
        dest.mkdir(parents=True, exist_ok=True)
        copy = dest / cached.name
        shutil.copyfile(cached, copy)
        return copy

    def tree_metadata(self, tree: Path, *, name: str, key: str | None = None) -> CoreMetadata:
        """Core metadata of a source tree; cached under ``key`` when given (a git commit)."""
        key = self._cache.key(key, None) if key is not None else None
        if key is not None:
            cached = self._cache.metadata(key)
            if cached is not None:
                return cached
        with temp_dir(self._temp, "pipfence-tree-") as tmp:
            metadata, raw = self._prepare_metadata(
                _clean_copy(tree, Path(tmp) / "src"),
                name=name,
                depth=0,
                source=self._fence.default.name,
            )
        if key is not None:
            self._cache.store_metadata(key, raw)
        return metadata

    def tree_wheel(
        self,
        tree: Path,
        *,
        name: str,
        target: Target,
        dest: Path,
        editable: bool = False,
        key: str | None = None,
    ) -> Path:
        """A wheel of a source tree (an editable one, PEP 660, when ``editable``: built in
        place, so it points at ``tree``); cached under ``key`` when given and not editable."""
        key = self._cache.key(key, None) if key is not None else None
        if key is not None and not editable:
            with self._cache.locked(key):
                cached = self._cache.wheel(key, target)
                if cached is None:
                    with temp_dir(self._temp, "pipfence-tree-") as tmp:
                        copy = _clean_copy(tree, Path(tmp) / "src")
                        built = self._build(
                            copy, "wheel", name=name, out=Path(tmp) / "out", depth=0, source=None
                        )
                        cached = self._cache.store_wheel(key, built)
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, dest / cached.name)
            return dest / cached.name
        if editable:
            return self._build(tree, "editable", name=name, out=dest, depth=0, source=None)
        with temp_dir(self._temp, "pipfence-tree-") as tmp:
            copy = _clean_copy(tree, Path(tmp) / "src")
            built = self._build(
                copy, "wheel", name=name, out=Path(tmp) / "out", depth=0, source=None
            )
            dest.mkdir(parents=True, exist_ok=True)
            final = dest / built.name
            shutil.copyfile(built, final)
            return final

    # -- mechanics --------------------------------------------------------------------------

    def _prepare_metadata(
        self, tree: Path, *, name: str, depth: int, source: str | None
    ) -> tuple[CoreMetadata, bytes]:
        with self._envs.backend(tree, "wheel", name=name, depth=depth, source=source) as backend:
            out = tree.parent / f".pipfence-metadata-{secrets.token_hex(4)}"
            metadata = backend.prepare_metadata(out)
            raw = next(out.glob("*.dist-info/METADATA")).read_bytes()
        return metadata, raw

    def _build(
        self,
        tree: Path,
        kind: Literal["wheel", "editable"],
        *,
        name: str,
        out: Path,
        depth: int,
        source: str | None,
    ) -> Path:
        with self._envs.backend(tree, kind, name=name, depth=depth, source=source) as backend:
            if kind == "editable":
                return backend.build_editable(out)
            return backend.build_wheel(out)

    def nested_sdist_metadata(self, depth: int) -> SdistMetadata:
        def read(source: Source, request_url: str, file: DistFile) -> CoreMetadata:
            if file.sha256:
                cached = self._cache.metadata(self._cache.key(file.sha256, source.name))
                if cached is not None:
                    return cached
            if depth + 1 > MAX_DEPTH:
                raise InstallError(
                    f"Cannot build `{_name_of(file.filename)}`: build requirements nest too deep"
                )
            with temp_dir(self._temp, "pipfence-sdist-") as tmp:
                path = self._client.download(source, request_url, file, Path(tmp))
                key = self._cache.key(file_sha256(path), source.name)
                with self._cache.locked(key):
                    cached = self._cache.metadata(key)
                    if cached is not None:
                        return cached
                    tree = unpack_sdist(path, Path(tmp) / "src")
                    metadata, raw = self._prepare_metadata(
                        tree, name=_name_of(file.filename), depth=depth + 1, source=source.name
                    )
                self._cache.store_metadata(key, raw)
                return metadata

        return read


def _name_of(filename: str) -> str:
    parsed = parse_filename(filename)
    return parsed[0] if parsed is not None else filename


def _clean_copy(tree: Path, dest: Path) -> Path:
    """Copy a source tree for an out-of-place build (VCS folders and caches left out), so a
    build never writes into the user's checkout."""
    if not tree.is_dir():
        raise InstallError(f"`{tree}` is not a folder to build")
    ignore = shutil.ignore_patterns(".git", ".hg", ".svn", "__pycache__", ".venv", ".tox", "*.pyc")
    try:
        shutil.copytree(tree, dest, ignore=ignore, symlinks=True)
    except (OSError, shutil.Error) as exc:
        raise InstallError(f"Cannot copy `{tree}` to build it: {exc}") from exc
    return dest


def check_built(metadata: CoreMetadata, name: NormalizedName, what: str) -> None:
    """Refuse metadata that names another project than the entry it was built for."""
    if canonical_name(metadata.name) != name:
        raise IntegrityError(
            f"{what} builds `{metadata.name}`, not `{name}`",
            hint="fix the name in the Pipfile entry",
        )


def project_builds(
    project: Project,
    client: IndexReader,
    *,
    python: Path | None = None,
    wheel_cache: UnpackedCache | None = None,
    tables: Sequence[str] | None = None,
    uploaded_before: dt.datetime | None = None,
) -> Builds:
    """The builds of one command on ``project``: build requirements fenced by its Pipfile
    (mirror and credentials applied to requests only), cache in the project's cache folder,
    built with ``python`` or, when None, the project environment's interpreter (the Python
    the project asks for when it has no environment yet). ``tables``: the Pipfile tables
    whose pins fence the builds (every table when None; see `Pipfile.fence`)."""
    pipfile = project.pipfile
    settings = project.settings
    fence = pipfile.fence(tables)

    def find() -> Path:
        if python is not None:
            return python
        location = project.venv_path()
        if (location / "pyvenv.cfg").is_file():
            return VirtualEnv.open(location).python
        from pipfence.project.pythons import find_python

        requires = pipfile.requires
        wanted = requires.get("python_full_version") or requires.get("python_version")
        try:
            return find_python(str(wanted) if wanted else None, settings)
        except UsageError:
            return Path(sys.executable)

    return Builds(
        client,
        fence=fence,
        routes=settings.routes,
        cache_dir=settings.cache_dir,
        python=find,
        environ=settings.environ,
        wheel_cache=wheel_cache,
        verbose=settings.verbose,
        uploaded_before=uploaded_before,
    )
