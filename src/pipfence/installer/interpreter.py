"""What pipfence asks an interpreter, and how: the small scripts it runs (describing a venv's
install scheme, creating a venv, listing the bundled pip wheels, describing a system
interpreter), running them (`run_python`), reading the scheme they print (`parse_scheme`), and
choosing the pip wheel an environment is seeded with.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from pipfence.errors import InstallError

__all__ = [
    "CREATE_SCRIPT",
    "DESCRIBE_SCRIPT",
    "PIP_WHEELS",
    "SCHEME_SCRIPT",
    "SYSTEM_SCRIPT",
    "bundled_pip_wheel",
    "newest_pip",
    "parse_scheme",
    "required_pip",
    "run_python",
]


_SUBPROCESS_TIMEOUT = 120


# Defines describe(prefix): the install scheme of the venv at ``prefix``, with paths relative to
# it. Run by the base interpreter about a venv it just made (what `venv` itself does since 3.11:
# the "venv" sysconfig scheme), or by a venv's own interpreter about itself (sys.prefix). Older
# interpreters have no "venv" scheme; their venvs use posix_prefix / nt, which this falls back
# to. Kept compatible with Python 3.8; `VirtualEnv.create` also runs it in pipfence's own
# interpreter.
SCHEME_SCRIPT = r"""
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
PIP_WHEELS = r"""
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

DESCRIBE_SCRIPT = SCHEME_SCRIPT + "print(json.dumps(describe(sys.prefix)))\n"

# Creates the venv at argv[1] with prompt argv[2] (argv[3] == "1": with the interpreter's own
# site-packages visible), then describes it and lists the bundled pip wheels: one interpreter
# start for all three.
CREATE_SCRIPT = (
    r"""
import sys, venv
options = ["--system-site-packages"] if sys.argv[3:] == ["1"] else []
venv.main(["--without-pip", *options, "--prompt", sys.argv[2], sys.argv[1]])
"""
    + SCHEME_SCRIPT
    + PIP_WHEELS
    + "info = describe(os.path.abspath(sys.argv[1]))\n"
    + 'info["pip_wheels"] = pip_wheels()\nprint(json.dumps(info))\n'
)

_BUNDLED_PIP_SCRIPT = PIP_WHEELS + 'print("\\n".join(pip_wheels()))\n'

# Run by an interpreter that is not a virtual environment (`pipfence install --system`):
# describes where pip would install for it (the platform's preferred "prefix" scheme, e.g.
# Debian's posix_local under /usr/local), with paths relative to sys.prefix, and names its
# EXTERNALLY-MANAGED marker (PEP 668) when it has one. Kept compatible with Python 3.8.
SYSTEM_SCRIPT = r"""
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


def run_python(args: list[str], what: str) -> str:
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


def parse_scheme(text: str) -> dict[str, Any]:
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


def bundled_pip_wheel(python: Path) -> Path | None:
    """The newest pip wheel shipped with ``python`` (``ensurepip/_bundled`` or the distro's
    ``WHEEL_PKG_DIR``), or None when it has none. Costs one subprocess."""
    out = run_python([str(python), "-I", "-S", "-c", _BUNDLED_PIP_SCRIPT], f"query `{python}`")
    return newest_pip(out.splitlines())


def required_pip(python: Path, bundled: Path | None) -> Path:
    if bundled is None:
        raise InstallError(
            f"`{python}` has no bundled pip wheel to seed the environment with",
            hint="pass a pip wheel, or create the environment without pip",
        )
    return bundled


def newest_pip(paths: list[str]) -> Path | None:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # seldom needed

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
