"""The Pipfile as data: sources, package entries by category, requirements, settings.

Each entry is a `pipfence.models.package_spec.PackageSpec`.

Parsing works on the decoded TOML (a plain mapping) plus, optionally, the text it came from so
errors can name a line. Reading and writing files belongs to the project layer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from pipfence.errors import PipfileError
from pipfence.models.fence import Fence
from pipfence.models.names import NormalizedName, canonical_name, shown
from pipfence.models.package_spec import PackageSpec, guess, unknown_keys
from pipfence.models.pipfile_text import LineFinder, decode_pipfile, table_of
from pipfence.models.sources import PYPI_SOURCE, Source, SourceTableError

__all__ = [
    "CONFUSION_CHECK_SETTING",
    "COOL_DOWN_SETTING",
    "LOCK_CATEGORY",
    "RESERVED_TABLES",
    "Pipfile",
    "lock_category",
    "pipfile_hash",
    "pipfile_table",
]

#: Tables that are not package categories.
#: The ``[pipenv]`` setting that turns the dependency-confusion stop off (rule 3's last case).
CONFUSION_CHECK_SETTING = "pipfence_confusion_check"

RESERVED_TABLES = frozenset({"source", "requires", "scripts", "pipfile", "pipenv"})

#: Pipfile table → category name in Pipfile.lock.
LOCK_CATEGORY = {"packages": "default", "dev-packages": "develop"}


#: ``[pipenv]`` keys pipfence acts on.
READ_SETTINGS = frozenset(
    {
        "allow_prereleases",
        "install_search_all_sources",
        "venv_in_project",
        "pipfence_confusion_check",
        "sort_pipfile",
        "cool-down-period",
        "use_pylock",
        "pylock_name",
    }
)

#: The ``[pipenv]`` setting that holds back releases younger than a number of days.
COOL_DOWN_SETTING = "cool-down-period"
_COOL_DOWN = re.compile(r"(\d+)d")

#: ``[pipenv]`` keys pipenv knows and pipfence does not act on, with what that means.
IGNORED_SETTINGS = {
    "disable_pip_input": "pipfence never waits for input from pip",
    "skip_resolver": "pipfence always resolves",
}


def lock_category(table: str) -> str:
    """The Pipfile.lock category for Pipfile table ``table``."""
    return LOCK_CATEGORY.get(table, table)


def pipfile_table(category: str) -> str:
    """The Pipfile table for Pipfile.lock category ``category`` (`lock_category` reversed)."""
    return next((t for t, c in LOCK_CATEGORY.items() if c == category), category)


class Pipfile(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed Pipfile. ``categories`` are keyed by table name, in file order."""

    path: str = "Pipfile"
    data: Mapping[str, Any]
    sources: tuple[Source, ...] = ()
    categories: Mapping[str, Mapping[NormalizedName, PackageSpec]] = msgspec.field(
        default_factory=dict
    )
    requires: Mapping[str, Any] = msgspec.field(default_factory=dict)
    settings: Mapping[str, Any] = msgspec.field(default_factory=dict)
    scripts: Mapping[str, Any] = msgspec.field(default_factory=dict)
    #: What is in the file but read by nobody (a misspelled key, a pipenv setting pipfence does
    #: not act on), as ``path:line: message`` lines for the command to print.
    warnings: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, *, path: str = "Pipfile") -> Pipfile:
        """Decode TOML ``text`` and build the model; `PipfileError` with a line on failure."""
        data = decode_pipfile(text, path=path)
        return cls.from_dict(data, path=path, text=text)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], /, *, path: str = "Pipfile", text: str = ""
    ) -> Pipfile:
        """Build from decoded TOML; ``text`` (optional) lets errors name a line."""
        lines = LineFinder(text)
        sources = _parse_sources(data, path, lines)
        warnings: list[str] = []
        categories: dict[str, dict[NormalizedName, PackageSpec]] = {}
        for table, entries in data.items():
            if table in RESERVED_TABLES:
                continue
            if not isinstance(entries, Mapping):
                raise PipfileError(
                    f"[{shown(table)}] must be a table of packages",
                    path=path,
                    line=lines.table(table),
                )
            categories[table] = _parse_packages(table, entries, path, lines, warnings)
        requires = _parse_requires(data, path, lines, warnings)
        settings = _parse_settings(data, path, lines, warnings)
        return cls(
            path=path,
            data=data,
            sources=sources,
            categories=categories,
            requires=requires,
            settings=settings,
            scripts=table_of(data, "scripts", path, lines),
            warnings=tuple(warnings),
        )

    @property
    def effective_sources(self) -> tuple[Source, ...]:
        """The declared sources, or PyPI alone when there are none."""
        return self.sources or (PYPI_SOURCE,)

    def iter_specs(self, tables: list[str] | None = None) -> Iterator[tuple[str, PackageSpec]]:
        """(table, spec) for every entry of the given tables (all when None)."""
        for table, specs in self.categories.items():
            if tables is None or table in tables:
                for spec in specs.values():
                    yield table, spec

    def fence(self, tables: Iterable[str] | None = None) -> Fence:
        """The fence under which ``tables`` (Pipfile table names; every table when None) are
        resolved and installed: their ``index`` pins and those of ``[packages]``, which is
        resolved alongside every table. Every name the Pipfile lists, in any table, counts
        as named (rule 2).

        Raises `PipfileError` for an ``index=`` naming no source, listing the valid names, and
        for one package pinned to two different sources in two of those tables (two custom
        tables may pin it differently: see `fence_groups`).
        """
        sources = self.effective_sources
        names = {s.name for s in sources}
        chosen = None if tables is None else {"packages", *tables}
        pins: dict[NormalizedName, str] = {}
        named: set[NormalizedName] = set()
        for table, spec in self.iter_specs():
            named.add(spec.key)
            if spec.index is None:
                continue
            if spec.index not in names:
                valid = ", ".join(f"`{s.name}`" for s in sources)
                raise PipfileError(
                    f"`{spec.name}` in [{table}] asks for index `{spec.index}`, "
                    f"but no source has that name; the sources are {valid}",
                    path=self.path,
                    line=spec.line,
                    key=spec.name,
                )
            if chosen is not None and table not in chosen:
                continue
            if pins.setdefault(spec.key, spec.index) != spec.index:
                raise PipfileError(
                    f"`{spec.name}` is pinned to both `{pins[spec.key]}` and `{spec.index}`",
                    path=self.path,
                    line=spec.line,
                    key=spec.name,
                    hint="a package has one index in [packages] and every table resolved "
                    "with it; two other tables may pin it differently, and are then locked "
                    "and installed apart",
                )
        return Fence(
            sources,
            pins,
            frozenset(named),
            confusion_check=self.setting(CONFUSION_CHECK_SETTING, default=True),
        )

    def fence_groups(self, tables: Iterable[str] | None = None) -> list[list[str]]:
        """``tables`` (every table when None) split into groups that share one fence: each
        group's ``index`` pins agree (with ``[packages]``'), so it is resolved in one pass.
        One group unless two tables pin a package to different sources (``[cpu] torch``
        from one index, ``[gpu] torch`` from another), as pipenv resolves every category on
        its own. Tables keep their order; `PipfileError` as in `fence`."""
        groups: list[tuple[list[str], dict[NormalizedName, str]]] = []
        for table in self.categories if tables is None else tables:
            own = dict(self.fence([table]).pins)
            for members, pins in groups:
                if all(pins.get(name, index) == index for name, index in own.items()):
                    members.append(table)
                    pins.update(own)
                    break
            else:
                groups.append(([table], own))
        return [members for members, _pins in groups]

    @property
    def cool_down(self) -> dt.timedelta | None:
        """``[pipenv] cool-down-period`` (``"30d"``): how old a release must be to be
        locked; None when unset or ``"0d"``."""
        days = _cool_down_days(self.settings.get(COOL_DOWN_SETTING))
        return dt.timedelta(days=days) if days else None

    def setting(self, key: str, default: bool = False) -> bool:
        """A boolean ``[pipenv]`` setting (pipenv accepts strings such as "true" too)."""
        value = self.settings.get(key, default)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)


