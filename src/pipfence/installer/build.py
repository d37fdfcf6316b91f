"""PEP 517 builds: unpack an sdist safely, read its build system, call its backend's hooks.

    fenced_builds ──► BuildSystem.of(tree)       what the backend is and what it needs
                  ──► (installs those needs into a throw-away environment itself)
                  ──► Backend(tree, system, env python, environ).prepare_metadata / build_wheel
                                 │
                                 └─► pyproject_hooks ─► one subprocess per hook, output captured

This module never resolves or downloads anything: the caller gives it an environment that
already holds the build requirements. Hooks run in a subprocess whose environment is built by
`build_environ` from an allow-list (no index URLs, tokens or pip settings reach the backend);
its command line is the interpreter, pyproject_hooks' runner script and a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tempfile
import time
import tomllib
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

if TYPE_CHECKING:
    import pyproject_hooks
else:

    class _LazyHooks:
        """pyproject_hooks, imported when a backend is first used (about 20 ms a lock of
        wheels only should not pay)."""

        def __getattr__(self, name: str) -> Any:
            import pyproject_hooks as module

            return getattr(module, name)

    pyproject_hooks = _LazyHooks()

from pipfence.errors import ArchiveError, InstallError
from pipfence.models.files import CoreMetadata
from pipfence.models.urls import redact_text

__all__ = [
    "LEGACY_BACKEND",
    "LEGACY_REQUIRES",
    "Backend",
    "BuildSystem",
    "build_environ",
    "temp_dir",
    "unpack_sdist",
    "wheel_metadata",
]

#: PEP 517's fallback for a tree without ``[build-system] build-backend`` (pip does the same).
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
#: PEP 518's default requirements for a tree without ``[build-system] requires``.
LEGACY_REQUIRES = ("setuptools>=40.8.0",)

#: Variables a build may see from the caller's environment; everything else (index URLs,
#: tokens, ``PIP_*``, ``PYTHONPATH``…) is left behind.
_ALLOWED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "LC_ALL",
        "LC_CTYPE",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "SYSTEMDRIVE",
        "COMSPEC",
        "PATHEXT",
        "WINDIR",
        "SOURCE_DATE_EPOCH",
        "CC",
        "CXX",
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "MACOSX_DEPLOYMENT_TARGET",
        "ARCHFLAGS",
        # A backend that fetches something itself (a Rust toolchain, a CMake dependency) needs
        # the network the user has: the proxy variables (matched in any case) and CA bundles.
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    }
)
#: How many of the backend's last lines a failure shows without ``--verbose``.
_SHOWN_LINES = 12


def build_environ(base: Mapping[str, str], python: Path) -> dict[str, str]:
    """The environment a backend runs in: allow-listed variables from ``base``, the build
    environment's scripts folder first on ``PATH``, no user site, and pip pointed at no index
    and no configuration (so a backend that shells out to pip cannot leave the fence)."""
    environ = {key: value for key, value in base.items() if key.upper() in _ALLOWED}
    scripts = str(python.parent)
    environ["PATH"] = os.pathsep.join([scripts, *filter(None, [environ.get("PATH", "")])])
    environ.update(
        {
            "PYTHONNOUSERSITE": "1",
            "PIP_NO_INDEX": "1",
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    return environ


class BuildSystem(msgspec.Struct, frozen=True, kw_only=True):
    """A source tree's ``[build-system]`` (PEP 517 / 518), defaults filled in.

    A tree with no ``pyproject.toml``, or one without ``build-backend``, is built by
    setuptools' legacy backend (``setup.py``); without ``requires`` it needs setuptools.
    """

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = ()

    @classmethod
    def of(cls, tree: Path, *, name: str = "") -> BuildSystem:
        """Read ``tree/pyproject.toml``. Raises `InstallError` naming ``name`` when it is not
        valid TOML or its ``[build-system]`` has the wrong types."""
        label = f"`{name}`" if name else f"`{tree.name}`"
        path = tree / "pyproject.toml"
        try:
            data: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(requires=LEGACY_REQUIRES, backend=LEGACY_BACKEND)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InstallError(
                f"Cannot build {label}: its pyproject.toml is invalid: {exc}"
            ) from exc
        except RecursionError:
            raise InstallError(
                f"Cannot build {label}: its pyproject.toml is invalid: nested too deeply"
            ) from None
        table = data.get("build-system")
        if table is None:
            return cls(requires=LEGACY_REQUIRES, backend=LEGACY_BACKEND)
        if not isinstance(table, Mapping):
            raise InstallError(f"Cannot build {label}: [build-system] is not a table")
        requires = table.get("requires", list(LEGACY_REQUIRES))
        backend = table.get("build-backend", LEGACY_BACKEND)
        backend_path = table.get("backend-path", [])
        if (
            not isinstance(requires, list)
            or not all(isinstance(r, str) for r in requires)
            or not isinstance(backend, str)
            or not isinstance(backend_path, list)
            or not all(isinstance(p, str) for p in backend_path)
        ):
            raise InstallError(
                f"Cannot build {label}: [build-system] needs `requires` (a list of strings), "
                "`build-backend` (a string) and optionally `backend-path` (a list of strings)"
            )
        return cls(requires=tuple(requires), backend=backend, backend_path=tuple(backend_path))


def unpack_sdist(archive: Path, dest: Path) -> Path:
    """Unpack an sdist (``.tar.gz``, ``.tar.bz2``, ``.tar.xz``, ``.tar``, ``.zip``) into
    ``dest`` and return its source tree: the one top-level folder, or ``dest`` when the archive
    has several top-level entries.

    Members that are absolute, climb out with ``..``, or are links, devices or fifos leading
    outside are refused (`ArchiveError`) before anything is written for tar files (tarfile's
    ``data`` filter) and per member for zips.
    """
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name
    try:
        if name.endswith(".zip"):
            _unzip(archive, dest)
        else:
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    parts = member.name.replace("\\", "/").split("/")
                    if member.name.startswith(("/", "\\")) or ".." in parts:
                        raise ArchiveError(
                            f"Source distribution `{name}` has a member `{member.name}` "
                            "outside its folder"
                        )
                tar.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveError(f"Source distribution `{name}` cannot be unpacked: {exc}") from exc
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def _unzip(archive: Path, dest: Path) -> None:
    root = os.path.realpath(dest)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = os.path.realpath(os.path.join(root, info.filename))  # noqa: PTH118
            if os.path.isabs(info.filename) or not target.startswith(root + os.sep):  # noqa: PTH117
                raise ArchiveError(
                    f"Source distribution `{archive.name}` has a member `{info.filename}` "
                    "outside its folder"
                )
        zf.extractall(dest)  # noqa: S202 - every member was checked above


def wheel_metadata(wheel: Path) -> CoreMetadata:
    """The core metadata of a wheel file on disk (its ``*.dist-info/METADATA``).
    Raises `ArchiveError` when it has none or it cannot be parsed."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if len(names) != 1:
                raise ArchiveError(f"Wheel `{wheel.name}` has no single *.dist-info/METADATA")
            data = zf.read(names[0])
        return CoreMetadata.parse(data)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"Wheel `{wheel.name}` has unreadable metadata: {exc}") from exc


