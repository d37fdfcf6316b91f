"""Settings read once from the environment (pipenv's variables and pipfence's own)."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipfence.errors import UsageError
from pipfence.models.names import shown
from pipfence.models.urls import MIRROR_PREFIX, Routes, mirror_variable

if TYPE_CHECKING:
    from pipfence.installer.cache import LinkMode

__all__ = ["MAX_SECONDS", "Settings", "env_flag", "parse_count", "parse_seconds"]

#: The longest wait any timeout or age setting may ask for: a day.
MAX_SECONDS = 86400.0

_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n", ""})


def env_flag(environ: Mapping[str, str], name: str) -> bool | None:
    """pipenv's reading of a boolean variable: ``PIPENV_X`` true/false, ``PIPENV_NO_X`` negates.

    None when neither is set (or the value is not a boolean word).
    """
    value = environ.get(f"PIPENV_{name}")
    if value is not None:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return None
    negated = environ.get(f"PIPENV_NO_{name}")
    if negated is not None:
        lowered = negated.strip().lower()
        if lowered in _TRUE:
            return False
        if lowered in _FALSE:
            return True
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the use cases need from the process environment, captured once."""

    environ: Mapping[str, str] = field(repr=False)
    cwd: Path
    pipfile: Path | None = None
    max_depth: int = 10
    venv_in_project: bool | None = None
    workon_home: Path
    custom_venv_name: str | None = None
    python: str | None = None
    #: ``PIPENV_DEFAULT_PYTHON_VERSION``: the Python a new environment gets when neither the
    #: command line, ``PIPENV_PYTHON`` nor the Pipfile's ``[requires]`` names one.
    default_python: str | None = None
    pypi_mirror: str | None = None
    cache_dir: Path
    verbose: bool = False
    quiet: bool = False
    mirrors: Mapping[str, str] = field(default_factory=dict)
    #: ``PIPFENCE_TIMEOUT``, ``PIPFENCE_RETRIES``, ``PIPFENCE_PAGE_MAX_AGE``; None: unset.
    timeout: float | None = None
    retries: int | None = None
    page_max_age: float | None = None
    link_mode: LinkMode = "auto"

    @property
    def routes(self) -> Routes:
        """Where each source's requests go (per-source mirror, PyPI mirror or own URL), with
        ``${VAR}`` expanded from this environment at the moment of use."""
        return Routes(self.environ, pypi_mirror=self.pypi_mirror, mirrors=self.mirrors)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        pypi_mirror: str | None = None,
        verbose: bool = False,
        quiet: bool = False,
    ) -> Settings:
        """Read pipenv's variables (``PIPENV_PIPFILE``, ``PIPENV_VENV_IN_PROJECT``,
        ``WORKON_HOME``, ``PIPENV_PYPI_MIRROR``, …) and ``PIPFENCE_CACHE_DIR``.

        ``pypi_mirror`` from the command line wins over ``PIPENV_PYPI_MIRROR``. A numeric
        variable that is set (not empty) to something other than a number in its range is a
        `UsageError` naming it: a typo must not silently mean the default.
        """
        env = dict(os.environ if environ is None else environ)
        pipfile = env.get("PIPENV_PIPFILE")
        max_depth = env.get("PIPENV_MAX_DEPTH") or "10"
        timeout = env.get("PIPFENCE_TIMEOUT")
        retries = env.get("PIPFENCE_RETRIES")
        page_max_age = env.get("PIPFENCE_PAGE_MAX_AGE")
        return cls(
            environ=env,
            cwd=cwd or Path.cwd(),
            pipfile=Path(pipfile).expanduser().absolute() if pipfile else None,
            max_depth=parse_count(max_depth, "PIPENV_MAX_DEPTH", minimum=0, maximum=1000),
            venv_in_project=env_flag(env, "VENV_IN_PROJECT"),
            workon_home=_workon_home(env),
            custom_venv_name=env.get("PIPENV_CUSTOM_VENV_NAME") or None,
            python=env.get("PIPENV_PYTHON") or None,
            default_python=env.get("PIPENV_DEFAULT_PYTHON_VERSION") or None,
            pypi_mirror=pypi_mirror or env.get("PIPENV_PYPI_MIRROR") or None,
            cache_dir=_cache_dir(env),
            mirrors=_mirrors(env),
            link_mode=_link_mode(env),
            verbose=verbose or env.get("PIPENV_VERBOSE", "") not in ("", "0"),
            quiet=quiet,
            timeout=parse_seconds(timeout, "PIPFENCE_TIMEOUT") if timeout else None,
            retries=parse_count(retries, "PIPFENCE_RETRIES", minimum=1, maximum=100)
            if retries
            else None,
            page_max_age=parse_seconds(page_max_age, "PIPFENCE_PAGE_MAX_AGE", zero=True)
            if page_max_age
            else None,
        )


