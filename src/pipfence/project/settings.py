"""Settings read once from the environment (pipenv's variables and pipfence's own)."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from pipfence.errors import UsageError
from pipfence.models.names import MIRROR_PREFIX, mirror_variable, shown

if TYPE_CHECKING:
    from pipfence.installer.cache import LinkMode
    from pipfence.models.urls import Routes

__all__ = [
    "ENVIRONMENT_VARIABLES",
    "MAX_SECONDS",
    "Settings",
    "arena_limit_chosen",
    "color_wanted",
    "env_flag",
    "is_true",
    "parse_count",
    "parse_seconds",
    "source_date_epoch",
]

#: Every variable pipfence reads, pipenv's names where pipenv has one, with what it does:
#: `pipfence --envs` prints this table. A variable read in this module is listed here (a
#: test holds the two together).
ENVIRONMENT_VARIABLES = {
    "PIPENV_PIPFILE": "path of the Pipfile to use instead of searching from the current folder",
    "PIPENV_MAX_DEPTH": "how many folders, the current one first, to search for a Pipfile (10)",
    "PIPENV_NO_INHERIT": "1 to take the Pipfile of the current folder only, never a parent's",
    "PIPENV_VENV_IN_PROJECT": "1 to keep the environment in the project's .venv, 0 never to",
    "WORKON_HOME": "folder holding environments that are not in their project",
    "PIPENV_CUSTOM_VENV_NAME": "name of the environment's folder under WORKON_HOME",
    "PIPENV_PYTHON": "Python to create the environment with",
    "PIPENV_DEFAULT_PYTHON_VERSION": "Python for a new environment when nothing else names one",
    "PIPENV_DEFAULT_CATEGORIES": "Pipfile tables a command works on when neither --dev nor "
    "--categories is given (comma or space separated)",
    "PIPENV_PYPI_MIRROR": "URL that replaces PyPI's for requests (the lock keeps PyPI's URL)",
    "PIPENV_IGNORE_VIRTUALENVS": "1 to ignore an activated environment (VIRTUAL_ENV)",
    "PIPENV_USE_SYSTEM": "1 to install into the Python on PATH, as --system does",
    "PIP_BREAK_SYSTEM_PACKAGES": "1 to let --system install into an externally managed "
    "Python (PEP 668), as pip needs it",
    "PIPENV_VERBOSE": "1 for verbose output",
    "PIPENV_DOTENV_LOCATION": "the .env file loaded before a command, instead of the "
    "project's own .env (its values win over the environment's, as pipenv loads it)",
    "PIPENV_DONT_LOAD_ENV": "1 not to load a .env file",
    "PIPFENCE_CACHE_DIR": "folder of pipfence's download and metadata cache",
    "XDG_CACHE_HOME": "the cache is XDG_CACHE_HOME/pipfence when PIPFENCE_CACHE_DIR is unset",
    "XDG_DATA_HOME": "WORKON_HOME is XDG_DATA_HOME/virtualenvs when unset",
    "XDG_CONFIG_HOME": "folder of pipfence/mirrors.toml (default ~/.config)",
    "PYENV_ROOT": "where pyenv's Pythons are looked for (default ~/.pyenv)",
    "ASDF_DATA_DIR": "where asdf's Pythons are looked for (default ~/.asdf)",
    "PIPFENCE_MIRROR_<SOURCE>": "mirror URL for one [[source]] (name upper-cased, - as _); "
    "also ~/.config/pipfence/mirrors.toml [mirrors]",
    "PIPFENCE_LINK_MODE": "auto (default: clone where the filesystem can, else hardlink), "
    "clone, copy or hardlink: how installed files come from the wheel cache; clone and copy "
    "give each environment its own files, hardlink shares them (an in-place edit in one "
    "environment reaches the others linked to it; the cache itself is re-checked)",
    "PIPFENCE_TIMEOUT": "seconds to wait for an index (connect and each read)",
    "PIPFENCE_RETRIES": "attempts per request (first one included)",
    "PIPFENCE_PAGE_MAX_AGE": "seconds a cached project page is used without asking the index",
    "PIPFENCE_PAGE_WORKERS": "processes that parse project pages beside pipfence's own "
    "during a lock (default: one a core beyond the first, at most 2; 0: none)",
    "PIPFENCE_AUDIT_URL": "base URL of an OSV-compatible API for `check` (like --service-url)",
    "PIPFENCE_HTTP": "httpx to use httpx instead of libcurl for requests",
    "HTTP_PROXY": "proxy for http:// URLs (http_proxy, lower-case, wins)",
    "HTTPS_PROXY": "proxy for https:// URLs (https_proxy, lower-case, wins)",
    "ALL_PROXY": "proxy for URLs whose scheme has none set (all_proxy wins)",
    "NO_PROXY": "hosts, domains (.corp), IPs, CIDR ranges or host:port reached directly; "
    "* for all (no_proxy wins)",
    "PIP_CERT": "CA bundle added to the system's trust store (so are REQUESTS_CA_BUNDLE, "
    "CURL_CA_BUNDLE and SSL_CERT_FILE: every one set is added)",
    "REQUESTS_CA_BUNDLE": "CA bundle added to the system's trust store",
    "CURL_CA_BUNDLE": "CA bundle added to the system's trust store",
    "SSL_CERT_FILE": "CA bundle added to the system's trust store",
    "SSL_CERT_DIR": "folder of hashed CA certificates added to the trust store",
    "PIPFENCE_CA_MODE": "add (default): the CA variables add to the system's store; replace: "
    "they are the whole store",
    "PIPFENCE_CA_BUNDLE_<SOURCE>": "CA bundle added for one [[source]]'s host only "
    "(name upper-cased, - as _)",
    "PIP_CLIENT_CERT": "PEM file with a client certificate and its key, for servers that ask",
    "PIPFENCE_CLIENT_CERT_<SOURCE>": "client certificate for one [[source]]'s host, instead",
    "PIPENV_KEYRING_PROVIDER": "auto (default), import, subprocess or disabled: where keyring "
    "credentials come from (also PIP_KEYRING_PROVIDER)",
    "NO_COLOR": "set to turn colour off",
    "SOURCE_DATE_EPOCH": "the date `--man` shows (reproducible builds)",
    "MALLOC_ARENA_MAX": "when set, pipfence leaves glibc's arena count to it (else 2)",
}

#: The longest wait any timeout or age setting may ask for: a day.
MAX_SECONDS = 86400.0

_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n", ""})


def _boolean(value: str) -> bool | None:
    """The one reading of a boolean word (``1``/``true``/``yes``/``on``/``y`` and their
    opposites, any case, the empty string false); None for anything else."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _max_depth(environ: Mapping[str, str], value: str) -> int:
    """How many folders to search for the Pipfile, as pipenv counts them: ``PIPENV_MAX_DEPTH``
    (the current folder is the first), 1 with ``PIPENV_NO_INHERIT`` set (to anything but a
    false word, as pipenv reads it)."""
    depth = parse_count(value, "PIPENV_MAX_DEPTH", minimum=0, maximum=1000)
    no_inherit = environ.get("PIPENV_NO_INHERIT", "")
    return 1 if no_inherit and _boolean(no_inherit) is not False else depth


