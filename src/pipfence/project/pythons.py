"""Finding Python interpreters: the one an environment is made with (`find_python`) and every
one installed here (`installed_pythons`, for ``--support``), on PATH and among pyenv's and
asdf's installs, each asked its version by running it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.errors import UsageError
from pipfence.models.interpreters import LOWEST_PYTHON, probed_version, too_old

if TYPE_CHECKING:
    from pipfence.project.settings import Settings

__all__ = [
    "find_python",
    "installed_pythons",
    "is_version",
    "python_version_of",
    "version_matches",
]

_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
#: Asks an interpreter its version. Started with ``-E -S`` (no PYTHON* variables, no site)
#: rather than ``-I``, which Python 2 refuses: a Python 2 then says what it is, and is refused
#: by name instead of being taken for no Python at all.
_PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
_LOWEST = ".".join(str(part) for part in LOWEST_PYTHON)
_TOO_OLD_HINT = (
    f"install Python {_LOWEST} or later and ask for it ([requires] python_version, or --python)"
)


def is_version(wanted: str) -> bool:
    """Whether ``wanted`` names a version (``3``, ``3.11``, ``3.11.7``), not a command or path."""
    return bool(_VERSION.match(wanted))


def version_matches(found: str, wanted: str) -> bool:
    """Whether version ``found`` (``3.11.7``) is the ``wanted`` one (``3.11.7``, ``3.11``,
    ``3``)."""
    return found == wanted or found.startswith(wanted + ".")


def _probe(python: Path) -> tuple[str | None, str]:
    """What ``python`` says its version is (None when it says none) and, when it says none,
    why: the first line it wrote to stderr (a pyenv shim's ``command not found``), or its
    exit status."""
    try:
        done = subprocess.run(
            [str(python), "-E", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    version = probed_version(done.stdout) if done.returncode == 0 else None
    if version is not None:
        return version, ""
    said = done.stderr.strip().splitlines()[:1] or [f"exit status {done.returncode}"]
    return None, said[0]


def python_version_of(python: Path) -> str | None:
    """The full version of interpreter ``python`` (``3.11.7``), or None when it does not run
    or prints something else than a version (a pyenv shim of a version not selected)."""
    return _probe(python)[0]


def find_python(wanted: str | None, settings: Settings, *, asked_by: str | None = None) -> Path:
    """The interpreter to create the environment with.

    ``wanted`` is a version (``3.11``, ``3.11.7``), a command or a path; None means the Python
    running pipfence. Versions are looked up as ``pythonX.Y`` on the settings' PATH (then
    ``python3``, ``python``), then among pyenv's and asdf's installs. Raises `UsageError`
    naming the version when none is found, and naming the interpreter when the one found or
    named is older than `LOWEST_PYTHON` or does not run as Python. ``asked_by`` names where
    ``wanted`` came from (``--python``, the Pipfile's ``[requires]``) for that message.
    """
    if wanted is None:
        return Path(sys.executable)
    if not is_version(wanted):
        try:
            return _named_python(wanted, settings.search_path)
        except UsageError:
            # `python3.10` as pipenv takes it: a version, when the command PATH gives (a
            # pyenv shim of a version not selected) is not that Python.
            versioned = _VERSIONED_COMMAND.fullmatch(wanted)
            if versioned is None:
                raise
            return find_python(versioned.group(1), settings, asked_by=asked_by)
    current = ".".join(str(part) for part in sys.version_info[:3])
    if version_matches(current, wanted):
        return Path(sys.executable)
    old: list[tuple[Path, str]] = []
    for candidate in _candidates(wanted, settings):
        version = python_version_of(candidate)
        if version is None or not version_matches(version, wanted):
            continue
        if not too_old(version):
            return candidate
        old.append((candidate, version))
    if old:
        path, version = old[0]
        raise UsageError(
            f"Python {wanted} was found at `{path}` (Python {version}), but pipfence cannot "
            f"make an environment with it: it needs Python {_LOWEST} or later",
            hint=_TOO_OLD_HINT,
        )
    why = f" ({asked_by} asks for it)" if asked_by else ""
    raise UsageError(
        f"Python {wanted} was not found on PATH, nor among pyenv's or asdf's installs{why}",
        hint="install it, or pass --python with another version or a path",
    )


#: A command named after its version (``python3.10``, ``python3``, ``python2``).
_VERSIONED_COMMAND = re.compile(r"python(\d+(?:\.\d+)?)")


def _named_python(wanted: str, search_path: str) -> Path:
    """The interpreter command or path ``wanted``, once it has said which Python it is."""
    located = shutil.which(wanted, path=search_path)
    if located is None and Path(wanted).is_file():
        located = wanted
    if located is None:
        raise UsageError(f"Python `{wanted}` was not found")
    python = Path(located)
    if python == Path(sys.executable):
        return python
    version, why = _probe(python)
    if version is None:
        raise UsageError(
            f"`{python}` cannot make an environment: it did not run as Python to say its "
            f"version ({why})",
            hint="pass --python with a Python interpreter's version or path",
        )
    if too_old(version):
        raise UsageError(
            f"`{python}` is Python {version}, which pipfence cannot make an environment with: "
            f"it needs Python {_LOWEST} or later",
            hint=_TOO_OLD_HINT,
        )
    return python


def _candidates(wanted: str, settings: Settings) -> Iterator[Path]:
    """Where an interpreter of version ``wanted`` may be, in the order they are tried."""
    parts = wanted.split(".")
    commands = [f"python{parts[0]}.{parts[1]}"] if len(parts) > 1 else []
    for command in [*commands, "python3", "python"]:
        located = shutil.which(command, path=settings.search_path)
        if located is not None:
            yield Path(located)
    yield from _managed_installs(wanted, settings.python_install_roots)


def _command(version: str) -> str:
    """``pythonX.Y`` for a version ``X.Y[.Z]``, ``pythonX`` for ``X``."""
    parts = version.split(".")
    return f"python{parts[0]}.{parts[1]}" if len(parts) > 1 else f"python{parts[0]}"


def _managed_installs(wanted: str | None, roots: Sequence[Path]) -> list[Path]:
    """Interpreters of version ``wanted`` (of every version when None) installed by pyenv or
    asdf (as pipenv finds them), newest first: ``ROOT/X.Y.Z/bin/pythonX.Y`` under each of
    ``roots`` (`Settings.python_install_roots`)."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for root in roots:
        try:
            entries = list(root.iterdir())
        except OSError:
            continue
        for entry in entries:
            numbers = entry.name.split(".")
            if not all(n.isdigit() for n in numbers):
                continue
            if wanted is not None and not version_matches(entry.name, wanted):
                continue
            binary = entry / "bin" / _command(wanted or entry.name)
            if binary.is_file():
                found.append((tuple(int(n) for n in numbers), binary))
    return [path for _, path in sorted(found, reverse=True)]


def installed_pythons(settings: Settings) -> list[tuple[str, Path]]:
    """``(version, path)`` of every interpreter found here: each ``python3.X``, ``python3`` and
    ``python`` on PATH, then each of pyenv's and asdf's installs (newest first). One that does
    not say its version when run (a pyenv shim of a version that is not selected) is left out;
    one file reached by several names is listed once."""
    names = [f"python3.{minor}" for minor in range(20, 5, -1)] + ["python3", "python"]
    on_path = [shutil.which(name, path=settings.search_path) for name in names]
    candidates = [Path(p) for p in on_path if p is not None]
    candidates += _managed_installs(None, settings.python_install_roots)
    seen: set[str] = set()
    found: list[tuple[str, Path]] = []
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if real in seen:
            continue
        seen.add(real)
        version = python_version_of(candidate)
        if version is not None:
            found.append((version, candidate))
    return found
