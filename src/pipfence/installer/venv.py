"""Virtual environments: create one, describe one, list what is installed in it.

An environment is described by its install scheme (where purelib, platlib, scripts, data and
headers go). The scheme comes from the environment's interpreter once, through one subprocess,
and is kept beside ``pyvenv.cfg`` in ``.pipfence-scheme.json`` with paths relative to the
environment, keyed by the sha256 of ``pyvenv.cfg``: a later sync reads it instead of starting
Python, and a changed interpreter (a new ``pyvenv.cfg``) makes it ask again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from pipfence.errors import InstallError
from pipfence.installer.satisfies import InstalledDist
from pipfence.models.names import NormalizedName, canonical_name

if TYPE_CHECKING:
    from pipfence.installer.cache import UnpackedCache

__all__ = ["SCHEME_FILE", "VirtualEnv", "bundled_pip_wheel", "read_installed"]

SCHEME_FILE = ".pipfence-scheme.json"
_SCHEME_FORMAT = 1
_SUBPROCESS_TIMEOUT = 120

# Defines describe(prefix): the install scheme of the venv at ``prefix``, with paths relative to
# it. Run by the base interpreter about a venv it just made (what `venv` itself does since 3.11:
# the "venv" sysconfig scheme), or by a venv's own interpreter about itself (sys.prefix). Older
# interpreters have no "venv" scheme; their venvs use posix_prefix / nt, which this falls back
# to. Kept compatible with Python 3.8; `create` also runs it in pipfence's own interpreter.
_SCHEME_SCRIPT = r"""
import json, os, platform, struct, sys, sysconfig
def describe(prefix):
    names = sysconfig.get_scheme_names()
    scheme = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
    keys = ("base", "platbase", "installed_base", "installed_platbase")
    paths = sysconfig.get_paths(scheme, vars=dict.fromkeys(keys, prefix))
    rel = {k: os.path.relpath(paths[k], prefix) for k in ("purelib", "platlib", "scripts", "data")}
    exe = "python.exe" if os.name == "nt" else "python"
    if os.name != "nt":
        kind = "posix"
    elif platform.machine().lower() in ("arm64", "aarch64"):
        kind = "win-arm64"
    else:
        kind = "win-amd64" if struct.calcsize("P") == 8 else "win-ia32"
    return {
        "paths": rel,
        "python": os.path.join(rel["scripts"], exe),
        "version": "%d.%d.%d" % sys.version_info[:3],
        "script_kind": kind,
    }
