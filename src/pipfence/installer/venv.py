"""Virtual environments: create one, describe one, list what is installed in it.

An environment is described by its install scheme (where purelib, platlib, scripts, data and
headers go). The scheme comes from the environment's interpreter once, through one subprocess,
and is kept beside ``pyvenv.cfg`` in ``.pipfence-scheme.json`` with paths relative to the
environment, keyed by the sha256 of ``pyvenv.cfg``: a later sync reads it instead of starting
Python, and a changed interpreter (a new ``pyvenv.cfg``) makes it ask again.

What the interpreter is asked (the scripts it runs) is in `pipfence.installer.interpreter`;
reading the distributions installed in the environment, in `pipfence.installer.dist_info`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipfence.errors import InstallError
from pipfence.installer.dist_info import read_installed
from pipfence.installer.interpreter import (
    CREATE_SCRIPT,
    DESCRIBE_SCRIPT,
    PIP_WHEELS,
    SCHEME_SCRIPT,
    SYSTEM_SCRIPT,
    newest_pip,
    parse_scheme,
    required_pip,
    run_python,
)
from pipfence.installer.satisfies import InstalledDist
from pipfence.models.names import NormalizedName

if TYPE_CHECKING:
    from pipfence.installer.cache import UnpackedCache

__all__ = ["SCHEME_FILE", "VirtualEnv"]

SCHEME_FILE = ".pipfence-scheme.json"
_SCHEME_FORMAT = 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualEnv:
    """A virtual environment and its install scheme (absolute paths).

    ``python`` is the environment's own interpreter path (not resolved: scripts' shebangs use
    it); ``headers`` is pip's ``include/site/pythonX.Y`` root, to which a distribution's name is
    appended. ``script_kind`` is the launcher kind `installer` needs (``posix``, ``win-amd64``…).
    """

    root: Path
    python: Path
    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    headers: Path
    python_version: str
    script_kind: str
    #: The pip wheel a new environment is still to get (`create` with ``seed_later``): its
    #: creator installs it, with the first packages or alone (`seed_pip`).
    pending_pip: Path | None = dataclasses.field(default=None, compare=False)

    @property
    def site_dirs(self) -> tuple[Path, ...]:
        """purelib, then platlib when it differs: where ``*.dist-info`` directories live."""
        if self.platlib == self.purelib:
            return (self.purelib,)
        return (self.purelib, self.platlib)

    def scheme_dict(self, name: str) -> dict[str, str]:
        """The `installer` scheme mapping for distribution ``name`` (headers are per name)."""
        return {
            "purelib": str(self.purelib),
            "platlib": str(self.platlib),
            "scripts": str(self.scripts),
            "data": str(self.data),
            "headers": str(self.headers / name),
        }

    def contains(self, path: Path | str) -> bool:
        """Whether ``path`` (made absolute and normalised, symlinks not followed) is inside."""
        absolute = os.path.abspath(path)  # noqa: PTH100 - normalises `..` without resolving links
        root = str(self.root)
        return absolute == root or absolute.startswith(root + os.sep)

    # -- describing ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> VirtualEnv:
        """Describe the environment at ``path``.

        Reads ``.pipfence-scheme.json`` when it matches the current ``pyvenv.cfg``; otherwise asks
        the environment's interpreter (one subprocess, ~20 ms) and writes the file for next time
        (best effort: a read-only environment is still usable). Raises `InstallError` when
        ``path`` is not a virtual environment or its interpreter cannot run.
        """
        root = Path(os.path.abspath(path))  # noqa: PTH100 - keep symlinked parents as given
        cfg = root / "pyvenv.cfg"
        try:
            cfg_hash = _sha256(cfg)
        except OSError as exc:
            raise InstallError(
                f"`{root}` is not a virtual environment (no readable pyvenv.cfg)",
                hint="create it first, or point at the environment's root folder",
            ) from exc
        cached = _read_scheme_file(root / SCHEME_FILE, cfg_hash)
        if cached is not None:
            return cls._from_scheme(root, cached)
        python = _find_python(root)
        scheme = parse_scheme(
            run_python([str(python), "-I", "-S", "-c", DESCRIBE_SCRIPT], f"query `{python}`")
        )
        with contextlib.suppress(OSError):
            _write_scheme_file(root / SCHEME_FILE, scheme, cfg_hash)
        return cls._from_scheme(root, scheme)

    @classmethod
    def _from_scheme(cls, root: Path, scheme: Mapping[str, Any]) -> VirtualEnv:
        paths = scheme["paths"]
        version = str(scheme["version"])
        major_minor = ".".join(version.split(".")[:2])

        def at(rel: str) -> Path:
            return Path(os.path.normpath(root / rel))

        return cls(
            root=root,
            python=at(scheme["python"]),
            purelib=at(paths["purelib"]),
            platlib=at(paths["platlib"]),
            scripts=at(paths["scripts"]),
            data=at(paths["data"]),
            headers=root / "include" / "site" / f"python{major_minor}",
            python_version=version,
            script_kind=str(scheme["script_kind"]),
        )

    @classmethod
    def of_interpreter(cls, python: Path) -> tuple[VirtualEnv, str | None]:
        """The environment ``python`` installs into: its virtual environment when it runs in
        one, else its own prefix with the scheme pip would use there (``install --system``).
        Also returns the path of its ``EXTERNALLY-MANAGED`` marker (PEP 668) when it has one
        (a virtual environment never has). Costs one subprocess."""
        data = parse_scheme(
            # Without -S: `site` is what sets sys.prefix to a virtual environment's folder.
            run_python([str(python), "-I", "-c", SYSTEM_SCRIPT], f"query `{python}`")
        )
        root = Path(str(data["prefix"]))
        if data.get("venv") and (root / "pyvenv.cfg").is_file():
            return cls.open(root), None
        marker = data.get("externally_managed")
        # The interpreter that was asked, not a `python` under the prefix (which may not exist).
        env = dataclasses.replace(cls._from_scheme(root, data), python=python)
        return env, marker if isinstance(marker, str) else None

    @property
    def system_site_packages(self) -> bool:
        """Whether ``pyvenv.cfg`` makes the base interpreter's site-packages visible."""
        return _cfg_value(self.root / "pyvenv.cfg", "include-system-site-packages") == "true"

    def set_system_site_packages(self, enabled: bool) -> None:
        """Make the base interpreter's site-packages visible or not, as ``venv
        --system-site-packages`` does: one line of ``pyvenv.cfg``, rewritten atomically."""
        cfg = self.root / "pyvenv.cfg"
        try:
            lines = cfg.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InstallError(f"Could not read `{cfg}`: {exc}") from exc
        value = "true" if enabled else "false"
        key = "include-system-site-packages"
        out = [f"{key} = {value}" if _cfg_key(line) == key else line for line in lines]
        if not any(_cfg_key(line) == key for line in lines):
            out.append(f"{key} = {value}")
        tmp = cfg.with_name(f"{cfg.name}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
            tmp.replace(cfg)
        except OSError as exc:
            raise InstallError(f"Could not write `{cfg}`: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def installed(self) -> dict[NormalizedName, InstalledDist]:
        """Every distribution with a ``*.dist-info`` directory in purelib/platlib."""
        return read_installed(self.site_dirs)

    # -- creating -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        python: Path,
        *,
        seed_pip: bool = False,
        pip_wheel: Path | None = None,
        cache: UnpackedCache | None = None,
        prompt: str | None = None,
        site_packages: bool = False,
        seed_later: bool = False,
    ) -> VirtualEnv:
        """Create a virtual environment at ``path`` for interpreter ``python``; return it.

        ``venv --without-pip`` makes it in a hidden sibling folder (and, in the same interpreter
        start, describes it and lists its bundled pip wheels): in one subprocess, or in this
        process when ``python`` is the interpreter pipfence runs on (the same file: a tenth of
        the time, with the same result). Then the folder is renamed into place, so a crash
        leaves no half-made environment at ``path``. With ``seed_pip`` the pip wheel
        (``pip_wheel``, else the interpreter's bundled one, see `bundled_pip_wheel`) is installed
        by pipfence's own wheel installer, far faster than ``ensurepip``; if that fails the new
        environment is removed again. ``prompt`` defaults to the folder name, as ``venv`` does;
        ``site_packages`` makes the interpreter's own site-packages visible in the environment
        (``venv --system-site-packages``). With ``seed_later`` the pip wheel is not installed
        but left in `pending_pip`, for the caller to install with its first packages (or
        alone: `seed_pip`). Raises `InstallError` when ``path`` exists and is not an empty
        folder, or when creation fails.
        """
        root = Path(os.path.abspath(path))  # noqa: PTH100 - keep symlinked parents as given
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise InstallError(f"Cannot create a virtual environment at `{root}`: it exists")
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = root.parent / f".{root.name}.{secrets.token_hex(4)}.pipfence-tmp"
        try:
            if _is_running_interpreter(python):
                scheme = _create_here(staging, python, prompt or root.name, site_packages)
            else:
                scheme = parse_scheme(
                    run_python(
                        [
                            str(python),
                            "-I",
                            "-c",
                            CREATE_SCRIPT,
                            str(staging),
                            prompt or root.name,
                            "1" if site_packages else "0",
                        ],
                        f"create a virtual environment with `{python}`",
                    )
                )
            bundled = newest_pip(scheme.pop("pip_wheels", None) or [])
            if seed_pip and pip_wheel is None:
                pip_wheel = required_pip(python, bundled)
            _relocate(staging, root)
            _write_scheme_file(staging / SCHEME_FILE, scheme, _sha256(staging / "pyvenv.cfg"))
            if root.exists():
                root.rmdir()
            staging.rename(root)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError):
                raise InstallError(f"Could not create `{root}`: {exc}") from exc
            raise
        env = cls._from_scheme(root, scheme)
        if seed_pip and pip_wheel is not None:
            if seed_later:
                return dataclasses.replace(env, pending_pip=pip_wheel)
            try:
                seed_pip_wheel(env, pip_wheel, cache)
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                raise
        return env