class _HookFailed(Exception):
    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(returncode)
        self.returncode = returncode
        self.output = output


class Backend:
    """Calls the PEP 517 / 660 hooks of one source tree with the interpreter ``python``.

    ``python`` is the build environment's interpreter: it must already hold the build
    requirements. ``environ`` is the base environment (see `build_environ`; passed through it
    here again, so nothing outside the allow-list can reach the backend). ``name`` names the
    package in messages; ``verbose`` puts the backend's whole output into a failure's message
    instead of its last lines. ``on_output`` receives each hook's output when it succeeds.
    ``log_dir``: where a failed build's whole output is written (named in the message).

    The backend's output never reaches the terminal by itself: each hook's stdout and stderr
    are captured, and the Python warnings the backend raised (setuptools' deprecation
    banners), which pyproject_hooks would re-raise in this process, are taken into that
    output instead.
    """

    def __init__(
        self,
        tree: Path,
        system: BuildSystem,
        python: Path,
        environ: Mapping[str, str],
        *,
        name: str,
        verbose: bool = False,
        on_output: Callable[[str], None] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.tree = tree
        self.system = system
        self.name = name
        self._environ = build_environ(environ, python)
        self._verbose = verbose
        self._on_output = on_output
        self._log_dir = log_dir
        self._log: list[str] = []
        try:
            self._hooks = pyproject_hooks.BuildBackendHookCaller(
                str(tree),
                system.backend,
                backend_path=list(system.backend_path) or None,
                runner=self._run,
                python_executable=str(python),
            )
        except ValueError as exc:  # a backend-path outside the tree
            raise InstallError(f"Cannot build `{name}`: {exc}") from exc

    def _run(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = dict(self._environ)
        if extra_environ:
            environ.update(extra_environ)
        try:
            done = subprocess.run(
                list(cmd),
                cwd=cwd,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except OSError as exc:
            raise _HookFailed(-1, str(exc)) from exc
        output = done.stdout.decode("utf-8", "replace") + _take_warnings(cmd)
        self._log.append(f"$ {cmd[-2] if len(cmd) > 1 else 'hook'}\n{output}")
        if done.returncode != 0:
            raise _HookFailed(done.returncode, output)
        if self._on_output is not None and output.strip():
            self._on_output(redact_text(output))

    def _fail(self, what: str, detail: str, output: str = "") -> InstallError:
        lines = redact_text(output).rstrip().splitlines()
        shown = lines if self._verbose else lines[-_SHOWN_LINES:]
        message = f"Building `{self.name}` failed: {what} ({detail})"
        log = self._write_log(what, output)
        if shown:
            cut = "" if len(shown) == len(lines) else " (last lines; --verbose shows all)"
            body = "\n".join(f"  {line}" for line in shown)
            message = f"{message}; the backend said{cut}:\n{body}"
        if log is not None:
            message = f"{message}\n  full build log: {log}"
        return InstallError(
            message,
            hint="the package's build backend failed, not pipfence; a wheel of another version "
            "may avoid building",
        )

    def _write_log(self, what: str, output: str) -> Path | None:
        """Write every hook's output of this build (credentials redacted) to a file in
        ``log_dir``; its path, or None without a ``log_dir`` or when it cannot be written."""
        if self._log_dir is None:
            return None
        text = "\n".join(self._log) if self._log else output
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self._log_dir / f"{self.name}-{stamp}-{os.getpid()}.log"
        try:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(
                f"# building {self.name} ({self.system.backend}): {what} failed\n"
                + redact_text(text),
                encoding="utf-8",
            )
        except OSError:
            return None
        return path

    def _call(self, what: str, hook: Callable[[], Any]) -> Any:
        try:
            return hook()
        except _HookFailed as exc:
            raise self._fail(what, f"exit status {exc.returncode}", exc.output) from None
        except pyproject_hooks.BackendUnavailable as exc:
            raise self._fail(
                what,
                f"backend `{self.system.backend}` cannot be imported",
                getattr(exc, "traceback", "") or "",
            ) from None
        except pyproject_hooks.UnsupportedOperation as exc:
            raise self._fail(what, "the backend does not support it", exc.traceback) from None

    def requires_for_build(self, kind: Literal["wheel", "editable"] = "wheel") -> list[str]:
        """The backend's extra requirements (``get_requires_for_build_wheel`` / ``_editable``);
        ``[]`` when it has no such hook (PEP 517 allows leaving it out)."""
        if kind == "editable":
            hook = self._hooks.get_requires_for_build_editable
        else:
            hook = self._hooks.get_requires_for_build_wheel
        result = self._call(f"get_requires_for_build_{kind}", hook)
        if not isinstance(result, list) or not all(isinstance(r, str) for r in result):
            raise InstallError(f"Building `{self.name}` failed: the backend listed no requirements")
        return result

    def prepare_metadata(self, out: Path) -> CoreMetadata:
        """Core metadata via ``prepare_metadata_for_build_wheel``; when the backend lacks that
        hook, pyproject_hooks builds the wheel and reads its metadata instead. The
        ``*.dist-info`` folder is written under ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        folder = self._call(
            "prepare_metadata_for_build_wheel",
            lambda: self._hooks.prepare_metadata_for_build_wheel(str(out), _allow_fallback=True),
        )
        try:
            return CoreMetadata.parse((out / str(folder) / "METADATA").read_bytes())
        except (OSError, ValueError) as exc:
            raise InstallError(
                f"Building `{self.name}` failed: the backend wrote no readable METADATA ({exc})"
            ) from exc

    def build_wheel(self, out: Path) -> Path:
        """Build a wheel into ``out`` (``build_wheel``) and return its path."""
        return self._built(out, "build_wheel", self._hooks.build_wheel)

    def build_editable(self, out: Path) -> Path:
        """Build an editable wheel into ``out`` (PEP 660 ``build_editable``) and return its
        path. Raises `InstallError` when the backend does not support editable installs."""
        try:
            return self._built(out, "build_editable", self._hooks.build_editable)
        except pyproject_hooks.HookMissing:
            raise InstallError(
                f"`{self.name}` cannot be installed editable: its build backend "
                f"`{self.system.backend}` has no PEP 660 `build_editable` hook",
                hint="drop `editable = true`, or upgrade the backend (setuptools >= 64)",
            ) from None

    def _built(self, out: Path, what: str, hook: Callable[[str], str]) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        filename = self._call(what, lambda: hook(str(out)))
        path = out / str(filename)
        if not path.is_file() or not path.name.endswith(".whl"):
            raise InstallError(f"Building `{self.name}` failed: `{what}` returned no wheel")
        return path


def _take_warnings(cmd: Sequence[str]) -> str:
    """The Python warnings a hook raised, as text, taken out of the result file that
    pyproject_hooks' in-process script wrote (its last argument is that folder), so that
    pyproject_hooks does not raise them again in this process (they would reach the terminal
    on their own); ``""`` when there are none or the file is not where it is expected."""
    if not cmd:
        return ""
    result = Path(cmd[-1]) / "output.json"
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    found = data.get("warnings") if isinstance(data, dict) else None
    if not isinstance(found, list) or not found:
        return ""
    data["warnings"] = []
    try:
        result.write_text(json.dumps(data), encoding="utf-8")
    except OSError:
        # Left in the file, they would be raised here: keep them off the terminal anyway.
        warnings.filterwarnings("ignore", category=pyproject_hooks.BuildBackendWarning)
    return "".join(
        f"{w.get('filename')}:{w.get('lineno')}: warning: {w.get('message')}\n"
        for w in found
        if isinstance(w, dict)
    )


def temp_dir(root: Path, prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder under ``root`` (made when missing)."""
    root.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=prefix, dir=root)
