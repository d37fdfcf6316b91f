"""The throw-away environments sdists and source trees are built in: each holds the build's
requirements (``[build-system] requires``, then what the backend asks for), resolved under the
project's fence with the package being built as their parent, downloaded from each one's
source (page hash checked) and installed; sdists among them are built too, a few levels deep.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from packaging.requirements import InvalidRequirement, Requirement

from pipfence.errors import FenceError, InstallError, PipfenceError
from pipfence.installer.build import Backend, BuildSystem, temp_dir
from pipfence.installer.cache import UnpackedCache, file_sha256
from pipfence.installer.venv import VirtualEnv
from pipfence.models.decision import Parent
from pipfence.models.fence import Fence
from pipfence.models.names import NormalizedName, canonical_name
from pipfence.models.sources import Source
from pipfence.models.target import Target
from pipfence.models.urls import Routes
from pipfence.project.adapters.fenced_source import FencedSource, IndexReader, SdistMetadata

if TYPE_CHECKING:
    from pipfence.resolver.resolution import Resolution

__all__ = ["MAX_DEPTH", "BuildEnvironments", "NestedBuilds"]

#: Backends' output of builds that succeeded, shown with `--verbose`.
_log = logging.getLogger(__name__)

MAX_DEPTH = 3  # sdists among build requirements are built too, up to this depth


class NestedBuilds(Protocol):
    """What building the sdists among build requirements needs (`Builds`)."""

    def nested_sdist_metadata(self, depth: int) -> SdistMetadata: ...

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
    ) -> Path: ...


class BuildEnvironments:
    """Makes build environments for one command run (see `Builds` for the arguments);
    ``nested`` builds the sdists found among build requirements."""

    def __init__(
        self,
        client: IndexReader,
        *,
        fence: Fence,
        routes: Routes,
        temp: Path,
        logs: Path,
        environ: Mapping[str, str],
        wheel_cache: UnpackedCache | None,
        verbose: bool,
        uploaded_before: dt.datetime | None,
        python: Callable[[], Path],
        nested: NestedBuilds,
    ) -> None:
        self._client = client
        self._fence = fence
        self._routes = routes
        self._temp = temp
        self._logs = logs
        self._environ = environ
        self._wheel_cache = wheel_cache
        self._verbose = verbose
        self._uploaded_before = uploaded_before
        self._python = python
        self._nested = nested

    @contextlib.contextmanager
    def backend(
        self,
        tree: Path,
        kind: Literal["wheel", "editable"],
        *,
        name: str,
        depth: int,
        source: str | None,
    ) -> Iterator[Backend]:
        """A backend for ``tree`` in a fresh environment holding its build requirements:
        ``[build-system] requires`` first, then what ``get_requires_for_build_*`` adds.
        ``source`` is where the package being built came from (None: the default), the
        parent its build requirements are fenced under."""
        if depth > MAX_DEPTH:
            raise InstallError(
                f"Cannot build `{name}`: its build requirements need sdists built "
                f"{MAX_DEPTH} levels deep",
                hint="make wheels of the build requirements available on their source",
            )
        system = BuildSystem.of(tree, name=name)
        with temp_dir(self._temp, "pipfence-build-env-") as tmp:
            env = VirtualEnv.create(Path(tmp) / "env", self._python())
            target = Target.current(env.python_version)
            installed: dict[NormalizedName, str] = {}
            parent = Parent(canonical_name(name), source or self._fence.default.name)
            self._install_requirements(
                system.requires, env, target, installed, parent=parent, depth=depth
            )
            backend = Backend(
                tree,
                system,
                env.python,
                self._environ,
                name=name,
                verbose=self._verbose,
                on_output=lambda text: _log.info("build output of `%s`:\n%s", name, text.rstrip()),
                log_dir=self._logs,
            )
            extra = backend.requires_for_build(kind)
            if extra:
                self._install_requirements(
                    [*system.requires, *extra], env, target, installed, parent=parent, depth=depth
                )
            yield backend

    def _install_requirements(
        self,
        texts: Sequence[str],
        env: VirtualEnv,
        target: Target,
        installed: dict[NormalizedName, str],
        *,
        parent: Parent,
        depth: int,
    ) -> None:
        """Resolve ``texts`` under the project's fence, ``parent`` (the package being built)
        standing as the parent of each, and install them into ``env``; ``installed`` holds
        the versions installed there so far, and gains the new ones."""
        requirements = _build_requirements(texts, parent.name)
        if not requirements:
            return
        resolution, origins = self._resolve(requirements, texts, target, parent, depth)
        # Imported here: `installer` costs a lock that builds nothing about 20 ms.
        from pipfence.installer.wheel import WheelInstall, install_many

        with temp_dir(self._temp, "pipfence-build-deps-") as tmp:
            items: list[WheelInstall] = []
            for key, package in sorted(resolution.packages.items()):
                version = str(package.version)
                if installed.get(key) == version:
                    continue
                if key in installed:
                    continue  # a different version is already in; the backend asked again
                file = package.files[0]
                where = origins[key]
                path = self._client.download(where, self._routes.url(where), file, Path(tmp))
                sha = file_sha256(path)
                if not file.is_wheel:
                    path = self._nested.archive_wheel(
                        path,
                        sha,
                        name=key,
                        target=target,
                        dest=Path(tmp) / "built",
                        depth=depth + 1,
                        source=where.name,
                    )
                    sha = file_sha256(path)
                items.append(WheelInstall(path=path, sha256=sha))
                installed[key] = version
            install_many(items, env, cache=self._wheel_cache)

    def _resolve(
        self,
        requirements: Sequence[Requirement],
        texts: Sequence[str],
        target: Target,
        parent: Parent,
        depth: int,
    ) -> tuple[Resolution, dict[NormalizedName, Source]]:
        """Build requirements resolved through the fence, and the source of each package."""
        name = parent.name
        seeded = {canonical_name(r.name): (parent,) for r in requirements}
        try:
            with FencedSource(
                self._client,
                self._fence,
                self._routes,
                target,
                sdist_metadata=self._nested.nested_sdist_metadata(depth),
                parents=seeded,
                uploaded_before=self._uploaded_before,
            ) as source:
                from pipfence.resolver.resolve import resolve  # only when building

                resolution = resolve(requirements, source, target)
                source.verify(resolution)
                origins = {key: source.origins[key].source for key in resolution.packages}
        except FenceError as exc:
            exc.add_note(f"while resolving the build requirements of `{name}`")
            raise
        except PipfenceError as exc:
            exc.add_note(f"while resolving the build requirements of `{name}`")
            raise InstallError(
                f"Cannot build `{name}`: its build requirements "
                f"({', '.join(texts)}) cannot be resolved: {exc}",
                hint=exc.hint,
            ) from exc
        return resolution, origins


def _build_requirements(texts: Sequence[str], name: str) -> list[Requirement]:
    """``texts`` parsed; `InstallError` for one that does not parse or is a direct URL."""
    requirements: list[Requirement] = []
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise InstallError(
                f"Cannot build `{name}`: build requirement `{text}` is invalid: {exc}"
            ) from exc
        if requirement.url:
            raise InstallError(
                f"Cannot build `{name}`: build requirement `{text}` is a direct URL; "
                "pipfence takes build requirements only from the Pipfile's sources"
            )
        requirements.append(requirement)
    return requirements