def seed_pip_wheel(env: VirtualEnv, wheel: Path, cache: UnpackedCache | None) -> None:
    """Install the pip ``wheel`` into ``env`` (a new environment's seed)."""
    from pipfence.installer.wheel import install_wheel

    install_wheel(wheel, env, cache=cache)


def _is_running_interpreter(python: Path) -> bool:
    """Whether ``python`` is the very interpreter file this process runs on (its base, when
    pipfence runs in a virtual environment): a venv made here is the one it would make."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    try:
        return bool(base) and python.samefile(base)
    except OSError:
        return False


def _create_here(staging: Path, python: Path, prompt: str, site_packages: bool) -> dict[str, Any]:
    """`CREATE_SCRIPT`, run by this interpreter: make the venv at ``staging``, describe it, list
    the bundled pip wheels. ``pyvenv.cfg``'s ``command`` line names ``python``, as if it had run."""
    import venv

    options = ["--system-site-packages"] if site_packages else []
    venv.main(["--without-pip", *options, "--prompt", prompt, str(staging)])
    cfg = staging / "pyvenv.cfg"
    ran = f"command = {sys.executable} -m venv "
    lines = cfg.read_text(encoding="utf-8").splitlines(keepends=True)
    cfg.write_text(
        "".join(
            f"command = {python} -m venv {line[len(ran) :]}" if line.startswith(ran) else line
            for line in lines
        ),
        encoding="utf-8",
    )
    probe: dict[str, Any] = {}
    # Our own constant text, so the subprocess and this process share one definition.
    exec(compile(SCHEME_SCRIPT + PIP_WHEELS, "<pipfence venv probe>", "exec"), probe)  # noqa: S102
    info: dict[str, Any] = probe["describe"](os.path.abspath(staging))  # noqa: PTH100
    info["pip_wheels"] = probe["pip_wheels"]()
    return parse_scheme(json.dumps(info))