def _cool_down_days(value: object) -> int | None:
    """The days of a ``cool-down-period`` value (``"30d"``, pipenv's only form), else None."""
    if not isinstance(value, str):
        return None
    match = _COOL_DOWN.fullmatch(value.strip())
    return int(match.group(1)) if match else None


def _parse_packages(
    table: str, entries: Mapping[str, Any], path: str, lines: LineFinder, warnings: list[str]
) -> dict[NormalizedName, PackageSpec]:
    """One package table (``[packages]``, ``[dev-packages]``, a custom category) by normalised
    name; keys its entries do not use are added to ``warnings``."""
    specs: dict[NormalizedName, PackageSpec] = {}
    for name, value in entries.items():
        line = lines.key(table, name)
        if isinstance(value, Mapping):
            warnings.extend(unknown_keys(value, name, table, f"{path}:{line or '?'}"))
        try:
            spec = PackageSpec.from_entry(name, value, line=line)
        except ValueError as exc:
            raise PipfileError(
                f"{exc} in [{shown(table)}]", path=path, line=line, key=name
            ) from None
        if spec.key in specs:
            raise PipfileError(
                f"`{name}` appears twice in [{table}] (as `{specs[spec.key].name}` too)",
                path=path,
                line=line,
                key=name,
            )
        specs[spec.key] = spec
    return specs