"""

# Defines pip_wheels(): the pip wheels bundled with the running interpreter (ensurepip's, or
# the distribution's WHEEL_PKG_DIR).
_PIP_WHEELS = r"""
def pip_wheels():
    import glob, os, sysconfig
    dirs = []
    try:
        import ensurepip
        dirs.append(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"))
    except ImportError:
        pass
    extra = sysconfig.get_config_var("WHEEL_PKG_DIR")
    if extra:
        dirs.append(extra)
    return [os.path.abspath(p) for d in dirs for p in glob.glob(os.path.join(d, "pip-*.whl"))]
"""

_DESCRIBE_SCRIPT = _SCHEME_SCRIPT + "print(json.dumps(describe(sys.prefix)))\n"

# Creates the venv at argv[1] with prompt argv[2] (argv[3] == "1": with the interpreter's own
# site-packages visible), then describes it and lists the bundled pip wheels: one interpreter
# start for all three.
_CREATE_SCRIPT = (
    r"""
import sys, venv
options = ["--system-site-packages"] if sys.argv[3:] == ["1"] else []
venv.main(["--without-pip", *options, "--prompt", sys.argv[2], sys.argv[1]])
"""
    + _SCHEME_SCRIPT
    + _PIP_WHEELS
    + "info = describe(os.path.abspath(sys.argv[1]))\n"
    + 'info["pip_wheels"] = pip_wheels()\nprint(json.dumps(info))\n'
)

_BUNDLED_PIP_SCRIPT = _PIP_WHEELS + 'print("\\n".join(pip_wheels()))\n'

# Run by an interpreter that is not a virtual environment (`pipfence install --system`):
# describes where pip would install for it (the platform's preferred "prefix" scheme, e.g.
# Debian's posix_local under /usr/local), with paths relative to sys.prefix, and names its
# EXTERNALLY-MANAGED marker (PEP 668) when it has one. Kept compatible with Python 3.8.
_SYSTEM_SCRIPT = r"""
import json, os, platform, struct, sys, sysconfig
prefix = sys.prefix
getter = getattr(sysconfig, "get_preferred_scheme", None)
scheme = getter("prefix") if getter else ("nt" if os.name == "nt" else "posix_prefix")
paths = sysconfig.get_paths(scheme)
rel = {k: os.path.relpath(paths[k], prefix) for k in ("purelib", "platlib", "scripts", "data")}
if os.name != "nt":
    kind = "posix"
elif platform.machine().lower() in ("arm64", "aarch64"):
    kind = "win-arm64"
else:
    kind = "win-amd64" if struct.calcsize("P") == 8 else "win-ia32"
marker = os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED")
print(json.dumps({
    "paths": rel,
    "python": os.path.relpath(sys.executable, prefix),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "script_kind": kind,
    "prefix": prefix,
    "venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
    "externally_managed": marker if os.path.isfile(marker) else None,
}))
"""


def _run(args: list[str], what: str) -> str:
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"Could not {what}: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise InstallError(f"Could not {what}: {detail[0]}")
    return done.stdout


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
        scheme = _parse_scheme(
            _run([str(python), "-I", "-S", "-c", _DESCRIBE_SCRIPT], f"query `{python}`")
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
        data = _parse_scheme(
            # Without -S: `site` is what sets sys.prefix to a virtual environment's folder.
            _run([str(python), "-I", "-c", _SYSTEM_SCRIPT], f"query `{python}`")
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
        (``venv --system-site-packages``). Raises `InstallError` when ``path`` exists and is not
        an empty folder, or when creation fails.
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
                scheme = _parse_scheme(
                    _run(
                        [
                            str(python),
                            "-I",
                            "-c",
                            _CREATE_SCRIPT,
                            str(staging),
                            prompt or root.name,
                            "1" if site_packages else "0",
                        ],
                        f"create a virtual environment with `{python}`",
                    )
                )
            bundled = _newest_pip(scheme.pop("pip_wheels", None) or [])
            if seed_pip and pip_wheel is None:
                pip_wheel = _required_pip(python, bundled)
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
            from pipfence.installer.wheel import install_wheel

            try:
                install_wheel(pip_wheel, env, cache=cache)
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                raise
        return env


def _is_running_interpreter(python: Path) -> bool:
    """Whether ``python`` is the very interpreter file this process runs on (its base, when
    pipfence runs in a virtual environment): a venv made here is the one it would make."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    try:
        return bool(base) and python.samefile(base)
    except OSError:
        return False


def _create_here(staging: Path, python: Path, prompt: str, site_packages: bool) -> dict[str, Any]:
    """`_CREATE_SCRIPT`, run by this interpreter: make the venv at ``staging``, describe it, list
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
    exec(compile(_SCHEME_SCRIPT + _PIP_WHEELS, "<pipfence venv probe>", "exec"), probe)  # noqa: S102
    info: dict[str, Any] = probe["describe"](os.path.abspath(staging))  # noqa: PTH100
    info["pip_wheels"] = probe["pip_wheels"]()
    return _parse_scheme(json.dumps(info))


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


def _parse_scheme(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
        paths = data["paths"]
        valid = all(isinstance(paths[k], str) for k in ("purelib", "platlib", "scripts", "data"))
        valid = valid and isinstance(data["python"], str) and isinstance(data["version"], str)
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InstallError(f"Could not read an install scheme from: {text[:200]!r}")
    return dict(data)


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
        return _parse_scheme(json.dumps(data))
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


def bundled_pip_wheel(python: Path) -> Path | None:
    """The newest pip wheel shipped with ``python`` (``ensurepip/_bundled`` or the distro's
    ``WHEEL_PKG_DIR``), or None when it has none. Costs one subprocess."""
    out = _run([str(python), "-I", "-S", "-c", _BUNDLED_PIP_SCRIPT], f"query `{python}`")
    return _newest_pip(out.splitlines())


def _required_pip(python: Path, bundled: Path | None) -> Path:
    if bundled is None:
        raise InstallError(
            f"`{python}` has no bundled pip wheel to seed the environment with",
            hint="pass a pip wheel, or create the environment without pip",
        )
    return bundled


def _newest_pip(paths: list[str]) -> Path | None:
    best: tuple[Any, Path] | None = None
    for line in paths:
        if not isinstance(line, str) or not line.strip():
            continue
        wheel = Path(line.strip())
        try:
            name, version, _, _ = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue
        if name == "pip" and (best is None or version > best[0]):
            best = (version, wheel)
    return None if best is None else best[1]


def _metadata_name_version(path: Path) -> tuple[str, str] | None:
    """Name and Version from a METADATA file's headers, reading no further than the headers."""
    name = version = None
    try:
        with path.open("rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    break
                key, sep, value = line.partition(":")
                if not sep:
                    continue
                key = key.strip().lower()
                if key == "name" and name is None:
                    name = value.strip()
                elif key == "version" and version is None:
                    version = value.strip()
                if name is not None and version is not None:
                    break
    except OSError:
        return None
    if not name or not version:
        return None
    return name, version


def _direct_url(path: Path) -> tuple[str | None, bool]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None, False
    if not isinstance(data, dict):
        return None, False
    url = data.get("url")
    dir_info = data.get("dir_info")
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return (url if isinstance(url, str) else None), editable


def read_dist_info(dist_info: Path) -> InstalledDist | None:
    """Describe one ``*.dist-info`` directory; None when its METADATA lacks Name or Version."""
    found = _metadata_name_version(dist_info / "METADATA")
    if found is None:
        return None
    installer = None
    with contextlib.suppress(OSError):
        installer = (dist_info / "INSTALLER").read_text(encoding="utf-8").strip() or None
    url, editable = _direct_url(dist_info / "direct_url.json")
    return InstalledDist(
        name=canonical_name(found[0]),
        version=found[1],
        dist_info=dist_info,
        installer=installer,
        editable=editable,
        url=url,
    )


def read_installed(site_dirs: tuple[Path, ...] | list[Path]) -> dict[NormalizedName, InstalledDist]:
    """Scan ``site_dirs`` for ``*.dist-info`` directories (METADATA headers only).

    When a name appears twice (a broken environment), the first directory in scan order wins;
    ``.egg-info`` installs are not reported.
    """
    found: dict[NormalizedName, InstalledDist] = {}
    for site in site_dirs:
        try:
            entries = sorted(e.name for e in os.scandir(site) if e.name.endswith(".dist-info"))
        except OSError:
            continue
        for entry in entries:
            dist = read_dist_info(site / entry)
            if dist is not None and dist.name not in found:
                found[dist.name] = dist
    return found