def _cfg_key(line: str) -> str:
    key, sep, _ = line.partition("=")
    return key.strip().lower() if sep else ""


def _cfg_value(cfg: Path, key: str) -> str | None:
    try:
        lines = cfg.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if _cfg_key(line) == key:
            return line.partition("=")[2].strip().lower()
    return None


def _find_python(root: Path) -> Path:
    for candidate in (root / "bin" / "python", root / "Scripts" / "python.exe"):
        if candidate.exists():
            return candidate
    raise InstallError(f"`{root}` has no Python interpreter (bin/python or Scripts/python.exe)")


def _read_scheme_file(path: Path, cfg_hash: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("format") != _SCHEME_FORMAT
        or data.get("pyvenv_cfg_sha256") != cfg_hash
    ):
        return None
    try:
        return parse_scheme(json.dumps(data))
    except InstallError:
        return None


def _write_scheme_file(path: Path, scheme: Mapping[str, Any], cfg_hash: str) -> None:
    data = {**scheme, "format": _SCHEME_FORMAT, "pyvenv_cfg_sha256": cfg_hash}
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _relocate(staging: Path, root: Path) -> None:
    """Point the activation scripts and pyvenv.cfg of a staged venv at its final path."""
    old, new = str(staging).encode(), str(root).encode()
    candidates = [staging / "pyvenv.cfg"]
    for scripts in (staging / "bin", staging / "Scripts"):
        if scripts.is_dir():
            candidates.extend(p for p in scripts.iterdir() if p.name.lower().startswith("activ"))
    for file in candidates:
        if file.is_symlink() or not file.is_file():
            continue
        data = file.read_bytes()
        if old in data:
            file.write_bytes(data.replace(old, new))