def _parse_requires(
    data: Mapping[str, Any], path: str, lines: LineFinder, warnings: list[str]
) -> Mapping[str, Any]:
    """The ``[requires]`` table, its Python versions checked; a ``python_version`` that
    ``python_full_version`` contradicts is added to ``warnings``."""
    requires = table_of(data, "requires", path, lines)
    for key in ("python_version", "python_full_version"):
        value = requires.get(key)
        if value is not None and (
            not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+){0,2}", value.strip())
        ):
            raise PipfileError(
                f'[requires] {key} must be a version string such as "3.11"',
                path=path,
                line=lines.key("requires", key),
                key=key,
            )
    full, minor = requires.get("python_full_version"), requires.get("python_version")
    if full and minor and not (full.strip() + ".").startswith(minor.strip() + "."):
        where = f"{path}:{lines.key('requires', 'python_version') or '?'}"
        warnings.append(
            f"{where}: [requires] python_version {minor} and python_full_version {full} "
            "disagree; python_full_version is used, as pipenv does"
        )
    return requires


def _parse_settings(
    data: Mapping[str, Any], path: str, lines: LineFinder, warnings: list[str]
) -> Mapping[str, Any]:
    """The ``[pipenv]`` table, its cool-down checked; settings pipfence does not act on, or
    does not know, are added to ``warnings``."""
    settings = table_of(data, "pipenv", path, lines)
    cool_down = settings.get(COOL_DOWN_SETTING)
    if cool_down is not None and _cool_down_days(cool_down) is None:
        raise PipfileError(
            f'[pipenv] {COOL_DOWN_SETTING} must be a number of days such as "30d", '
            f"not {shown(repr(cool_down))}",
            path=path,
            line=lines.key("pipenv", COOL_DOWN_SETTING),
            key=COOL_DOWN_SETTING,
            hint="pipenv ignores a value in another form; pipfence refuses it, since the "
            "setting is a safety rule",
        )
    for key in settings:
        where = f"{path}:{lines.key('pipenv', key) or '?'}"
        if key in IGNORED_SETTINGS:
            warnings.append(f"{where}: [pipenv] {key} is not acted on: {IGNORED_SETTINGS[key]}")
        elif key not in READ_SETTINGS:
            known = sorted(READ_SETTINGS | IGNORED_SETTINGS.keys())
            warnings.append(
                f"{where}: [pipenv] {shown(key)} is not a known setting" + guess(key, known)
            )
    return settings


def _parse_sources(data: Mapping[str, Any], path: str, lines: LineFinder) -> tuple[Source, ...]:
    raw = data.get("source", [])
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise PipfileError("[[source]] must be an array of tables", path=path)
    sources: list[Source] = []
    for position, table in enumerate(raw, start=1):
        line = lines.nth_array_table("source", position)
        if not isinstance(table, Mapping):
            raise PipfileError("each [[source]] must be a table", path=path, line=line)
        try:
            source = Source.from_dict(table)
        except SourceTableError as exc:
            raise PipfileError(str(exc), path=path, line=line, key=exc.key) from None
        scheme = source.url.partition(":")[0].lower()
        # A URL that starts with a variable (``${CODEARTIFACT_URL}``) is checked once expanded.
        whole = source.url.startswith("$")
        if not whole and scheme not in ("http", "https", "file"):
            raise PipfileError(
                f"source `{source.name}` has a URL with scheme `{scheme}`; "
                "a package index is reached over https (or http, file)",
                path=path,
                line=line,
                key="url",
            )
        if any(s.name == source.name for s in sources):
            raise PipfileError(
                f"two [[source]] tables are named `{source.name}`",
                path=path,
                line=line,
                key="name",
                hint="give every source a different `name`",
            )
        sources.append(source)
    return tuple(sources)


_HASHED_EXCLUDE = RESERVED_TABLES | {"default", "develop"}


def pipfile_hash(data: Mapping[str, Any], *, canonical: bool = True) -> str:
    """``_meta.hash.sha256`` of Pipfile.lock for the decoded Pipfile ``data``.

    The digest pipenv computes: sha256 of compact, key-sorted, ASCII-escaped JSON holding the
    sources (PyPI's when none are declared), ``[requires]``, and every package table, with
    ``[packages]`` as ``default`` and ``[dev-packages]`` as ``develop``. From pipenv 2026.4 the
    package names are PEP 503 normalised first (``canonical=True``); earlier releases hashed
    them as written (``canonical=False``), and such a lock still counts as current.
    ``[scripts]`` and ``[pipenv]`` do not take part.
    """

    def section(value: Any) -> Any:
        if canonical and isinstance(value, Mapping):
            return {canonical_name(k): v for k, v in value.items()}
        return value

    sources = data.get("source")
    if sources is None:
        sources = [{"name": "pypi", "url": PYPI_SOURCE.url, "verify_ssl": True}]
    content: dict[str, Any] = {
        "_meta": {"sources": sources, "requires": data.get("requires", {})},
        "default": section(data.get("packages", {})),
        "develop": section(data.get("dev-packages", {})),
    }
    for table, values in data.items():
        if table not in _HASHED_EXCLUDE and table not in ("packages", "dev-packages"):
            content[table] = section(values)
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