def env_flag(environ: Mapping[str, str], name: str) -> bool | None:
    """pipenv's reading of a boolean variable: ``PIPENV_X`` true/false, ``PIPENV_NO_X`` negates.

    None when neither is set (or the value is not a boolean word).
    """
    value = environ.get(f"PIPENV_{name}")
    if value is not None:
        return _boolean(value)
    negated = environ.get(f"PIPENV_NO_{name}")
    if negated is not None:
        found = _boolean(negated)
        return None if found is None else not found
    return None


def is_true(environ: Mapping[str, str], name: str) -> bool:
    """Whether the boolean variable ``name`` (read as `env_flag` reads its words) is set true."""
    return _boolean(environ.get(name, "")) is True


def color_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """False when ``NO_COLOR`` is set (to anything, as no-color.org says); read from the
    process environment by default, since output starts before the settings are read."""
    return "NO_COLOR" not in (os.environ if environ is None else environ)


def source_date_epoch(environ: Mapping[str, str] | None = None) -> int | None:
    """``SOURCE_DATE_EPOCH`` (reproducible builds: the date a generated manual page shows),
    None when unset or not a whole number."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.isdigit() else None


def arena_limit_chosen(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user set ``MALLOC_ARENA_MAX`` (glibc's own variable), which pipfence then
    leaves to the C library."""
    return "MALLOC_ARENA_MAX" in (os.environ if environ is None else environ)