def parse_seconds(value: str, what: str, *, zero: bool = False) -> float:
    """``value`` as a number of seconds for setting ``what`` (a variable or an option): finite,
    above 0 (or 0 itself with ``zero``) and at most `MAX_SECONDS`; `UsageError` otherwise."""
    lowest = "from 0" if zero else "above 0"
    problem = f"{what} must be a number of seconds {lowest} up to {MAX_SECONDS:.0f}"
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{problem}, not `{shown(value)}`") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        raise UsageError(f"{problem}, not `{shown(value)}`")
    if number > MAX_SECONDS:
        raise UsageError(f"{problem}, not `{shown(value)}`")
    return number


def parse_count(value: str, what: str, *, minimum: int, maximum: int) -> int:
    """``value`` as a whole number from ``minimum`` to ``maximum`` for setting ``what``;
    `UsageError` otherwise."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not minimum <= int(text) <= maximum:
        raise UsageError(
            f"{what} must be a whole number from {minimum} to {maximum}, not `{shown(value)}`"
        )
    return int(text)


def _mirrors(env: Mapping[str, str]) -> dict[str, str]:
    """Per-source mirrors from ``PIPFENCE_MIRROR_<SOURCE>`` variables and from the user's
    ``pipfence/mirrors.toml`` (``[mirrors]`` table: source name = URL); variables win.
    Keyed by the variable-safe form of the name (`mirror_variable`), as `Routes` looks them up."""
    found: dict[str, str] = {}
    config_home = Path(env.get("XDG_CONFIG_HOME") or "~/.config").expanduser()
    config = config_home / "pipfence" / "mirrors.toml"
    try:
        with config.open("rb") as handle:
            table = tomllib.load(handle).get("mirrors", {})
    except (OSError, tomllib.TOMLDecodeError, RecursionError):
        table = {}
    if isinstance(table, Mapping):
        for name, url in table.items():
            if isinstance(url, str) and url:
                found[mirror_variable(str(name))] = url
    found.update({k: v for k, v in env.items() if k.startswith(MIRROR_PREFIX) and v})
    return found


def _link_mode(env: Mapping[str, str]) -> LinkMode:
    """``PIPFENCE_LINK_MODE``: how installed files come from the unpacked-wheel cache."""
    value = env.get("PIPFENCE_LINK_MODE", "").strip().lower() or "auto"
    # The names of `pipfence.installer.cache.LINK_MODES`, spelled here so that reading the
    # settings does not import the installer.
    modes: tuple[LinkMode, ...] = ("auto", "clone", "copy", "hardlink")
    for mode in modes:
        if value == mode:
            return mode
    raise UsageError(
        f"PIPFENCE_LINK_MODE is {value!r}; it must be one of {', '.join(modes)}",
        hint="auto (the default) clones where the filesystem can and hard-links elsewhere; "
        "clone and copy always give each environment files of its own",
    )


def _workon_home(env: Mapping[str, str]) -> Path:
    value = env.get("WORKON_HOME")
    if value:
        return Path(os.path.expandvars(value)).expanduser()
    data_home = env.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(data_home).expanduser() / "virtualenvs"


def _cache_dir(env: Mapping[str, str]) -> Path:
    value = env.get("PIPFENCE_CACHE_DIR")
    if value:
        return Path(value).expanduser()
    cache_home = env.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache_home).expanduser() / "pipfence"