class Settings(NamedTuple):
    """Everything the use cases need from the process environment, captured once.

    A named tuple, not a dataclass: every command builds one first, and `pipfence run` is
    a launcher whose start-up should not pay for the `dataclasses` module (tens of
    milliseconds with what it imports). Built by keyword (`from_environ`); changed copies come
    from ``_replace``."""

    environ: Mapping[str, str]
    cwd: Path
    workon_home: Path
    cache_dir: Path
    pipfile: Path | None = None
    max_depth: int = 10
    venv_in_project: bool | None = None
    custom_venv_name: str | None = None
    python: str | None = None
    #: ``PIPENV_DEFAULT_PYTHON_VERSION``: the Python a new environment gets when neither the
    #: command line, ``PIPENV_PYTHON`` nor the Pipfile's ``[requires]`` names one.
    default_python: str | None = None
    pypi_mirror: str | None = None
    verbose: bool = False
    quiet: bool = False
    mirrors: Mapping[str, str] = MappingProxyType({})
    #: ``PIPFENCE_TIMEOUT``, ``PIPFENCE_RETRIES``, ``PIPFENCE_PAGE_MAX_AGE``; None: unset.
    timeout: float | None = None
    retries: int | None = None
    page_max_age: float | None = None
    #: ``PIPFENCE_PAGE_WORKERS``: processes that parse project pages (0: none); None: unset.
    page_workers: int | None = None
    link_mode: LinkMode = "auto"
    #: ``PIPENV_IGNORE_VIRTUALENVS``: an activated environment (``VIRTUAL_ENV``) is not the
    #: project's.
    ignore_virtualenvs: bool = False
    #: ``PIPENV_USE_SYSTEM``: install into the Python on PATH, as ``--system``.
    use_system: bool = False
    #: ``PIP_BREAK_SYSTEM_PACKAGES``: ``--system`` may install into an externally managed
    #: Python (PEP 668).
    break_system_packages: bool = False
    #: ``PIPENV_DEFAULT_CATEGORIES``, as written (comma or space separated); None: unset.
    default_categories: str | None = None
    #: ``PIPFENCE_AUDIT_URL``: the OSV-compatible service `check` asks; None: unset.
    audit_url: str | None = None

    def __repr__(self) -> str:
        # The environment is left out: it holds the credentials of index URLs.
        shown_fields = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(self._fields, self, strict=True)
            if name != "environ"
        )
        return f"Settings({shown_fields})"

    @property
    def search_path(self) -> str:
        """``PATH``, where commands and interpreters are looked up (the system's default
        search path when unset)."""
        return self.environ.get("PATH", os.defpath)

    @property
    def python_install_roots(self) -> tuple[Path, ...]:
        """Where pyenv and asdf keep the Pythons they installed, one folder a version:
        ``$PYENV_ROOT/versions`` (``~/.pyenv``) and ``$ASDF_DATA_DIR/installs/python``
        (``~/.asdf``)."""
        home = Path(self.environ.get("HOME") or "~").expanduser()
        return (
            Path(self.environ.get("PYENV_ROOT") or home / ".pyenv") / "versions",
            Path(self.environ.get("ASDF_DATA_DIR") or home / ".asdf") / "installs" / "python",
        )

    @property
    def routes(self) -> Routes:
        """Where each source's requests go (per-source mirror, PyPI mirror or own URL), with
        ``${VAR}`` expanded from this environment at the moment of use."""
        from pipfence.models.urls import Routes  # here: `run` and the like need no routes

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
        cwd = cwd or Path.cwd()
        pipfile = env.get("PIPENV_PIPFILE")
        max_depth = env.get("PIPENV_MAX_DEPTH") or "10"
        timeout = env.get("PIPFENCE_TIMEOUT")
        retries = env.get("PIPFENCE_RETRIES")
        page_max_age = env.get("PIPFENCE_PAGE_MAX_AGE")
        page_workers = env.get("PIPFENCE_PAGE_WORKERS")
        return cls(
            environ=env,
            cwd=cwd,
            pipfile=_pipfile_path(pipfile, cwd) if pipfile else None,
            max_depth=_max_depth(env, max_depth),
            venv_in_project=env_flag(env, "VENV_IN_PROJECT"),
            workon_home=_workon_home(env, cwd),
            custom_venv_name=env.get("PIPENV_CUSTOM_VENV_NAME") or None,
            python=env.get("PIPENV_PYTHON") or None,
            default_python=env.get("PIPENV_DEFAULT_PYTHON_VERSION") or None,
            pypi_mirror=pypi_mirror or env.get("PIPENV_PYPI_MIRROR") or None,
            cache_dir=_cache_dir(env),
            mirrors=_mirrors(env),
            link_mode=_link_mode(env),
            verbose=verbose or env.get("PIPENV_VERBOSE", "") not in ("", "0"),
            ignore_virtualenvs=env_flag(env, "IGNORE_VIRTUALENVS") is True,
            use_system=env_flag(env, "USE_SYSTEM") is True,
            break_system_packages=is_true(env, "PIP_BREAK_SYSTEM_PACKAGES"),
            default_categories=env.get("PIPENV_DEFAULT_CATEGORIES"),
            audit_url=env.get("PIPFENCE_AUDIT_URL") or None,
            quiet=quiet,
            timeout=parse_seconds(timeout, "PIPFENCE_TIMEOUT") if timeout else None,
            retries=parse_count(retries, "PIPFENCE_RETRIES", minimum=1, maximum=100)
            if retries
            else None,
            page_max_age=parse_seconds(page_max_age, "PIPFENCE_PAGE_MAX_AGE", zero=True)
            if page_max_age
            else None,
            page_workers=parse_count(page_workers, "PIPFENCE_PAGE_WORKERS", minimum=0, maximum=16)
            if page_workers
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


def _pipfile_path(value: str, cwd: Path) -> Path:
    """``PIPENV_PIPFILE`` made absolute against ``cwd`` with ``..`` taken out, symlinks kept,
    as pipenv makes it: the project's folder, and so its environment's name, is then the same
    from wherever the command runs."""
    return Path(os.path.normpath(cwd / Path(value).expanduser()))


def _workon_home(env: Mapping[str, str], cwd: Path) -> Path:
    value = env.get("WORKON_HOME")
    if value:
        # A relative one is taken from where the command runs, once: every path of the
        # environment (its scripts' shebangs, the no-op sync's key) is absolute.
        return cwd / Path(os.path.expandvars(value)).expanduser()
    data_home = env.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(data_home).expanduser() / "virtualenvs"


def _cache_dir(env: Mapping[str, str]) -> Path:
    value = env.get("PIPFENCE_CACHE_DIR")
    if value:
        return Path(value).expanduser()
    cache_home = env.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache_home).expanduser() / "pipfence"
